"""`packbench --self-test`: proves, headless and offline, that this build can run a bench.

Written for the frozen build (`make dist`): a folder copied to a warehouse PC has no Python and no
developer to ask, so the binary checks what a missing data file or a left-out module would break —
Qt offscreen with the bundled CJK font, a store created and migrated, every label language rendered
with Chinese text, the preview's Code 128 and QR decoded back, every driver importable — and prints
one line per check. It writes only into a temporary folder and exits 0 when every check passed.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from app.labels import Label

CJK_SAMPLE = "测试"
DRIVER_MODULES = (
    "drivers.camera", "drivers.scanners", "drivers.scales", "drivers.serialport", "drivers.spec",
    "drivers.printers.factory", "drivers.printers.zpl", "drivers.printers.tspl", "drivers.printers.escpos",
    "drivers.printers.pdf", "drivers.printers.preview", "drivers.printers.text", "drivers.printers.tcp",
    "drivers.printers.serial_transport", "drivers.printers.usb", "drivers.printers.system",
    "serial", "serial.tools.list_ports", "escpos.printer", "usb.core",
)


class CheckFailed(Exception):
    """A self-test check found something wrong; the message says what."""


def check_qt(work: Path) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.app import application, build_station
    from ui.language import install_qt_translation
    from ui.qt import QCoreApplication, QFont, QFontMetrics
    from ui.resources import cjk_families

    app = application()
    station = build_station(work / "station", demo=True)
    try:
        station.start()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        image = station.window.grab().toImage()
        if image.isNull() or image.width() < 400:
            raise CheckFailed("the station window did not render")
        families = cjk_families()
        if not families or not all(QFontMetrics(QFont(families[0])).inFontUcs4(ord(ch)) for ch in CJK_SAMPLE):
            raise CheckFailed("the bundled CJK font did not load: Chinese would show as boxes")
        if not install_qt_translation("zh_CN") or QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel":
            raise CheckFailed("Qt's own Chinese catalog (qtbase_zh_CN.qm) is missing: dialogs would say OK/Cancel")
        install_qt_translation(station.config.language)
        return (f"{app.platformName()} platform, station window {image.width()}×{image.height()}, font {families[0]},"
                " Qt's dialog words in Chinese")
    finally:
        station.close()


def check_store(work: Path) -> str:
    from app.store import open_store
    from app.store.migrations import LATEST_VERSION

    store = open_store(work / "store")
    try:
        if store.schema_version != LATEST_VERSION:
            raise CheckFailed(f"schema {store.schema_version}, expected {LATEST_VERSION}")
        verdict = store.integrity_check()
        if verdict != "ok":
            raise CheckFailed(f"integrity check: {verdict}")
    finally:
        store.close()
    return f"created and migrated to schema {LATEST_VERSION}, integrity ok"


def _test_label() -> Label:
    from app.labels import Party, print_test_label

    return print_test_label(Party("PackBench 杭州仓", "0571****6666", "浙江省杭州市余杭区仓前街道 1 号仓"), "SELFTEST")


def check_labels(work: Path) -> str:
    from drivers.printers.factory import renderer
    from drivers.printers.pdf import render_pdf
    from drivers.printers.preview import render_png
    from drivers.spec import parse_spec

    label = _test_label()
    cjk = {"zpl": CJK_SAMPLE.encode("utf-8"), "tspl": CJK_SAMPLE.encode("gb18030"),
           "escpos": CJK_SAMPLE.encode("gb18030"), "text": CJK_SAMPLE.encode("utf-8")}
    sizes = []
    for language, sample in cjk.items():
        data = renderer(parse_spec(f"file:{work}/x?lang={language}"), language)(label)
        if sample not in data:
            raise CheckFailed(f"{language}: the Chinese text is not in the label bytes")
        sizes.append(f"{language} {len(data):,} B")
    pdf = render_pdf(label)
    if not pdf.startswith(b"%PDF") or b"/FontFile2" not in pdf:
        raise CheckFailed("pdf: no embedded TrueType font")
    png = render_png(label)
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    sizes += [f"pdf {len(pdf):,} B", f"png {len(png):,} B"]
    return ", ".join(sizes)


def check_barcodes(work: Path) -> str:
    import zxingcpp
    from PIL import Image

    from drivers.printers.preview import render_png

    label = _test_label()
    with Image.open(io.BytesIO(render_png(label))) as image:
        read = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(image.convert("L"))}
    texts = {text for _, text in read}
    wanted = (("Code 128", label.tracking_no), ("QR", label.passport_url))
    missing = [name for name, text in wanted if text not in texts]
    if missing:
        raise CheckFailed(f"{' and '.join(missing)} did not decode from the label preview (read: {sorted(read)})")
    return f"Code 128 {label.tracking_no} and the passport QR decode back"


def check_drivers(work: Path) -> str:
    for name in DRIVER_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an ImportError, or a module failing at import: both break a bench
            raise CheckFailed(f"{name}: {type(exc).__name__}: {exc}") from None
    return f"{len(DRIVER_MODULES)} driver modules import"


CHECKS: tuple[tuple[str, Callable[[Path], str]], ...] = (
    ("qt", check_qt), ("store", check_store), ("labels", check_labels), ("barcodes", check_barcodes),
    ("drivers", check_drivers),
)


def run_self_test(out: TextIO | None = None) -> int:
    """Run every check; one line each on `out`, then a verdict. 0 when all passed, else 1."""
    from app.version import version_text

    out = out or sys.stdout
    print(f"PackBench self-test — {version_text()}", file=out)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="packbench-selftest-") as tmp:
        for name, check in CHECKS:
            started = time.perf_counter()
            try:
                detail = check(Path(tmp))
            except CheckFailed as exc:
                failed += 1
                print(f"FAIL {name}: {exc}", file=out)
                continue
            except Exception as exc:  # the point of a self-test is to report, not to die on the first surprise
                failed += 1
                print(f"FAIL {name}: {type(exc).__name__}: {exc}", file=out)
                traceback.print_exc(file=sys.stderr)
                continue
            print(f"ok   {name}: {detail} ({(time.perf_counter() - started) * 1000:.0f} ms)", file=out)
    print(f"self-test {'passed' if not failed else 'FAILED'}: {len(CHECKS) - failed} of {len(CHECKS)} checks ok",
          file=out)
    return 0 if not failed else 1
