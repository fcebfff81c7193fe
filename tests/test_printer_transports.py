"""Printer connectors besides TCP: a TSPL printer on a serial pty, the CUPS queue, files, USB, specs."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from app.devices import PrinterError
from app.i18n import N_
from app.labels import Party, print_test_label
from app.pack.flow import DeviceReasons
from app.read_back import translate_reasons
from drivers.printers.factory import open_printer, render_bytes
from drivers.printers.printer import LanguagePrinter
from drivers.spec import SpecError
from tests.printer_parsers import parse_tspl
from tests.ptypair import PtyDevice, wait_until
from tests.test_message_languages import foreign_latin

LABEL = print_test_label(Party("仓", "0571-88886666", "杭州"), "T-1")


def test_tspl_printer_on_a_serial_port_answers_status_and_gets_the_label(tmp_path: Path) -> None:
    with PtyDevice(tmp_path) as device:
        received = bytearray()
        stop = threading.Event()

        def printer_side() -> None:  # the printer: answer ESC !? with "ready", keep everything else
            while not stop.is_set():
                try:
                    chunk = device.read(timeout=0.05)
                except OSError:  # EIO while the host has the port closed (before and after the job)
                    stop.wait(0.01)
                    continue
                if b"\x1b!?" in chunk:
                    device.write(b"\x00")
                    chunk = chunk.replace(b"\x1b!?", b"")
                received.extend(chunk)

        thread = threading.Thread(target=printer_side, daemon=True)
        thread.start()
        try:
            printer = open_printer(f"serial:{device.path}?baud=9600&lang=tspl&timeout=1")
            printer.print_label(LABEL)
            wait_until(lambda: received.endswith(b"PRINT 1,1\r\n"))
        finally:
            stop.set()
            thread.join(timeout=2)
        commands = [command for command, _ in parse_tspl(bytes(received))]
        assert commands[0] == "SIZE" and "BARCODE" in commands and "QRCODE" in commands


def test_serial_printer_unplugged_is_a_fault_that_waits(tmp_path: Path) -> None:
    printer = open_printer(f"serial:{tmp_path / 'ttyUSB9'}?lang=tspl")
    with pytest.raises(PrinterError, match="not available") as caught:
        printer.print_label(LABEL)
    assert not caught.value.delivered


def test_system_queue_hands_the_pdf_to_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "spooled.pdf"
    args_file = tmp_path / "args.txt"
    fake_lp = tmp_path / "bin" / "lp"
    fake_lp.parent.mkdir()
    fake_lp.write_text(f'#!/bin/sh\necho "$@" > {args_file}\ncat > {spool}\necho "request id is q-1"\n')
    fake_lp.chmod(fake_lp.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake_lp.parent}{os.pathsep}{os.environ['PATH']}")
    open_printer("system:LabelQueue").print_label(LABEL)
    assert spool.read_bytes().startswith(b"%PDF")
    assert args_file.read_text().split()[:2] == ["-d", "LabelQueue"]


def test_system_queue_refusal_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_lp = tmp_path / "lp"
    fake_lp.write_text('#!/bin/sh\ncat >/dev/null\necho "lp: The printer or class does not exist." >&2\nexit 1\n')
    fake_lp.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(PrinterError, match="does not exist"):
        open_printer("system:Nope").print_label(LABEL)


def test_pdf_folder_gets_one_file_per_label_and_file_spec_appends(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    printer = open_printer(f"pdf:{folder}")
    printer.print_label(LABEL)
    printer.print_label(LABEL)
    assert sorted(p.name for p in folder.iterdir()) == ["label-000001.pdf", "label-000002.pdf"]
    spool = tmp_path / "spool.zpl"
    zpl = open_printer(f"file:{spool}?lang=zpl")
    zpl.print_label(LABEL)
    zpl.print_label(LABEL)
    assert spool.read_bytes().count(b"^XA") == 2


def test_usb_printer_missing_is_a_clear_fault() -> None:
    printer = open_printer("usb:0416:5011?lang=escpos")
    assert isinstance(printer, LanguagePrinter)
    with pytest.raises(PrinterError, match="USB printer usb:0416:5011"):
        printer.print_label(LABEL)


@pytest.mark.parametrize(("spec", "message"), [
    ("tcp:10.0.0.5:9100?lang=cpcl", "lang must be one of"),
    ("tcp:10.0.0.5:9100?dpi=600", "dpi must be 203 or 300"),
    ("tcp:10.0.0.5:9100?size=4inx6in", "size must be WxH"),
    ("tcp:10.0.0.5:9100?cjk=bitmap", "cjk must be resident or raster"),
    ("usb:zebra?lang=escpos", "usb needs VID:PID"),
    ("tcp:10.0.0.5:9100?colour=red", "colour"),
])
def test_bad_printer_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        open_printer(spec)
        render_bytes(spec, LABEL)


def test_darkness_goes_before_the_format() -> None:
    assert render_bytes("tcp:h:9100?lang=zpl&darkness=20", LABEL).startswith(b"~SD20^XA")
    assert render_bytes("serial:/dev/x?lang=tspl&darkness=8", LABEL).startswith(b"DENSITY 8\r\n")


def _refused_port() -> int:
    """A local TCP port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_printer_fault_reads_in_chinese_with_no_english_but_its_address_and_path(tmp_path: Path) -> None:
    """What the packer reads of a failed print (the reason the job keeps, worded again on the screen, as
    DeviceReasons does) is Chinese: the link's own words and the system's; the address, port and path stay."""
    port = _refused_port()
    missing = tmp_path / "gone" / "label.zpl"
    serial_port = tmp_path / "ttyUSB9"
    faults = []
    for spec in (f"tcp:127.0.0.1:{port}?lang=zpl", f"file:{missing}?lang=zpl", f"serial:{serial_port}?lang=tspl"):
        with pytest.raises(PrinterError) as caught:
            open_printer(spec).print_label(LABEL)
        faults.append(caught.value)
    values = {"address": f"127.0.0.1:{port}", "folder": str(missing.parent), "port": str(serial_port)}
    for fault in faults:
        chinese = DeviceReasons(fault.reason).text("zh_CN")
        assert chinese != fault.reason and not foreign_latin(chinese, values), chinese
        assert fault.text("zh_CN") == chinese  # the CLI's line (the reporter) says the same
    assert faults[0].reason == f"printer 127.0.0.1:{port} unreachable (Connection refused)"  # the English record
    # A status check's reasons after the job went out (how drivers.printers.printer raises it), on the screen
    # and on the CLI's line alike.
    sent = PrinterError(N_("{fault} after the label was sent — check it"), delivered=True,
                        fault="paper out, print head open")
    after = translate_reasons(sent.reason, "zh_CN")
    assert "缺纸, 打印头未合上" in after and not foreign_latin(after, {}), after
    assert sent.text("zh_CN") == after
