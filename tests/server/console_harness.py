"""Console test helpers: users made through the accounts module, browsers as httpx clients with cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from server_harness import Running

from app.clock import SystemClock
from server.console.accounts import add_user

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def make_user(server: Running, name: str, role: str = "supervisor", warehouses: tuple[str, ...] = ("WH1",),
              password: str = PASSWORD) -> None:
    add_user(server.services.sdb, name, role, list(warehouses), password, SystemClock())


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return unescape(found.group(1))


_open: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def close_browsers() -> Iterator[None]:
    """Every client a test opened is closed after it (import this fixture into the test module)."""
    yield
    while _open:
        _open.pop().close()


def browser(server: Running) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30, headers={"Accept-Language": "en"})
    _open.append(client)
    return client


def log_in(server: Running, name: str, password: str = PASSWORD) -> httpx.Client:
    client = browser(server)
    form = client.get("/console/login")
    reply = client.post("/console/login", data={"name": name, "password": password, "csrf": csrf_of(form.text),
                                                "next": "/console/"})
    assert reply.status_code == 303, reply.text
    return client


def post_form(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    """POST a form of `page` with the CSRF token that page carries, as a browser would."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf": token})


def latin_words(html: str, allowed: set[str]) -> list[str]:
    """The whole Latin words a person reads on a page (its <main>: text and tooltips, not markup) that are not
    in `allowed` (names and codes of the data, units). Tokens with a digit, '-', '_', '.', ':', '@' or '/'
    are ids, codes and paths (WH1-BENCH-3, p90, 2026-11-24)."""
    main = html[html.index("<main"):html.rindex("</main>")]
    text = unescape(re.sub(r"<[^>]*>", " ", main))
    tokens = re.findall(r"[A-Za-z0-9_\-.:@/]+", text)
    return [t for t in tokens if re.fullmatch(r"[A-Za-z]+", t) and t not in allowed]
