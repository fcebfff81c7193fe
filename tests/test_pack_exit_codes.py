"""`packbench pack` exits 0 only when every order it touched was labelled and printed (README, exit codes)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from app.barcodes import Command, command_barcode
from app.demo import product_barcode
from app.errors import ExitCode
from main import main
from tests.test_cli import run_pack

ORDER = "TB2026112500001"  # TEA-LJ-250 ×2, CHOP-BMB-5 ×1: 715 g with the box
TEA, CHOP = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")
WHOLE_ORDER = "\n".join([ORDER, TEA, CHOP, TEA]) + "\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "station"
    assert main(["--data-dir", str(d), "demo", "seed"]) == 0  # with the headless line's operator, line-1
    return d


def summary(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("packbench: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_every_order_printed_exits_0_with_no_summary(data_dir: Path) -> None:
    code, out, stderr = run_pack(data_dir, WHOLE_ORDER, weights="0.712kg\n")
    assert code == ExitCode.OK and out[-1]["event"] == "label_printed"
    assert "packbench:" not in stderr


def test_a_wrong_weight_left_unresolved_is_unfinished(data_dir: Path) -> None:
    code, out, stderr = run_pack(data_dir, WHOLE_ORDER, weights="1.5kg\n")
    assert code == ExitCode.UNFINISHED
    assert out[-1]["event"] == "weight_mismatch"
    line = summary(stderr)
    assert f"1 of 1 order(s) unfinished: {ORDER} weight_mismatch" in line and "1500 g" in line


def test_a_held_order_is_unfinished(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "packbench.sqlite3") as db:  # ten digits: the default rules hold it
        db.execute("update \"order\" set receiver_phone = '1381234567' where order_id = ?", (ORDER,))
    code, out, stderr = run_pack(data_dir, WHOLE_ORDER, weights="0.712kg\n")
    assert code == ExitCode.UNFINISHED
    assert "order_blocked" in [o["event"] for o in out]
    assert f"{ORDER} order_blocked" in summary(stderr)


def test_input_ending_mid_order_is_unfinished(data_dir: Path) -> None:
    code, _, stderr = run_pack(data_dir, f"{ORDER}\n{TEA}\n", weights="0.712kg\n")
    assert code == ExitCode.UNFINISHED
    assert summary(stderr).endswith(f"1 of 1 order(s) unfinished: {ORDER} not labelled")


def test_an_unreachable_printer_is_a_device_failure(data_dir: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, stderr = run_pack(data_dir, WHOLE_ORDER, weights="0.712kg\n",
                                 extra=["--printer", f"tcp:127.0.0.1:{port}?lang=zpl&timeout=1"])
    assert code == ExitCode.DEVICE
    assert "label_printed" not in [o["event"] for o in out]
    assert f"{ORDER} print_failed" in summary(stderr)


SHORT_SHIP = command_barcode(Command.SHORT_SHIP)
SUPERVISOR = "S-2001"  # 李强, a demo supervisor


def test_a_short_ship_a_supervisor_approved_and_printed_is_finished(data_dir: Path) -> None:
    scans = "\n".join([ORDER, TEA, CHOP, SHORT_SHIP, SUPERVISOR]) + "\n"
    code, out, stderr = run_pack(data_dir, scans, weights="0.435kg\n")  # one tea short: 280 + 95 + 60 g box
    events = [o["event"] for o in out]
    assert code == ExitCode.OK and "short_shipped" in events and events[-1] == "label_printed"
    assert "packbench:" not in stderr


def test_a_short_ship_nobody_approved_is_unfinished(data_dir: Path) -> None:
    code, out, stderr = run_pack(data_dir, "\n".join([ORDER, TEA, CHOP, SHORT_SHIP]) + "\n", weights="0.435kg\n")
    assert code == ExitCode.UNFINISHED and "label_queued" not in [o["event"] for o in out]
    assert f"1 of 1 order(s) unfinished: {ORDER} supervisor_required" in summary(stderr)


def test_a_cancelled_order_is_unfinished(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "packbench.sqlite3") as db:
        db.execute("update \"order\" set status = 'cancelled' where order_id = ?", (ORDER,))
    code, out, stderr = run_pack(data_dir, WHOLE_ORDER, weights="0.712kg\n")
    assert code == ExitCode.UNFINISHED and out[1]["event"] == "order_cancelled"
    assert f"{ORDER} order_cancelled" in summary(stderr)


def test_one_unfinished_order_among_printed_ones_decides_the_exit_code(data_dir: Path) -> None:
    held = "TB2026112500002"  # MUG-CER-01 ×2, TEA-LJ-250 ×1; held by the default rules for its phone number
    with sqlite3.connect(data_dir / "packbench.sqlite3") as db:
        db.execute("update \"order\" set receiver_phone = '1381234567' where order_id = ?", (held,))
    code, out, stderr = run_pack(data_dir, WHOLE_ORDER + f"{held}\n", weights="0.712kg\n")
    assert code == ExitCode.UNFINISHED
    assert [o["order_id"] for o in out if o["event"] == "label_printed"] == [ORDER]
    line = summary(stderr)
    assert f"1 of 2 order(s) unfinished: {held} order_blocked" in line and ORDER + " " not in line


@pytest.mark.parametrize("option", ["--scans", "--weights"])
@pytest.mark.parametrize("given", ["missing.txt", "."])  # a name mistyped, a folder
def test_an_input_file_that_cannot_be_read_is_refused_before_the_line_starts(
        data_dir: Path, option: str, given: str) -> None:
    # It used to run a line that read nothing (the scanner's fault on stderr) and exit 0.
    path = data_dir / given
    (data_dir / "scans.txt").write_text(WHOLE_ORDER, "utf-8")
    args = {"--scans": str(data_dir / "scans.txt"), option: str(path)}
    argv = ["--data-dir", str(data_dir), "pack", *(x for kv in args.items() for x in kv)]
    assert main(argv) == ExitCode.INPUT
