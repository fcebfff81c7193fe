"""The evidence pack PDF: what its text says, its QR, the audit chain digest, batches, the command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from app import cli
from app.clock import FakeClock
from app.errors import ExitCode
from app.evidence.cli import EXIT_CHAIN_BROKEN, register
from app.evidence.collect import EvidenceError
from app.evidence.layout import LocalTime, TextFitter, styles
from app.evidence.service import EvidenceSettings, build_evidence
from app.pack.flow import PackFlow
from app.store import Store
from app.store.models import Order
from drivers.printers.preview import render_png
from main import main
from tests.evidence.history import ORDER, TRAIL, History, build_history
from tests.helpers import scan

PT_PER_MM = 72 / 25.4


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def squash(text: str) -> str:
    """Text without whitespace: wrapped table cells break lines anywhere."""
    return re.sub(r"\s+", "", text)


def write(store: Store, clock: FakeClock, settings: EvidenceSettings, out: Path, orders: list[str] | None = None,
          **kwargs: object) -> list[Path]:
    return build_evidence(store, orders or [ORDER], out, render_label_png=render_png, settings=settings, clock=clock,
                          **kwargs)  # type: ignore[arg-type]


def test_text_holds_scan_times_tracking_contexts_and_sla_verdict(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path) -> None:
    clock.advance(hours=100)
    [path] = write(demo_store, clock, settings, tmp_path / "pack.pdf")
    text = pdf_text(path)
    flat = squash(text)
    when = LocalTime("Asia/Shanghai", clock.now())
    assert len(history.scan_times) == 6
    for at in history.scan_times:
        assert when(at) in text  # "2026-11-25 10:00:03": the station's zone
    assert "Asia/Shanghai (UTC+08:00)" in text
    for *_, context in TRAIL:
        assert squash(context) in flat
    assert "warehouse late by 6.5 h" in text and "仓库超时 6.5 小时" in text
    assert "wrong_item" in text and "WRONG ITEM" in text
    assert history.batch_id in flat and "王小明" in text  # the manifest and the courier
    assert "审计链完整" in text and "chain intact" in text  # both languages, from the catalog
    assert squash("packbench audit verify --data-dir") + str(demo_store.path.parent) in flat
    assert "138****5678" in text and "13812345678" not in text  # masked unless revealed
    assert "715 g" in text and "720 g (+5 g)" in text and "within tolerance" in text
    assert squash(history.passport_url) in flat


def test_qr_on_the_rendered_page_is_the_passport_url(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed")
    [path] = write(demo_store, clock, settings, tmp_path / "pack.pdf")
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True, timeout=60)
    found = []
    for png in sorted(tmp_path.glob("page-*.png")):
        for result in zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode):
            width = result.position.top_right.x - result.position.top_left.x
            found.append((result.text, width))
    # The passport section's QR (48 mm wide, drawn as vectors) decodes to the URL; so does the one on
    # the smaller label image.
    assert any(text == history.passport_url and width > 200 for text, width in found), found
    assert {text for text, _ in found} == {history.passport_url}


def test_a_tampered_audit_row_fails_verify_and_the_pack_says_broken(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path,
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [before] = write(demo_store, clock, settings, tmp_path / "before.pdf")
    assert "审计链完整" in pdf_text(before)
    assert main(["--data-dir", str(data_dir), "audit", "verify"]) == 0
    demo_store.db.execute_sql("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 5")
    assert main(["--data-dir", str(data_dir), "audit", "verify"]) == 3
    assert "entry 5: hash does not match" in capsys.readouterr().err
    [after] = write(demo_store, clock, settings, tmp_path / "after.pdf")
    text = pdf_text(after)
    assert "CHAIN BROKEN at entry 5: hash does not match its content" in text
    assert "审计链已损坏，断于第 5 条：哈希与内容不符" in text  # the break worded in each language
    assert "审计链完整" not in text
    code = run_cli(data_dir, [ORDER, "-o", str(tmp_path / "cli.pdf")])
    assert code == EXIT_CHAIN_BROKEN and (tmp_path / "cli.pdf").exists()
    assert "audit chain is BROKEN" in capsys.readouterr().err


def test_a_batch_makes_one_pdf_or_one_per_order_with_progress(
        demo_store: Store, flow: PackFlow, clock: FakeClock, settings: EvidenceSettings, tmp_path: Path) -> None:
    orders = [o.order_id for o in Order.select().order_by(Order.id).limit(5)]
    for n, order_id in enumerate(orders):
        build_history(demo_store, flow, clock, order_id, server_id=100 * n + 1)
    calls: list[tuple[int, int]] = []
    [one] = write(demo_store, clock, settings, tmp_path / "batch.pdf", orders,
                  progress=lambda d, t: calls.append((d, t)))
    assert calls == [(n, 5) for n in range(1, 6)]
    reader = PdfReader(str(one))
    firsts = [i for i, page in enumerate(reader.pages) if "证据包 Evidence pack —" in (page.extract_text() or "")]
    assert len(firsts) == 5  # each order starts on a page of its own
    last_footer = reader.pages[-1].extract_text() or ""
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in last_footer and orders[-1] in last_footer
    calls.clear()
    paths = write(demo_store, clock, settings, tmp_path / "each", orders, per_order=True,
                  progress=lambda d, t: calls.append((d, t)))
    assert calls == [(n, 5) for n in range(1, 6)]
    assert [p.parent for p in paths] == [tmp_path / "each"] * 5
    assert "1004.pdf" in {p.name for p in paths}  # "#1004": a safe file name
    for order_id, path in zip(orders, paths, strict=True):
        text = pdf_text(path)
        assert order_id in text and not any(other in text for other in orders if other != order_id)
    assert not list((tmp_path / "each").glob(".*.tmp"))


def test_a_renderer_that_fails_leaves_the_rest_of_the_pack(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path) -> None:
    def broken(label: object) -> bytes:
        raise RuntimeError("font missing")

    [path] = build_evidence(demo_store, [ORDER], tmp_path / "b.pdf", render_label_png=broken, settings=settings,
                            clock=clock)
    text = pdf_text(path)
    assert squash("label could not be rendered: RuntimeError: font missing") in squash(text)
    assert "warehouse late by 6.5 h" in text and "审计链完整" in text


def test_an_unknown_order_fails_before_anything_is_written(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no order 'NOPE-1'") as refused:
        write(demo_store, clock, settings, tmp_path / "x.pdf", [ORDER, "NOPE-1"])
    assert not (tmp_path / "x.pdf").exists()
    assert refused.value.text("zh_CN") == "本地库中没有订单 'NOPE-1'"  # the triage screen's words at a Chinese bench


def test_an_order_not_packed_yet_still_has_a_pack(
        demo_store: Store, clock: FakeClock, settings: EvidenceSettings, tmp_path: Path) -> None:
    clock.advance(hours=60)  # ship-by of the demo orders was 48 h after payment
    [path] = write(demo_store, clock, settings, tmp_path / "p.pdf", ["TB2026112500002"])
    text = pdf_text(path)
    assert "未打包 not packed" in text and "not handed over yet — warehouse" in text
    assert "No pack session for this order" in text


def test_reprints_are_listed_and_the_phone_revealed_on_request(
        demo_store: Store, flow: PackFlow, clock: FakeClock, history: History, settings: EvidenceSettings,
        tmp_path: Path) -> None:
    from app.barcodes import Command, command_barcode

    flow.last_shipment = None
    assert scan(flow, ORDER).event == "order_already_shipped"
    out = scan(flow, command_barcode(Command.REPRINT))
    assert out.event == "reprint_queued" and out.detail["reprint_no"] == 2
    flow.print_result(out.detail["job_id"], True)
    revealed = EvidenceSettings(**{**settings.__dict__, "reveal_phone": True})
    [path] = write(demo_store, clock, revealed, tmp_path / "r.pdf")
    text = pdf_text(path)
    assert "首次打印 first print" in text and "补打 REPRINT 2" in text
    assert "13812345678" in text


def test_table_text_is_wrapped_to_the_column_and_kept_exactly() -> None:
    fitter = TextFitter(styles().font, 6.8)
    context = TRAIL[4][-1]  # long Chinese text with a phone number, a double space and a hotline
    lines = fitter.lines(context, 60 * PT_PER_MM)
    assert len(lines) > 2 and all(sum(fitter.width(ch) for ch in line) <= 60 * PT_PER_MM + 7 for line in lines)
    assert "".join(lines) == context  # nothing lost, nothing added (no break fell on a space here)
    assert any("13900001111" in line for line in lines)  # a number is not cut in two
    assert not any(line[:1] in "，。）" for line in lines)  # no line starts with closing punctuation
    assert fitter.lines("a  b\nc<d>&", 100) == ["a  b", "c<d>&"]


def run_cli(data_dir: Path, argv: list[str]) -> int:
    parser, sub = cli.build_parser()
    register(sub, renderer=lambda: render_png)
    return cli.run(parser.parse_args(["--data-dir", str(data_dir), "evidence", *argv]))


def test_the_evidence_command(history: History, data_dir: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(data_dir, [ORDER, "-o", str(tmp_path / "one.pdf")]) == 0
    captured = capsys.readouterr()
    assert "evidence pack of 1 order(s) written" in captured.out and "evidence: 1/1 orders" in captured.err
    assert "warehouse late by 6.5 h" in pdf_text(tmp_path / "one.pdf")
    (tmp_path / "ids.txt").write_text(f"{ORDER}\n# a comment\nTB2026112500002\n", "utf-8")
    assert run_cli(data_dir, ["--orders-file", str(tmp_path / "ids.txt"), "--per-order", str(tmp_path / "d")]) == 0
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [f"{ORDER}.pdf", "TB2026112500002.pdf"]
    assert run_cli(data_dir, [ORDER]) == ExitCode.INPUT
    assert "either -o FILE.pdf" in capsys.readouterr().err
    assert run_cli(data_dir, ["NOPE", "-o", str(tmp_path / "n.pdf")]) == ExitCode.INPUT
    assert "no order 'NOPE'" in capsys.readouterr().err


def test_a_forged_weight_is_named_in_the_pack_and_the_command_exits_3(
        history: History, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    from app.store import store_path
    from app.store.models import ScanEvent, Shipment

    assert run_cli(data_dir, [ORDER, "-o", str(tmp_path / "clean.pdf")]) == 0
    text = squash(pdf_text(tmp_path / "clean.pdf"))
    scans = ScanEvent.select().join(Shipment, on=(ScanEvent.session == Shipment.session)).count()
    assert f"scanevents{scans}/{scans}verified" in text and "shipmentverified" in text, text
    assert "ROWS ALTERED" not in text
    shipment = Shipment.get()
    con = sqlite3.connect(store_path(data_dir))  # the forger's sqlite3 shell
    con.execute("UPDATE shipment SET weight_g = 1850 WHERE id = ?", (shipment.id,))
    con.commit()
    con.close()
    capsys.readouterr()
    assert run_cli(data_dir, [ORDER, "-o", str(tmp_path / "forged.pdf")]) == EXIT_CHAIN_BROKEN
    text = squash(pdf_text(tmp_path / "forged.pdf"))
    assert "审计链完整" in text  # the chain itself is intact…
    assert f"ROWSALTERED—shipmentrow{shipment.id}:editedafterauditentry" in text  # …the row is not
    assert f"shipment第{shipment.id}行：在审计条目" in text  # and its Chinese says why in Chinese
    assert f"order {ORDER}: shipment row {shipment.id}: edited" in capsys.readouterr().err
