"""The audit chain's anchor: the head goes to the server with every push, the server keeps the first it
accepted, and `packbench audit verify` holds the chain to the head the server acknowledged — so cutting
the chain's tail, or re-hashing the whole chain after an edit, is caught (FakeApi and the real server,
SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3

import pytest

from app import audit_anchor
from app.audit import GENESIS, entry_hash, record_fact
from app.clock import FakeClock
from app.store import Store, store_path
from app.store.models import database_proxy
from app.store.row_capture import image_sql, row_digest
from main import main
from protocol import AuditHead
from server.audit_heads import Claim, judge
from sync.client import SyncClient
from sync.outbox import push_outbox
from tests.sync import fakes, realserver
from tests.sync.fakes import FakeApi, queue_events
from tests.sync.realserver import Central

server_db_url = realserver.server_db_url  # fixture
central = realserver.central  # fixture
client = realserver.client  # fixture
api = fakes.api  # fixture


def verify(store: Store, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--data-dir", str(store.path.parent), "audit", "verify"])
    database_proxy.initialize(store.db)  # main() bound its own connection to the models
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def order_row(store: Store, clock: FakeClock) -> int:
    """One order written by a fact, so a row edit can be re-sealed by a forger."""
    from app.store.models import Order

    with store.atomic():
        order = Order.create(order_id="TB-1", receiver_name="张伟", updated_at="t")
        record_fact("import.orders", "admin", clock.now(), {"orders": 1})
    return int(order.id)


def rehash_everything(store: Store, receiver: str) -> None:
    """What a forger with the sqlite3 shell does: edit a row, fix its digest in the entries, re-hash the chain."""
    con = sqlite3.connect(store_path(store.path.parent))
    con.execute('UPDATE "order" SET receiver_name = ?', (receiver,))
    rid, image = con.execute(f'SELECT id, {image_sql("order")} FROM "order"').fetchone()
    prev = GENESIS
    for seq, at, actor, kind, payload, covers in con.execute(
            "SELECT seq, at, actor, kind, payload, covers FROM audit_entry ORDER BY seq").fetchall():
        if covers:
            covers = "\n".join(f"order {rid} {row_digest(image)}" if line.startswith(f"order {rid} ") else line
                               for line in covers.split("\n"))
        digest = entry_hash(prev, seq, at, actor, kind, payload, covers)
        con.execute("UPDATE audit_entry SET covers = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (covers, prev, digest, seq))
        prev = digest
    con.commit()
    con.close()


def truncate(store: Store, keep: int) -> None:
    con = sqlite3.connect(store_path(store.path.parent))
    con.execute("DELETE FROM audit_entry WHERE seq > ?", (keep,))
    con.commit()
    con.close()


def test_never_synced_says_not_anchored(store: Store, clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    queue_events(store, clock, 3)
    code, out = verify(store, capsys)
    assert code == 0 and "not anchored since the store was created" in out


def test_the_acknowledged_head_is_recorded_and_later_entries_are_not_anchored_since(
        store: Store, clock: FakeClock, api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    queue_events(store, clock, 5)
    push_outbox(store, api, clock)
    assert api.audit_head is not None and api.audit_head.seq == 5
    ack = audit_anchor.acknowledged()
    assert ack is not None and (ack.seq, ack.hash) == (5, api.audit_head.hash)
    code, out = verify(store, capsys)
    assert code == 0 and "head entry 5 acknowledged by the server" in out
    queue_events(store, clock, 2)  # offline: not pushed
    code, out = verify(store, capsys)
    assert code == 0 and "2 later entries not anchored since 2026-11-25T01:00:00.000Z" in out


def test_a_chain_that_grew_without_events_sends_its_head_alone(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 2)
    push_outbox(store, api, clock)
    with store.atomic():
        record_fact("demo.seeded", "system", clock.now(), {}, sync=False)
    push_outbox(store, api, clock)
    assert api.batches[-1] == [] and api.audit_head is not None and api.audit_head.seq == 3
    push_outbox(store, api, clock)
    assert len(api.batches) == 2  # nothing new: nothing sent


def test_truncating_the_tail_is_caught(store: Store, clock: FakeClock, api: FakeApi,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    queue_events(store, clock, 6)
    push_outbox(store, api, clock)
    truncate(store, 4)
    code, out = verify(store, capsys)
    assert code == 3 and "TRUNCATED: the server acknowledged entry 6" in out and "chain ends at entry 4" in out


def test_rehashing_the_whole_chain_is_caught(store: Store, clock: FakeClock, api: FakeApi,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    order_row(store, clock)
    queue_events(store, clock, 3)
    push_outbox(store, api, clock)
    rehash_everything(store, "李四")
    code, out = verify(store, capsys)
    assert "audit chain ok" in out and "0 problems" in out  # the forgery is consistent in the file…
    assert code == 3 and "REWRITTEN: entry 4 does not have the hash the server acknowledged" in out  # …not outside
    # The next push is refused by the server, which keeps the first head.
    kept = api.audit_head
    queue_events(store, clock, 1)
    push_outbox(store, api, clock)
    assert api.audit_head == kept
    code, out = verify(store, capsys)
    assert code == 3 and "the server refused this station's head" in out


def test_the_server_judges_heads() -> None:
    a, b = AuditHead(seq=5, hash="a" * 64), AuditHead(seq=5, hash="b" * 64)
    assert judge(None, Claim(a)) == ("accepted", None)
    assert judge(a, Claim(a))[0] == "unchanged"
    assert judge(a, Claim(b))[0] == "refused"
    assert "went back" in str(judge(a, Claim(AuditHead(seq=3, hash="c" * 64)))[1])
    later = AuditHead(seq=9, hash="d" * 64)
    assert judge(a, Claim(later, (a,)))[0] == "accepted"
    assert "changed its hash" in str(judge(a, Claim(later, (b,)))[1])
    assert "does not show entry 5" in str(judge(a, Claim(later))[1])


def test_the_real_server_keeps_the_first_head_and_flags_the_rest(
        central: Central, client: SyncClient, store: Store, clock: FakeClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    order_row(store, clock)
    queue_events(store, clock, 3)
    push_outbox(store, client, clock)
    station = client.station_id
    ((seq, digest),) = central.query('SELECT "audit_seq", "audit_hash" FROM "station" WHERE "station_id" = ?',
                                     (station,))
    head = audit_anchor.head()
    assert head is not None and (seq, digest) == (head.seq, head.hash) == (4, head.hash)
    assert verify(store, capsys)[0] == 0

    queue_events(store, clock, 2)  # a later head links to the kept one: accepted
    push_outbox(store, client, clock)
    assert central.query('SELECT "audit_seq" FROM "station" WHERE "station_id" = ?', (station,)) == [(6,)]

    rehash_everything(store, "李四")  # then the file is rewritten, and one more fact recorded
    queue_events(store, clock, 1)
    push_outbox(store, client, clock)
    assert central.query('SELECT "audit_seq", "audit_hash" FROM "station" WHERE "station_id" = ?',
                         (station,))[0][0] == 6
    (conflict,) = central.query('SELECT "kept_seq", "offered_seq", "reason" FROM "audit_head_conflict"')
    assert conflict[:2] == (6, 7) and "changed its hash" in conflict[2]
    code, out = verify(store, capsys)
    assert code == 3 and "REWRITTEN: entry 6" in out

    truncate(store, 2)  # going back is refused too
    queue_events(store, clock, 1)
    push_outbox(store, client, clock)
    reasons = [r for (r,) in central.query('SELECT "reason" FROM "audit_head_conflict" ORDER BY "id"')]
    assert len(reasons) == 2 and "went back from entry 6 to 3" in reasons[1]
    assert central.query('SELECT "audit_seq" FROM "station" WHERE "station_id" = ?', (station,)) == [(6,)]


def test_a_malformed_head_is_a_422_not_a_traceback(central: Central, client: SyncClient) -> None:
    import json

    from sync.client import SyncError

    body = json.dumps({"events": [], "audit_head": {"seq": 0, "hash": "zz"}}).encode()
    with pytest.raises(SyncError, match="audit head"):
        client.request("POST", "/events", body=body)

