"""The `packbench` command line: headless line mode, operators, audit, backup, order show, command sheet."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.demo import product_barcode
from app.errors import ExitCode
from main import main

ROOT = Path(__file__).resolve().parents[1]
TEA, CHOP = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "station"
    assert main(["--data-dir", str(d), "demo", "seed"]) == 0
    return d


def run_pack(data_dir: Path, scans: str, weights: str | None = None, extra: list[str] | None = None,
             ) -> tuple[int, list[dict[str, object]], str]:
    (data_dir / "scans.txt").write_text(scans, "utf-8")
    argv = [sys.executable, str(ROOT / "main.py"), "pack", "--data-dir", str(data_dir), "--scans",
            str(data_dir / "scans.txt"), "--printer", f"file:{data_dir / 'labels.txt'}", "--operator", "line-1"]
    if weights is not None:
        (data_dir / "weights.txt").write_text(weights, "utf-8")
        argv += ["--weights", str(data_dir / "weights.txt")]
    proc = subprocess.run(argv + (extra or []), capture_output=True, cwd=ROOT, timeout=60)
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    return proc.returncode, lines, proc.stderr.decode()


def test_headless_line_packs_with_weights_file_and_keeps_going_after_bad_input(data_dir: Path) -> None:
    scans = "\n".join(["TB2026112500001", "\x07\x07junk", TEA, "6901234560010", CHOP, TEA,
                       "TB2026112500002", product_barcode("MUG-CER-01"), ""]) + "\n"
    code, out, stderr = run_pack(data_dir, scans, weights="1.5kg\nnot-a-weight\n0.712kg\n468g\n")
    assert code == 0
    events = [o["event"] for o in out]
    # The printer has a thread of its own: a label's result may come after the next order's scans.
    assert [e for e in events if e != "label_printed"] == [
        "login", "order_opened", "bad_scan", "item_ok", "bad_scan", "item_ok", "items_complete",
        "weight_mismatch", "label_queued", "order_opened", "items_complete", "label_queued"], events
    queued = [(k, o["order_id"]) for k, o in enumerate(out) if o["event"] == "label_queued"]
    printed = [(k, o["order_id"]) for k, o in enumerate(out) if o["event"] == "label_printed"]
    assert [o for _, o in printed] == [o for _, o in queued] == ["TB2026112500001", "TB2026112500002"]
    assert all(p > q for (p, _), (q, _) in zip(printed, queued, strict=True))
    # The first parcel weighed 1500 g against 715 g expected: blocked until it was weighed again.
    mismatch = out[7]
    assert mismatch["state"] == "blocked" and mismatch["actual_g"] == 1500
    assert out[8]["actual_g"] == 712 and "not-a-weight" in stderr
    for o in out:
        assert {"event", "code", "order_id", "state"} <= o.keys()
    labels = (data_dir / "labels.txt").read_text("utf-8")
    assert "李娜" in labels and "139****4321" in labels


def test_headless_reads_stdin(data_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "pack", "--data-dir", str(data_dir), "--scans", "-", "--scale", "sim",
         "--operator", "line-1"],
        input=f"TB2026112500001\n{TEA}\n{CHOP}\n{TEA}\n".encode(), capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    events = [json.loads(x)["event"] for x in proc.stdout.decode().splitlines()]
    assert events[-2:] == ["label_queued", "label_printed"]


def test_unknown_operator_is_one_clear_line(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "--data-dir", str(data_dir), "--scans", "-", "--operator", "nobody"]) == ExitCode.INPUT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no operator 'nobody'" in err


def test_operator_add_rejects_duplicates_and_unscannable_badges(data_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--data-dir", str(data_dir), "operator", "add"]
    assert main([*args, "张三", "--role", "packer", "--badge", "B-3001"]) == 0
    assert main([*args, "李四", "--role", "packer", "--badge", "B-3001"]) == ExitCode.INPUT
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "王五", "--role", "packer", "--badge", TEA]) == ExitCode.INPUT  # would read as a product
    assert "reads as a product barcode" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir), "operator", "list"]) == 0
    assert "张三\tpacker\tB-3001" in capsys.readouterr().out


def test_audit_verify_exit_codes(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_pack(data_dir, f"TB2026112500001\n{TEA}\n{CHOP}\n{TEA}\n", extra=["--scale", "sim"])
    assert main(["--data-dir", str(data_dir), "audit", "verify"]) == 0
    assert "audit chain ok" in capsys.readouterr().out
    con = sqlite3.connect(data_dir / "packbench.sqlite3")
    con.execute("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 5")
    con.commit()
    con.close()
    assert main(["--data-dir", str(data_dir), "audit", "verify"]) == 3
    assert "entry 5" in capsys.readouterr().err


def test_order_show_json_and_backup(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_pack(data_dir, f"TB2026112500001\n{TEA}\n{CHOP}\n{TEA}\n", extra=["--scale", "sim"])
    assert main(["--data-dir", str(data_dir), "order", "show", "TB2026112500001", "--json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert snap["status"] == "packed" and snap["receiver_phone"] == "138****5678"
    assert [ln["qty"] for ln in snap["lines"]] == [2, 1]
    assert snap["sessions"][0]["state"] == "completed" and snap["sessions"][0]["operator"] == "line-1"
    assert snap["shipments"][0]["print_jobs"][0]["state"] == "done"
    assert main(["--data-dir", str(data_dir), "order", "show", "NOPE"]) == ExitCode.INPUT
    capsys.readouterr()
    dest = tmp_path / "b.sqlite3"
    assert main(["--data-dir", str(data_dir), "backup", "--to", str(dest)]) == 0
    con = sqlite3.connect(dest)
    assert con.execute("SELECT COUNT(*) FROM shipment").fetchone()[0] == 1
    con.close()


def test_command_sheet_pdf_has_every_command(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from app.barcodes import Command, command_barcode

    out = tmp_path / "sheet.pdf"
    assert main(["command-sheet", "-o", str(out)]) == 0
    text = PdfReader(out).pages[0].extract_text()
    for command in Command:
        assert command_barcode(command) in text
    assert "补打面单" in text and "呼叫主管" in text


def test_newer_store_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "s"
    assert main(["--data-dir", str(d), "operator", "list"]) == 0
    con = sqlite3.connect(d / "packbench.sqlite3")
    con.execute("INSERT INTO schema_version VALUES (999, 'future', 'x')")
    con.commit()
    con.close()
    assert main(["--data-dir", str(d), "operator", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "newer than this PackBench" in err


def test_import_commands_report_counts_and_name_the_bad_row(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    fixtures = ROOT / "tests" / "fixtures" / "imports"
    d = tmp_path / "s"
    assert main(["--data-dir", str(d), "import-products", str(fixtures / "products.csv")]) == 0
    shopify = str(fixtures / "shopify_orders.csv")
    assert main(["--data-dir", str(d), "import-orders", shopify, "--format", "shopify"]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "shopify" in out
    broken = tmp_path / "broken.csv"
    lines = (fixtures / "canonical_orders.csv").read_text("utf-8").splitlines()
    lines[3] = lines[3].replace(",2026-11-25 08:30:00,", ",2026-13-45 08:30:00,")  # row 4: no 13th month
    broken.write_text("\n".join(lines) + "\n", "utf-8")
    assert main(["--data-dir", str(d), "import-orders", str(broken)]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.startswith("packbench: broken.csv row 4, column 'created_at'") and err.count("\n") == 1
    # nothing of the broken file went in
    assert main(["--data-dir", str(d), "order", "show", "PB-0001"]) == ExitCode.INPUT
