"""The local store: pragmas, migrations, refusing newer stores, online backup, the audit chain."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from app.audit import record_fact, verify_chain
from app.clock import FakeClock
from app.store import Store, StoreError, StoreTooNewError, open_store, store_path
from app.store.handover_models import HANDOVER_MODELS
from app.store.migrations import LATEST_VERSION
from app.store.models import ALL_MODELS, AuditEntry, Order, Outbox


def test_pragmas_are_durable(store: Store) -> None:
    pragma = store.db.execute_sql
    assert pragma("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert pragma("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert pragma("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.schema_version == LATEST_VERSION


def test_every_model_column_exists_in_the_migrated_schema(store: Store) -> None:
    for model in [*ALL_MODELS, *HANDOVER_MODELS]:
        table = model._meta.table_name
        columns = {row[1] for row in store.db.execute_sql(f'PRAGMA table_info("{table}")')}
        assert columns, f"table {table} missing"
        wanted = {field.column_name for field in model._meta.sorted_fields}
        assert wanted <= columns, f"{table}: {wanted - columns} not created by any migration"


def test_reopening_applies_nothing_twice(tmp_path: Path, clock: FakeClock) -> None:
    open_store(tmp_path, clock).close()
    store = open_store(tmp_path, clock)
    rows = store.db.execute_sql("SELECT COUNT(*) FROM schema_version").fetchone()[0]
    assert rows == LATEST_VERSION
    store.close()


def test_newer_store_is_refused_and_left_untouched(tmp_path: Path, clock: FakeClock) -> None:
    open_store(tmp_path, clock).close()
    path = store_path(tmp_path)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_version VALUES (?, 'from the future', '2030-01-01T00:00:00Z')",
                (LATEST_VERSION + 1,))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    siblings = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreTooNewError, match="newer than this PackBench"):
        open_store(tmp_path, clock)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings


def test_garbage_file_is_a_clear_error(tmp_path: Path, clock: FakeClock) -> None:
    store_path(tmp_path).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a PackBench store"):
        open_store(tmp_path, clock)


def test_one_live_shipment_per_order_is_enforced_by_the_schema(demo_store: Store) -> None:
    import peewee as pw

    from app.store.models import Shipment

    order = Order.get()
    Shipment.create(order=order, carrier="SF", tracking_no="SF1", weight_g=1, items_key="x", created_at="t")
    with pytest.raises(pw.IntegrityError):
        Shipment.create(order=order, carrier="SF", tracking_no="SF2", weight_g=1, items_key="x", created_at="t")
    Shipment.update(voided=True).execute()
    Shipment.create(order=order, carrier="SF", tracking_no="SF3", weight_g=1, items_key="x", created_at="t")


def test_online_backup_is_a_consistent_copy(demo_store: Store, tmp_path: Path) -> None:
    dest = tmp_path / "backup" / "copy.sqlite3"
    demo_store.backup(dest)
    con = sqlite3.connect(dest)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute('SELECT COUNT(*) FROM "order"').fetchone()[0] == Order.select().count()
    con.close()
    with pytest.raises(StoreError, match="already exists"):
        demo_store.backup(dest)


def _chain(store: Store, clock: FakeClock, n: int = 10) -> None:
    with store.atomic():
        for i in range(n):
            record_fact("test", "tester", clock.advance(1), {"i": i, "名": "张伟"})


def test_audit_chain_verifies_and_feeds_the_outbox(store: Store, clock: FakeClock) -> None:
    _chain(store, clock)
    report = verify_chain()
    assert report.ok and report.entries == 10
    assert Outbox.select().count() == 10


@pytest.mark.parametrize("tamper", ["alter", "remove", "insert", "relink"])
def test_audit_chain_detects_tampering(store: Store, clock: FakeClock, tamper: str) -> None:
    _chain(store, clock)
    db = store.db
    if tamper == "alter":
        db.execute_sql("UPDATE audit_entry SET payload = replace(payload, '张伟', '李四') WHERE seq = 4")
    elif tamper == "remove":
        db.execute_sql("DELETE FROM audit_entry WHERE seq = 5")
    elif tamper == "insert":
        db.execute_sql("UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 7")  # make room, then forge one
        db.execute_sql("UPDATE audit_entry SET seq = seq - 99 WHERE seq >= 107")
        forged = AuditEntry.get(AuditEntry.seq == 6)
        db.execute_sql("INSERT INTO audit_entry VALUES (7, ?, 'x', 'test', '{}', ?, ?, '')",
                       (forged.at, forged.hash, "f" * 64))
    else:  # recompute one entry's own hash correctly: the next entry no longer links to it
        from app.audit import entry_hash

        e = AuditEntry.get(AuditEntry.seq == 3)
        body = e.payload.replace("张伟", "王五")
        db.execute_sql("UPDATE audit_entry SET payload = ?, hash = ? WHERE seq = 3",
                       (body, entry_hash(e.prev_hash, 3, e.at, e.actor, e.kind, body, e.covers)))
    report = verify_chain()
    assert not report.ok
    assert report.problem.plain().startswith("entry ")
    assert report.problem.text("zh_CN").startswith("条目 ")  # worded where it is read


def test_a_new_store_has_nothing_to_recover_but_a_crashed_one_does(tmp_path: Path, clock: FakeClock,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    # The WAL a fresh store's own migrations write is this process's, not a crash's: no warning.
    fresh = open_store(tmp_path / "fresh", clock)
    assert not fresh.recover()
    assert "not closed cleanly" not in caplog.text
    with fresh.atomic():
        record_fact("test.fact", "tester", clock.now(), {"n": 1})
    # The files as a power cut leaves them: the store and a WAL holding the last commits.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):
        src = Path(f"{fresh.path}{suffix}")
        (crashed / (src.name)).write_bytes(src.read_bytes())
    fresh.close()
    assert (crashed / f"{store_path(crashed).name}-wal").stat().st_size > 0
    store = open_store(crashed, clock)
    assert store.recover()
    assert "not closed cleanly" in caplog.text
    assert AuditEntry.select().where(AuditEntry.kind == "test.fact").count() == 1
    store.close()
