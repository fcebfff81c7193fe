"""The indicators read from a station's own facts and from the platform's orders, on each backend: the
weight-mismatch and short-ship rates of a real pack flow's scan facts pushed to the server, cases
opened by tag, a duration's p50 and p90 from one query, and the reconciliation deviation by the hour
orders fell due."""

from __future__ import annotations

import json
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.barcodes import Command, command_barcode
from app.clock import FakeClock, iso, parse_iso
from app.demo import product_barcode
from app.i18n import localize
from app.pack.flow import FlowConfig, PackFlow
from app.store import Store
from app.store.models import Outbox
from app.terms import CASE_TAGS, named
from server.db import ServerDb, open_database
from server.health.evaluate import evaluate, measure
from server.health.indicators import BY_NAME, what
from server.health.orders import facts, worst
from server.health.seed import seed_history
from server.migrations import migrate
from tests.helpers import scan, weigh
from tests.live_server import fresh_database
from tests.server.server_harness import Running, Station

PACKER, SUPERVISOR = "B-1001", "S-2001"


def _pushed(station: Station, store: Store) -> None:
    """The station's outbox sent as its sync does: each fact as it was recorded."""
    with store.atomic():
        rows = list(Outbox.select().order_by(Outbox.seq))
    events = [station.event(row.kind, json.loads(row.payload), at=row.created_at) for row in rows]
    reply = station.push(*events)
    assert reply.status_code == 200, reply.text
    assert all(r["status"] == "accepted" for r in reply.json()["results"]), reply.text


def test_weight_mismatch_and_short_ship_rates_come_from_the_stations_scan_facts(
        server: Running, station: Station, demo_store: Store, clock: FakeClock) -> None:
    tea, chop, mug, scarf = (product_barcode(sku) for sku in ("TEA-LJ-250", "CHOP-BMB-5", "MUG-CER-01", "SILK-SCF-R"))
    flow = PackFlow(demo_store, clock, FlowConfig(station=station.station_id))
    scan(flow, PACKER)
    for code in ("TB2026112500001", tea, chop, tea):
        scan(flow, code)
    assert (weigh(flow, 900) or _none()).event == "weight_mismatch"  # refused, then approved at 900 g
    assert scan(flow, SUPERVISOR).event == "label_queued"
    scan(flow, "TB2026112500002")
    scan(flow, mug)
    assert (weigh(flow, flow.expected_weight_g()) or _none()).event == "label_queued"
    scan(flow, "PDD20261125-0003")
    scan(flow, scarf)  # of a scarf and two notebooks
    scan(flow, command_barcode(Command.SHORT_SHIP))
    assert scan(flow, SUPERVISOR).event == "short_shipped"
    assert (weigh(flow, flow.expected_weight_g()) or _none()).event == "label_queued"
    _pushed(station, demo_store)

    sdb = server.services.sdb
    hour = clock.now().replace(minute=0, second=0, microsecond=0)
    window = [(iso(hour - timedelta(hours=1)), iso(hour + timedelta(hours=1)))]
    with sdb.connection():
        weights = measure(sdb, BY_NAME["weight_mismatch_rate"], station.warehouse, window, None)[(0, "")]
        shorts = measure(sdb, BY_NAME["short_ship_rate"], station.warehouse, window, None)[(0, "")]
        by_packer = measure(sdb, BY_NAME["short_ship_rate"], station.warehouse, window, "packer")
    # three weighings from the scale, one refused; three labels queued (one after the approval), one short
    assert (weights.value, weights.volume) == (1 / 3, 3)
    assert (shorts.value, shorts.volume) == (1 / 3, 3)
    assert len(by_packer) == 1 and next(iter(by_packer))[1]  # one packer signed every scan


def _none() -> Any:
    raise AssertionError("the scale reading was ignored")


def test_cases_opened_slice_by_tag_worded_in_the_readers_language(server: Running, station: Station) -> None:
    at = "2026-11-25T06:10:00Z"
    tags = ["weight_mismatch"] * 4 + ["address_risk"] * 2 + ["site_rule_x"]
    reply = station.push(*[station.event("exception.opened", {"case": n + 1, "key": f"k{n}", "tag": tag,
                                                              "rule_id": None, "severity": "warn",
                                                              "route": "supervisor", "order_id": f"O{n}",
                                                              "tracking_no": None, "title": tag}, at=at)
                           for n, tag in enumerate(tags)])
    assert reply.status_code == 200, reply.text
    sdb = server.services.sdb
    with sdb.connection():
        by_tag = measure(sdb, BY_NAME["cases_opened"], station.warehouse,
                         [("2026-11-25T06:00:00Z", "2026-11-25T07:00:00Z")], "tag")
    assert {key: m.value for (_, key), m in by_tag.items()} == {"weight_mismatch": 4, "address_risk": 2,
                                                                 "site_rule_x": 1}
    cases = BY_NAME["cases_opened"]
    worded = str(localize(what(cases, "tag=weight_mismatch"), "zh_CN"))
    assert str(localize(named(CASE_TAGS, "weight_mismatch"), "zh_CN")) in worded and not re.search("[A-Za-z]", worded)
    assert "site_rule_x" in str(localize(what(cases, "tag=site_rule_x"), "zh_CN"))  # a site's own tag: its code


END = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_a_durations_p50_and_p90_are_one_query_and_the_quantiles_of_its_facts(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        sdb = open_database(url)
        migrate(sdb)
        seed_history(sdb, "HZ-T", 8, END, orders_per_hour=20, incidents=())
        hour = END - timedelta(hours=6)
        ran: list[str] = []
        execute = sdb.execute

        def counted(text: str, params: Any = ()) -> Any:
            ran.append(text)
            return execute(text, params)

        sdb.execute = counted  # type: ignore[method-assign]
        readings = {r.indicator.name: r for r in evaluate(
            sdb, "HZ-T", hour, names=["paid_to_packed_p50", "paid_to_packed_p90"])}
        sdb.execute = execute  # type: ignore[method-assign]
        with sdb.connection():
            values = _hours(sdb, hour)
        sdb.close()
    assert len(ran) == 1
    p50, p90 = readings["paid_to_packed_p50"], readings["paid_to_packed_p90"]
    assert p50.volume == p90.volume == len(values) >= 10
    assert abs((p50.value or 0) - statistics.median(values)) < 1e-6
    assert abs((p90.value or 0) - statistics.quantiles(values, n=10, method="inclusive")[-1]) < 1e-6
    assert p50.baseline is not None and p50.value is not None and p50.value < (p90.value or 0)


def _hours(sdb: ServerDb, hour: datetime) -> list[float]:
    """Paid → packed of the parcels packed in the hour, in hours, ordered."""
    rows = sdb.execute('SELECT p."packed_at", o."paid_at" FROM "parcel" p JOIN "order" o '
                       'ON o."order_id" = p."order_id" WHERE p."packed_at" >= ? AND p."packed_at" < ?',
                       (iso(hour), iso(hour + timedelta(hours=1)))).fetchall()
    return sorted((parse_iso(str(packed)) - parse_iso(str(paid))).total_seconds() / 3600 for packed, paid in rows)


DUE = datetime(2026, 12, 3, 10, tzinfo=UTC)  # the hour the orders below fall due


def test_reconciliation_deviation_counts_due_orders_not_handed_over_by_their_ship_by(
        backend: str, tmp_path: Path) -> None:
    at = lambda minutes: iso(DUE + timedelta(minutes=minutes))  # noqa: E731
    orders = {  # order → (status, ship-by, its parcel's (handed over, voided) or None)
        "ON-TIME": ("packed", at(10), (at(-120), None)),
        "LATE": ("shipped", at(20), (at(90), None)),
        "NEVER-PACKED": ("paid", at(30), None),
        "VOIDED": ("packed", at(40), (at(-60), at(-30))),
        "REFUNDED": ("refunded", at(50), None),  # the platform no longer wants it shipped
        "DUE-LATER": ("paid", at(70), None),  # another hour's
    }
    with fresh_database(backend, tmp_path) as url:
        sdb = open_database(url)
        migrate(sdb)
        with sdb.connection(), sdb.write():
            for n, (order_id, (status, ship_by, parcel)) in enumerate(orders.items()):
                sdb.execute('INSERT INTO "order" ("order_id", "warehouse", "day", "platform", "shop", "status", '
                            '"buyer", "receiver_name", "receiver_phone", "receiver_address", "total_cents", '
                            '"paid_cents", "created_at", "paid_at", "ship_by", "carrier", "tracking_no", "note", '
                            '"updated_at", "pos") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                            (order_id, "HZ-R", "2026-12-02", "taobao", "茶具旗舰店", status, "b", "张伟", "138",
                             "浙江省杭州市", 100, 100, at(-1440), at(-1440), ship_by, "SF", None, "", at(-1440), n))
                if parcel:
                    sdb.execute('INSERT INTO "parcel" ("tracking_no", "carrier", "order_id", "warehouse", '
                                '"station_id", "packed_at", "handed_over_at", "voided_at", "updated_at") '
                                'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                                (f"SF{n:010d}", "SF", order_id, "HZ-R", "HZ-R-BENCH-1", at(-180), parcel[0],
                                 parcel[1], at(-180)))
        window = [(iso(DUE), iso(DUE + timedelta(hours=1)))]
        deviation = BY_NAME["reconciliation_deviation"]
        with sdb.connection():
            measured = measure(sdb, deviation, "HZ-R", window, None)[(0, "")]
            by_shop = measure(sdb, deviation, "HZ-R", window, "shop")
        listed = worst(deviation, facts(sdb, deviation, "HZ-R", window))
        sdb.close()
    assert (measured.value, measured.volume) == (3 / 4, 4)
    assert {key for _, key in by_shop} == {"茶具旗舰店"}
    assert sorted(f.order_id for f in listed) == ["LATE", "NEVER-PACKED", "VOIDED"]
    assert all(f.at is not None and DUE <= f.at < DUE + timedelta(hours=1) for f in listed)
