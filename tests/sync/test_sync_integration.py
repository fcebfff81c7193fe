"""Station and the real central server together over HTTP on 127.0.0.1 (SQLite; PostgreSQL when
DATABASE_URL is postgresql://…): enroll, push, pulls with paging, tracking, intercepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.clock import FakeClock
from app.demo import product_barcode, seed_demo
from app.pack.flow import FlowConfig, PackFlow
from app.store import Store, open_store
from app.store.models import ExceptionCase, Order, Outbox, Product, ProductBarcode, TrackingEvent
from sync import pull
from sync.client import SyncClient, SyncError
from sync.credentials import load_credentials
from sync.outbox import outbox_depth, push_outbox
from sync.pull import get_cursor, pull_feed
from sync.worker import run_round
from tests.helpers import scan, weigh
from tests.sync import realserver
from tests.sync.fakes import packbench, queue_events
from tests.sync.realserver import Central, order_row

server_db_url = realserver.server_db_url  # fixture
central = realserver.central  # fixture
client = realserver.client  # fixture


def test_enroll_and_one_round_from_the_command_line(central: Central, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "bench"
    token = central.token()
    assert packbench(["station", "enroll", "--data-dir", d, "--server", central.url, "--token", token,
                      "--name", "BENCH-9"]) == 0
    creds = load_credentials(d)
    assert creds is not None and creds.warehouse == "HZ-1" and creds.station_id.startswith("ST-")
    name, warehouse, key = central.query('SELECT "name", "warehouse", "public_key" FROM "station" '
                                         'WHERE "station_id" = ?', (creds.station_id,))[0]
    assert (name, warehouse) == ("BENCH-9", "HZ-1")
    assert key == (d / "station_ed25519.pub.pem").read_text()  # the passport key is registered
    assert packbench(["station", "enroll", "--data-dir", d, "--server", central.url, "--token", token,
                      "--force"]) == 1
    assert "already used" in capsys.readouterr().err

    store = open_store(d, FakeClock())
    ids = queue_events(store, FakeClock(), 7)
    store.close()
    central.import_orders(tmp_path, [order_row(f"TB20261125{i:05d}") for i in range(3)])
    capsys.readouterr()
    assert packbench(["sync", "--once", "--data-dir", d]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("pushed 8 (accepted 8, known 0, rejected 0), pulled orders 3, products 0, tracking 0; "
                      "outbox depth 0")
    held = central.events()
    assert set(ids) <= set(held) and len(held) == 8 and set(held.values()) == {1}


def test_a_pushed_outbox_is_held_once_even_when_every_answer_was_lost(central: Central, client: SyncClient,
                                                                      store: Store, clock: FakeClock) -> None:
    ids = queue_events(store, clock, 1234)
    report = push_outbox(store, client, clock)
    assert (report.sent, report.accepted, report.batches) == (1234, 1234, 3)
    assert outbox_depth() == 0
    before = central.event_rows()
    Outbox.update(acked_at=None).execute()  # as if the station had heard none of the answers
    again = push_outbox(store, client, clock)
    assert (again.accepted, again.known, again.rejected) == (0, 1234, 0)
    assert central.event_rows() == before
    held = central.events()
    assert sorted(held) == sorted(ids) and set(held.values()) == {1}
    seqs = [row[0] for row in central.query('SELECT "seq" FROM "station_event" ORDER BY "seq"')]
    assert seqs == list(range(1, 1235))


def test_an_event_the_server_refuses_is_kept_with_its_reason(central: Central, client: SyncClient, store: Store,
                                                             clock: FakeClock) -> None:
    queue_events(store, clock, 2)
    queue_events(store, clock, 1, kind="no.such.kind")
    report = push_outbox(store, client, clock)
    assert (report.accepted, report.rejected) == (2, 1)
    row = Outbox.get(Outbox.kind == "no.such.kind")
    assert "unknown kind" in row.rejected_reason and row.acked_at is None
    assert push_outbox(store, client, clock).sent == 0  # not sent again


def test_orders_and_products_pull_in_pages_with_the_cursor_in_the_same_transaction(
        central: Central, client: SyncClient, store: Store, clock: FakeClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    products = [(f"SKU-{j:04d}", f"商品 {j}", product_barcode("TEA-LJ-250") if j == 0 else "", 100 + j, j)
                for j in range(300)]
    central.import_products(tmp_path, products)
    central.import_orders(tmp_path, [order_row(f"TB2026112{i:06d}", sku=f"SKU-{i % 300:04d}", qty=1 + i % 2)
                                     for i in range(1200)])
    real = pull.save_cursor
    calls = {"n": 0}

    def crash_on_the_second_page(name: str, cursor: str, clk: Any) -> None:
        calls["n"] += 1
        if name == "orders" and calls["n"] == 2:
            raise RuntimeError("power cut between applying the page and storing its cursor")
        real(name, cursor, clk)

    assert pull_feed(store, client, clock, "products", limit=200).items == 300
    assert Product.select().count() == 300 and ProductBarcode.select().count() == 1
    calls["n"] = 0
    monkeypatch.setattr(pull, "save_cursor", crash_on_the_second_page)
    with pytest.raises(RuntimeError, match="power cut"):
        pull_feed(store, client, clock, "orders", limit=500)
    first_cursor = get_cursor("orders")
    assert Order.select().count() == 500 and first_cursor is not None
    monkeypatch.setattr(pull, "save_cursor", real)
    report = pull_feed(store, client, clock, "orders", limit=500)
    assert (report.items, report.pages) == (700, 2)
    assert Order.select().count() == 1200
    assert get_cursor("orders") != first_cursor
    assert pull_feed(store, client, clock, "orders").items == 0  # nothing new since the stored cursor
    one = Order.get(Order.order_id == "TB2026112000001")
    assert (one.status, one.receiver_name, one.lines.get().qty) == ("paid", "张伟", 2)


def test_a_parcel_packed_here_gets_its_tracking_and_a_cancel_after_packing_intercepts_it(
        central: Central, client: SyncClient, store: Store, clock: FakeClock, tmp_path: Path) -> None:
    from server.tracking import TrackingRecord

    seed_demo(store, clock, waybills=5)  # operators, products with barcodes, SF waybills
    central.import_orders(tmp_path, [order_row("TB2026112600001", sku="TEA-LJ-250"),
                                     order_row("TB2026112600002", sku="MUG-CER-01")])
    report = run_round(store, client, clock)
    assert report.ok and report.pull.items("orders") == 2
    flow = PackFlow(store, clock, FlowConfig(station="BENCH-1"))
    scan(flow, "B-1001")
    assert scan(flow, "TB2026112600001").event == "order_opened"
    assert scan(flow, product_barcode("TEA-LJ-250")).event == "items_complete"
    out = weigh(flow, 340)
    assert out is not None and out.event == "label_queued"
    tracking_no = out.detail["tracking_no"]
    report = run_round(store, client, clock)
    assert report.ok and report.outbox_depth == 0
    parcel = central.query('SELECT "order_id", "warehouse" FROM "parcel" WHERE "tracking_no" = ?', (tracking_no,))
    assert parcel == [("TB2026112600001", "HZ-1")]
    assert central.query('SELECT "status" FROM "order" WHERE "order_id" = ?', ("TB2026112600001",)) == [("packed",)]

    central.ingest_tracking([
        TrackingRecord("SF", tracking_no, "picked_up", "1", "2026-11-26T03:00:00.000Z", "2026-11-26 11:00:00",
                       "杭州余杭营业部", "王师傅", "顺丰速运 已收取快件", json.dumps({"n": 1})),
        TrackingRecord("SF", tracking_no, "in_transit", "0", "2026-11-26T09:00:00.000Z", "2026-11-26 17:00:00",
                       "杭州转运中心", "", "快件到达 杭州转运中心", json.dumps({"n": 2})),
    ])
    central.import_orders(tmp_path, [order_row("TB2026112600001", sku="TEA-LJ-250", status="cancelled"),
                                     order_row("TB2026112600002", sku="MUG-CER-01", status="cancelled")])
    report = run_round(store, client, clock)
    assert report.ok, report.errors
    assert report.pull.items("tracking") == 2 and report.pull.intercepts == 1
    trail = list(TrackingEvent.select().where(TrackingEvent.tracking_no == tracking_no).order_by(TrackingEvent.time))
    assert [(t.status, t.site, t.context) for t in trail] == [("picked_up", "杭州余杭营业部", "顺丰速运 已收取快件"),
                                                              ("in_transit", "杭州转运中心", "快件到达 杭州转运中心")]
    case = ExceptionCase.get(ExceptionCase.tag == "intercept")
    assert case.shipment.tracking_no == tracking_no and case.severity == "critical"
    assert Order.get(Order.order_id == "TB2026112600002").status == "cancelled"  # not packed: no case
    # The case went to the server too (exception.opened is a fact like any other).
    kinds = [k for (k,) in central.query('SELECT "kind" FROM "station_event" ORDER BY "seq"')]
    assert "shipment.created" in kinds and "exception.opened" in kinds


def test_a_station_whose_enrollment_is_revoked_is_told_to_see_an_admin(central: Central, client: SyncClient,
                                                                      store: Store, clock: FakeClock) -> None:
    from server.stations import revoke
    from sync.worker import SyncWorker

    queue_events(store, clock, 1)
    assert push_outbox(store, client, clock).accepted >= 1
    revoke(central.sdb, client.station_id, "bench sold", clock, actor="test")
    queue_events(store, clock, 1)
    with pytest.raises(SyncError) as caught:
        push_outbox(store, client, clock)
    assert caught.value.needs_admin and "revoked" in caught.value.reason and not caught.value.retryable
    assert caught.value.status == 403
    worker = SyncWorker(store, client, clock)
    assert worker.step() is None  # paused: no automatic retry behind the admin's back
    assert worker.status.needs_admin and "revoked" in (worker.status.last_error or "")
    queue_events(store, clock, 3)  # the bench keeps working offline: its facts wait in the outbox
    assert outbox_depth() == 4
