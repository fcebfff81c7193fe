"""The pack screen's parts on their own: banner colours, fonts, the kept order, sounds."""

from __future__ import annotations

import wave

import pytest
from pytestqt.qtbot import QtBot

from app.clock import FakeClock
from app.devices import DeviceState
from app.i18n import ENGLISH, render
from app.pack.outcomes import Level, Outcome
from sync.client import AUTH_REFUSED, SyncError
from sync.worker import PAUSED, SyncStatus
from tests.test_message_languages import foreign_latin
from ui.pack_screen import PackScreen
from ui.qt import QApplication, QFontMetrics
from ui.resources import ASSETS, install_fonts, ui_font
from ui.sounds import SOUND_FILES, Sounds
from ui.sync_status import chip_of
from ui.view_model import BenchView, Line, shown
from ui.widgets import BANNER_PX, LEVEL_COLOURS, DeviceChip

OPEN = BenchView("order_open", "王芳", "TB1", "taobao", "张伟", "SF", (Line("TEA", "西湖龙井", 2, 2),), 620)


@pytest.fixture
def screen(qapp: QApplication, qtbot: QtBot, clock: FakeClock) -> PackScreen:
    install_fonts(qapp)
    s = PackScreen("en", "Asia/Shanghai", clock)
    qtbot.addWidget(s)
    s.resize(1000, 700)
    s.show()
    qtbot.waitExposed(s)
    return s


@pytest.mark.parametrize(("event", "detail", "level"), [
    ("item_ok", {"name": "Mug", "scanned": 1, "expected": 2}, Level.OK),
    ("aborted", {}, Level.WARN),
    ("wrong_item", {"name": "Mug"}, Level.ERROR),
])
def test_banner_colour_and_words_follow_the_outcome(screen: PackScreen, event: str, detail: dict[str, object],
                                                    level: Level) -> None:
    outcome = Outcome(event, "order_open", "690", "TB1", detail)
    screen.show_outcome(outcome, OPEN)
    banner = screen.banner
    assert banner.level is level and banner.text() == outcome.text("en")
    assert banner.font().pixelSize() >= 40
    pixel = banner.grab().toImage().pixelColor(20, banner.height() // 2)  # left margin: background, not text
    assert pixel.name() == LEVEL_COLOURS[level][0]


def test_the_recent_list_is_stamped_by_the_station_clock(screen: PackScreen, clock: FakeClock) -> None:
    clock.advance(hours=-30, minutes=3, seconds=4)  # 2026-11-23 20:03:04 UTC: never the wall clock's time
    screen.show_outcome(Outcome("item_ok", "order_open", "690", "TB1", {"name": "Mug", "scanned": 1, "expected": 2}),
                        OPEN)
    assert screen.recent.item(0).text().startswith("04:03:04  ")  # in the station's zone (UTC+8)


def test_chinese_never_renders_as_boxes(qapp: QApplication) -> None:
    install_fonts(qapp)
    for font in (ui_font(BANNER_PX, bold=True), ui_font(12, mono=True), QApplication.font()):
        assert all(QFontMetrics(font).inFontUcs4(ord(ch)) for ch in "错误商品已打印龙井")


def test_a_shipped_order_stays_on_screen_until_the_next_one() -> None:
    labelled = shown(OPEN, BenchView("labelled", "王芳"))
    assert labelled.order_id == "TB1" and labelled.shipped and labelled.lines == OPEN.lines
    assert shown(labelled, BenchView("done", "王芳")).shipped
    assert shown(labelled, BenchView("idle", "王芳")).order_id is None  # aborted or logged out
    nxt = BenchView("order_open", "王芳", "TB2")
    assert shown(labelled, nxt) == nxt


def test_sounds_are_short_distinct_wavs_and_silence_is_a_fallback(qapp: QApplication) -> None:
    files = {ASSETS / "sounds" / name for name in SOUND_FILES.values()}
    assert len(files) == 2
    for path in files:
        with wave.open(str(path)) as w:
            assert w.getnchannels() == 1 and w.getframerate() > 8000
            assert 0.05 < w.getnframes() / w.getframerate() < 0.6
    assert len({p.read_bytes() for p in files}) == 2
    sounds = Sounds()
    # No audio stack on this machine (QtMultimedia cannot load libpulse): playing must still work.
    for level in Level:
        sounds.play(level)


def test_the_sync_chip_words_the_workers_english_line_in_the_benchs_language() -> None:
    """The sync worker keeps its last error as an English line; the chip's tooltip at a Chinese bench is Chinese
    but for the request, the HTTP status, the server's own words and the command to run."""
    refused = SyncError(AUTH_REFUSED, retryable=False, kind="auth", what="POST /events", code=403, detail="revoked")
    status = SyncStatus(online=False, last_error=render(PAUSED, ENGLISH, {"reason": refused.reason}), outbox_depth=3,
                        oldest_unsent_age_s=None, last_round_at=None, rejected_count=0, needs_admin=True)
    _, _, tip = chip_of(status, "zh_CN")
    assert "自动同步已暂停" in tip and "服务器拒绝本工作站" in tip, tip
    values = {"what": "POST /events", "detail": "revoked", "command": "packbench station enroll", "http": "HTTP"}
    assert not foreign_latin(tip, values), tip
    assert chip_of(status, "en")[2] == status.last_error


def test_a_device_chip_words_its_drivers_detail_in_the_benchs_language(qapp: QApplication) -> None:
    """The tooltip of a scanner whose port went away, and of a printer with two faults, at a Chinese bench."""
    chip = DeviceChip("scanner", "zh_CN")
    chip.set_state(DeviceState.DISCONNECTED, "/dev/ttyUSB0 not available (No such file or directory)")
    assert chip.toolTip() == "<p>/dev/ttyUSB0 不可用（没有那个文件或目录）</p>", chip.toolTip()
    chip = DeviceChip("printer", "zh_CN")
    chip.set_state(DeviceState.FAULT, "paper out, ribbon out")
    assert chip.toolTip() == "<p>缺纸, 碳带用完</p>"
