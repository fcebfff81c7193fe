"""The console in a real headless Chromium (Debian's `chromium`, driven by Playwright), JavaScript off:
log in, reconcile, drill down, acknowledge a case and see the station pull it; screenshots of every page
in zh_CN and en at laptop and phone widths (kept in $PACKBENCH_SCREENSHOTS when set); a Chinese page
shows no English words outside names and codes."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_console_reconciliation
from console_harness import PASSWORD
from server_harness import Running, Station
from test_console_exceptions import _opened
from test_console_reconciliation import RANGE

from protocol import API

scenario = test_console_reconciliation.scenario  # fixture
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Words a Chinese page may show in Latin letters: names and codes from the data, and brand/format names.
ALLOWED = re.compile(r"^(PackBench|English|CSV|XLSX|PDF|boss|Flagship|Outlet|script|alert|calc|overweight|"
                     r"packbench|station|enroll|server|URL|token|SF|cmd)$")  # the hostile shop name


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _shots() -> Path | None:
    target = os.environ.get("PACKBENCH_SCREENSHOTS")
    if not target:
        return None
    Path(target).mkdir(parents=True, exist_ok=True)
    return Path(target)


def _page(chromium: Any, base: str, lang: str, size: str) -> Any:
    context = chromium.new_context(base_url=base, java_script_enabled=False, viewport=SIZES[size],
                                   locale="zh-CN" if lang == "zh_CN" else "en-US",
                                   extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh_CN"
                                                       else "en-US,en;q=0.9"})
    return context.new_page()


def _log_in(page: Any, name: str) -> None:
    page.goto("/console/")
    assert "/console/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")


def _english_words(text: str) -> list[str]:
    """Whole words of Latin letters only; tokens with digits, '-', '_' or ':' are ids and codes."""
    tokens = re.findall(r"[A-Za-z0-9_\-.:@/]+", text)
    return [t for t in tokens if re.fullmatch(r"[A-Za-z]{2,}", t) and not ALLOWED.match(t)]


def test_log_in_reconcile_drill_down_and_acknowledge_with_javascript_off(
        chromium: Any, scenario: Running, station: Station) -> None:
    station.push(_opened(station, 7, "wrong_item", "critical", "扫错商品 <b>A-3</b>"))
    from console_harness import make_user

    make_user(scenario, "boss", "admin", ("WH1",))
    page = _page(chromium, scenario.url, "en", "laptop")
    _log_in(page, "boss")
    assert page.locator("h1").inner_text().startswith("Today")

    page.goto(f"/console/reconciliation?warehouse=WH1&{RANGE}")
    assert page.locator("tr.over").count() == 3
    page.locator("tr", has_text="Flagship").locator("a").first.click()
    assert "A-2" in page.locator("main").inner_text() and "/reconciliation/orders" in page.url

    page.goto("/console/exceptions?warehouse=WH1")
    row = page.locator("tr", has_text="扫错商品")
    assert "<b>A-3</b>" in row.inner_text()  # markup shown as text
    row.locator("button", has_text="Acknowledge").click()
    page.wait_for_url("**/console/exceptions?warehouse=WH1")
    assert "console:boss" in page.locator("tr", has_text="扫错商品").inner_text()
    pulled = station.get(f"{API}/cases").json()["items"]
    assert [(i["case"], i["state"]) for i in pulled] == [(7, "acknowledged")]
    page.context.close()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_every_page_renders_in_both_languages_and_widths(chromium: Any, scenario: Running, station: Station,
                                                         lang: str, size: str) -> None:
    station.push(_opened(station, 1, "overweight", "warning", "超重"))
    from console_harness import make_user

    make_user(scenario, "boss", "admin", ("WH1",))
    page = _page(chromium, scenario.url, lang, size)
    page.goto("/console/login")
    if lang == "zh_CN":  # the log-in form, before anyone is known
        assert not _english_words(page.locator("body").inner_text())
    _log_in(page, "boss")
    shots = _shots()
    pages = {"today": "/console/", "reconciliation": f"/console/reconciliation?warehouse=WH1&{RANGE}",
             "drilldown": "/console/reconciliation/orders?warehouse=WH1&day=2026-11-25&shop=Outlet&list=duplicates",
             "exceptions": "/console/exceptions?warehouse=WH1", "track": "/console/track?q=A-3",
             "alerts": "/console/alerts", "stations": "/console/stations", "health": "/console/health?warehouse=WH1"}
    for name, path in pages.items():
        reply = page.goto(path)
        assert reply is not None and reply.status == 200, (name, reply and reply.status)
        text = page.locator("body").inner_text()
        if lang == "zh_CN":
            assert not _english_words(text), (name, _english_words(text))
        if shots is not None:
            page.screenshot(path=str(shots / f"{name}-{lang}-{size}.png"), full_page=True)
    page.context.close()


def test_the_tracking_page_link_downloads_the_server_rendered_evidence_pack(chromium: Any, scenario: Running) -> None:
    from console_harness import make_user
    from test_console_evidence import _text

    make_user(scenario, "boss", "admin", ("WH1",))
    page = _page(chromium, scenario.url, "zh_CN", "phone")
    page.context.set_default_timeout(60_000)
    _log_in(page, "boss")
    page.goto("/console/track?q=A-3")
    with page.expect_download() as download:
        page.click("text=证据包（PDF）")
    path = download.value.path()
    assert download.value.suggested_filename == "evidence-A-3.pdf"
    text = _text(Path(path).read_bytes())
    assert "A-3" in text and "服务器根据工作台同步的数据生成" in text
    page.context.close()
