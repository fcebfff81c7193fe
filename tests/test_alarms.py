"""The alarm board (Qt-free): which faults stand, which one the window shows, and how each ends."""

from __future__ import annotations

from app.alarms import AlarmBoard, AlarmKind
from app.clock import FakeClock
from app.devices import DeviceState, DeviceStatus
from app.pack.outcomes import Outcome
from app.read_back import translate_reasons

LOST, FAULT, BACK = DeviceState.DISCONNECTED, DeviceState.FAULT, DeviceState.CONNECTED
HALT_FULL = "disk full: free space on /srv/bench (12.0 KB free); nothing scanned since … was lost — packing stopped"
HALT_IO = "disk I/O error on /data/pack bench; nothing scanned since … was lost — packing stopped"


def _board() -> tuple[AlarmBoard, list[tuple[AlarmKind | None, tuple[AlarmKind, ...]]], FakeClock]:
    clock = FakeClock()
    board = AlarmBoard(clock)
    seen: list[tuple[AlarmKind | None, tuple[AlarmKind, ...]]] = []
    board.listeners.append(lambda b: seen.append((b.active.kind if b.active else None,
                                                  tuple(a.kind for a in b.others))))
    return board, seen, clock


def _printed(event: str, reason: str = "") -> Outcome:
    return Outcome(event, "done", None, "TB1", {"reason": reason, "tracking_no": "SF1", "job_id": 1})


def test_an_unplugged_scanner_raises_an_alarm_and_its_return_clears_it() -> None:
    board, seen, clock = _board()
    board.device_status(DeviceStatus("scanner", BACK, "sim"))
    assert board.active is None and seen == []  # a device that is fine raises nothing
    board.device_status(DeviceStatus("scanner", LOST, "/dev/ttyACM0 missing"))
    alarm = board.active
    assert alarm is not None and alarm.kind is AlarmKind.SCANNER and alarm.detail == "/dev/ttyACM0 missing"
    assert alarm.since == clock.now()
    assert alarm.title("en") == "Scanner lost" and alarm.title("zh_CN") == "扫描枪断开"
    assert "by itself" in alarm.action("en") and "自动" in alarm.action("zh_CN")
    board.device_status(DeviceStatus("scanner", BACK, "sim"))
    assert board.active is None and seen == [(AlarmKind.SCANNER, ()), (None, ())]


def test_the_same_fault_reported_again_changes_nothing_but_a_new_reason_updates_it() -> None:
    board, seen, clock = _board()
    board.device_status(DeviceStatus("scale", LOST, "port gone"))
    first = board.active
    clock.advance(30)
    board.device_status(DeviceStatus("scale", LOST, "port gone"))  # the driver retrying
    assert len(seen) == 1 and board.active == first
    board.device_status(DeviceStatus("scale", FAULT, "no frames"))
    alarm = board.active
    assert len(seen) == 2 and alarm is not None and alarm.title("en") == "Scale not working"
    assert first is not None and alarm.since == first.since  # standing since the first report


def test_the_printer_alarm_stands_from_a_job_it_did_not_take_until_a_label_prints() -> None:
    board, seen, _ = _board()
    board.outcome(_printed("label_queued"))
    board.device_status(DeviceStatus("printer", LOST, "ignored: printers report through their jobs"))
    assert board.active is None
    board.outcome(_printed("print_failed", "paper out"))
    alarm = board.active
    assert alarm is not None and alarm.kind is AlarmKind.PRINTER and alarm.detail == "paper out"
    assert alarm.title("zh_CN") == "打印机停止工作"
    assert alarm.detail_text("zh_CN") == "缺纸" and alarm.detail_text("en") == "paper out"
    board.outcome(_printed("print_uncertain", "paper out after the label was sent — check it"))
    assert board.active == alarm  # one label in doubt is the flow's question, not a second alarm
    board.outcome(_printed("label_printed"))
    assert board.active is None and seen == [(AlarmKind.PRINTER, ()), (None, ())]


def test_several_alarms_show_the_most_severe_and_list_the_others_in_order() -> None:
    board, _, _ = _board()
    board.sync(True, "station revoked")
    board.device_status(DeviceStatus("scale", LOST))
    board.outcome(_printed("print_failed", "printer offline"))
    board.device_status(DeviceStatus("scanner", FAULT, "read error"))
    active = board.active
    assert active is not None and active.kind is AlarmKind.SCANNER
    assert [a.kind for a in board.others] == [AlarmKind.PRINTER, AlarmKind.SCALE, AlarmKind.SYNC]
    board.halted(HALT_FULL)
    assert board.active is not None and board.active.kind is AlarmKind.DISK
    assert [a.kind for a in board.others] == [AlarmKind.SCANNER, AlarmKind.PRINTER, AlarmKind.SCALE, AlarmKind.SYNC]
    board.device_status(DeviceStatus("scanner", BACK))  # recoveries behind the active one only shorten the list
    board.outcome(_printed("label_printed"))
    assert board.active.kind is AlarmKind.DISK
    assert [a.kind for a in board.others] == [AlarmKind.SCALE, AlarmKind.SYNC]


def test_a_disk_halt_names_its_kind_and_stands_until_restart() -> None:
    board, _, _ = _board()
    board.halted(HALT_IO)
    alarm = board.active
    assert alarm is not None and alarm.title("en") == "Disk error — packing stopped"
    assert alarm.detail == "/data/pack bench"
    assert "restart" in alarm.action("en")
    board.device_status(DeviceStatus("scanner", BACK))
    board.outcome(_printed("label_printed"))
    board.sync(False, None)
    assert board.active == alarm  # nothing but a restart (a fresh board) clears a halted store
    full = AlarmBoard(FakeClock())
    full.halted(HALT_FULL)
    assert full.active is not None and full.active.title("zh_CN") == "磁盘已满，打包已停止"
    assert full.active.detail_text("zh_CN") == "/srv/bench"  # a path; the runtime's English line is in the log


def test_sync_needing_an_admin_says_what_the_admin_must_do_and_clears_on_an_accepted_round() -> None:
    board, seen, _ = _board()
    board.sync(False, "server unreachable")  # offline is not an alarm: the bench works on and retries itself
    assert board.active is None and seen == []
    board.sync(True, "clock skew: request time is 700 s behind the server — automatic sync paused")
    alarm = board.active
    assert alarm is not None and alarm.kind is AlarmKind.SYNC and "clock" in alarm.title("en")
    board.sync(True, "station revoked — automatic sync paused until the station is enrolled again")
    alarm = board.active
    assert alarm is not None and "enroll" in alarm.action("en") and "packbench station enroll" in alarm.action("zh_CN")
    board.sync(False, None)
    assert board.active is None and seen[-1] == (None, ())


def test_driver_reasons_are_translated_and_anything_else_stays_as_the_device_said_it() -> None:
    assert translate_reasons("paper out, ribbon out", "zh_CN") == "缺纸, 碳带用完"
    assert translate_reasons("connection refused by 10.0.0.5:9100", "zh_CN") == "connection refused by 10.0.0.5:9100"
    silent = "printer does not answer (switched off?)"
    assert translate_reasons(silent, "en") == silent
    assert translate_reasons(silent, "zh_CN") == "打印机无应答（已关机？）"
