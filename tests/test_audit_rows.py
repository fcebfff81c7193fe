"""Audit entries cover the rows their facts wrote: editing, deleting or slipping in a row in the SQLite
file (as someone with the sqlite3 shell would) makes `packbench audit verify` exit 3 naming table and row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.audit import entry_hash
from app.audit_rows import verify_rows, verify_store
from app.cases import open_case
from app.clock import FakeClock
from app.handover import HandoverService
from app.pack.flow import PackFlow
from app.printing import claim_job
from app.store import open_store, store_path
from app.store.handover_models import HandoverItem
from app.store.migrations import MIGRATIONS
from app.store.models import AuditEntry, Order, PrintJob, ScanEvent, Shipment, WaybillPool
from main import main
from tests.helpers import weigh

PACKER, ORDER = "B-1001", "TB2026112500001"


def packed(flow: PackFlow, clock: FakeClock) -> Shipment:
    from tests.test_pack_flow import pack_items

    pack_items(flow)
    out = weigh(flow, 720)
    assert out is not None and out.event == "label_queued"
    # The print worker's claim is written without a fact of its own: Store.atomic seals it.
    assert claim_job(flow.store, clock, out.detail["job_id"]) == "queued"
    flow.print_result(out.detail["job_id"], True)
    shipment = Shipment.get()
    service = HandoverService(flow.store, clock, "T-1", "王芳")
    batch = service.open_batch("SF")
    assert service.scan(batch, shipment.tracking_no).event == "accepted"
    open_case(flow.store, clock, dedupe_key="k", tag="late", rule_id="r1", severity="warning", route="supervisor",
              title="late parcel", order=shipment.order, shipment=shipment)
    return shipment


def verify(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--data-dir", str(data_dir), "audit", "verify"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def tamper(data_dir: Path, *statements: str) -> None:
    con = sqlite3.connect(store_path(data_dir))  # the sqlite3 shell: no PackBench connection hooks
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.close()


def test_every_row_a_packing_day_writes_is_covered_and_verifies(flow: PackFlow, clock: FakeClock,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    packed(flow, clock)
    chain, rows = verify_store()
    assert chain.ok and rows.ok, rows.problems
    covered = {line.split(" ")[0] for e in AuditEntry.select() if e.covers for line in e.covers.split("\n")}
    assert {"scan_event", "shipment", "print_job", "order", "pack_session", "waybill_pool", "handover",
            "handover_item", "exception_case", "operator", "product", "order_line"} <= covered
    assert AuditEntry.select().where(AuditEntry.kind == "rows.written").count() >= 1  # the job marked sent
    code, out = verify(flow.store.path.parent, capsys)
    assert code == 0 and "0 problems" in out and "not covering rows" not in out


@pytest.mark.parametrize(("table", "sql"), [
    ("shipment", 'UPDATE shipment SET weight_g = 1200 WHERE id = {shipment}'),
    ("scan_event", "UPDATE scan_event SET outcome = 'item_ok' WHERE id = {event}"),
    ("order", """UPDATE "order" SET receiver_name = '李四' WHERE id = {order}"""),
    ("print_job", "UPDATE print_job SET state = 'failed' WHERE id = {job}"),
    ("waybill_pool", "UPDATE waybill_pool SET order_id = NULL, state = 'free' WHERE id = {waybill}"),
    ("handover_item", "UPDATE handover_item SET scanned_by = 'x' WHERE id = {item}"),
    ("exception_case", "UPDATE exception_case SET state = 'resolved' WHERE id = {case}"),
    ("scan_event", "UPDATE scan_event SET raw = X'00' WHERE id = {event}"),
])
def test_an_edited_row_is_named(flow: PackFlow, clock: FakeClock, capsys: pytest.CaptureFixture[str],
                                table: str, sql: str) -> None:
    shipment = packed(flow, clock)
    ids = row_ids(shipment)
    data_dir = flow.store.path.parent
    tamper(data_dir, sql.format(**ids))
    code, out = verify(data_dir, capsys)
    row = ids[{"scan_event": "event", "order": "order", "print_job": "job", "waybill_pool": "waybill",
               "handover_item": "item", "exception_case": "case", "shipment": "shipment"}[table]]
    assert code == 3
    assert f"{table} row {row}: edited after audit entry" in out
    assert "1 problems" in out and "audit chain ok" in out


def row_ids(shipment: Shipment) -> dict[str, int]:
    return {"shipment": shipment.id, "order": shipment.order_id, "job": PrintJob.get().id,
            "event": ScanEvent.select().order_by(ScanEvent.id.desc()).get().id,
            "waybill": WaybillPool.get(WaybillPool.number == shipment.tracking_no).id,
            "item": HandoverItem.get().id, "case": 1}


def test_deleted_and_inserted_rows_are_named(flow: PackFlow, clock: FakeClock,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    shipment = packed(flow, clock)
    first = ScanEvent.select().order_by(ScanEvent.id).get().id
    data_dir = flow.store.path.parent
    tamper(data_dir, f"DELETE FROM scan_event WHERE id = {first}",
           "INSERT INTO scan_event (station, at, source, outcome, message, state_after) "
           "VALUES ('T-1', '2026-11-25T03:00:00.000Z', 'test', 'label_printed', '', 'done')",
           f"DELETE FROM handover_item WHERE shipment_id = {shipment.id}")
    code, out = verify(data_dir, capsys)
    forged = sqlite3.connect(store_path(data_dir)).execute("SELECT MAX(id) FROM scan_event").fetchone()[0]
    assert code == 3
    assert f"scan_event row {first}: deleted (audit entry" in out
    assert f"scan_event row {forged}: not written by any audit entry" in out
    assert "handover_item row 1: deleted" in out
    assert "3 problems" in out


def test_a_row_deleted_by_its_own_fact_must_stay_deleted(flow: PackFlow, clock: FakeClock,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    shipment = packed(flow, clock)
    service = HandoverService(flow.store, clock, "T-1", "王芳")
    batch = service.open_batches()[0]
    assert service.remove(batch, shipment.tracking_no).event == "removed"
    data_dir = flow.store.path.parent
    assert verify(data_dir, capsys)[0] == 0
    tamper(data_dir, "INSERT INTO handover_item VALUES (1, 1, 1, 'SF', 't', 'x', NULL)")
    code, out = verify(data_dir, capsys)
    assert code == 3 and "handover_item row 1: present although audit entry" in out


def test_stripping_an_entrys_row_list_breaks_the_chain(flow: PackFlow, clock: FakeClock,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    packed(flow, clock)
    data_dir = flow.store.path.parent
    tamper(data_dir, "UPDATE audit_entry SET covers = NULL WHERE seq = (SELECT MAX(seq) FROM audit_entry)")
    code, out = verify(data_dir, capsys)
    assert code == 3 and "list of covered rows was removed" in out


def test_verify_rows_judges_exactly_the_rows_asked(flow: PackFlow, clock: FakeClock) -> None:
    shipment = packed(flow, clock)
    tamper(flow.store.path.parent, f"UPDATE shipment SET weight_g = 99 WHERE id = {shipment.id}")
    chain, checks = verify_rows([("shipment", shipment.id), ("order", shipment.order_id), ("scan_event", 999)])
    assert chain.ok
    assert checks[("shipment", shipment.id)].state == "edited"
    assert checks[("order", shipment.order_id)].state == "verified"
    assert checks[("scan_event", 999)].state == "missing"


def test_a_rolled_back_write_leaves_nothing_to_seal(flow: PackFlow) -> None:
    store = flow.store
    with pytest.raises(RuntimeError), store.atomic():
        Order.update(note="draft").execute()
        raise RuntimeError("changed my mind")
    with store.atomic():
        Order.update(note="kept").where(Order.order_id == ORDER).execute()
    chain, rows = verify_store()
    assert chain.ok and rows.ok, rows.problems
    last = AuditEntry.select().order_by(AuditEntry.seq.desc()).get()
    assert last.kind == "rows.written" and last.covers.count("\n") == 0  # one order, not every order


def test_entries_and_rows_from_before_the_migration_are_counted_not_judged(
        tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "old"
    monkeypatch.setattr("app.store.db.MIGRATIONS", MIGRATIONS[:5])
    open_store(data_dir, clock).close()
    con = sqlite3.connect(store_path(data_dir))
    con.execute("""INSERT INTO "order" (order_id, platform, shop, status, buyer, receiver_name, receiver_phone,
                   receiver_address, total_cents, paid_cents, carrier, note, updated_at)
                   VALUES ('OLD-1', 'canonical', '', 'paid', '', '张伟', '', '', 0, 0, 'SF', '', 't')""")
    prev = "0" * 64
    for seq in (1, 2):
        digest = entry_hash(prev, seq, "2026-01-01T00:00:00.000Z", "old", "import.orders", "{}")
        con.execute("INSERT INTO audit_entry VALUES (?, ?, 'old', 'import.orders', '{}', ?, ?)",
                    (seq, "2026-01-01T00:00:00.000Z", prev, digest))
        prev = digest
    con.commit()
    con.close()
    monkeypatch.undo()
    store = open_store(data_dir, clock)
    with store.atomic():
        Order.update(note="new").where(Order.order_id == "OLD-1").execute()
    store.close()
    code, out = verify(data_dir, capsys)
    assert code == 0, out
    assert "2 entries and 0 rows not covering rows (before migration 6)" in out
    tamper(data_dir, """UPDATE "order" SET receiver_name = '李四'""")
    code, out = verify(data_dir, capsys)
    assert code == 3 and "order row 1: edited" in out


def test_rows_a_later_migration_writes_are_sealed_at_once(tmp_path: Path, clock: FakeClock,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from app.store.migrations import LATEST_VERSION, Migration

    data_dir = tmp_path / "station"
    store = open_store(data_dir, clock)
    with store.atomic():
        Order.create(order_id="TB-1", updated_at="t")
    store.close()
    later = Migration(LATEST_VERSION + 1, "a data fix", ("""UPDATE "order" SET note = 'fixed'""",))
    monkeypatch.setattr("app.store.db.MIGRATIONS", (*MIGRATIONS, later))
    monkeypatch.setattr("app.store.db.LATEST_VERSION", later.version)
    store = open_store(data_dir, clock)
    chain, rows = verify_store()
    assert chain.ok and rows.ok, rows.problems
    last = AuditEntry.select().order_by(AuditEntry.seq.desc()).get()
    assert last.kind == "rows.written" and last.covers.startswith("order 1 ")
    store.close()
