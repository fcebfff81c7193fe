"""Paid → handed over, on each backend: measured from the order's payment to the parcel's handover, so
it spans paid → packed and packed → handed over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.clock import iso
from server.db import open_database
from server.health.evaluate import measure
from server.health.indicators import BY_NAME
from server.health.seed import seed_history
from server.migrations import migrate
from tests.live_server import fresh_database

END = datetime(2026, 12, 4, 12, tzinfo=UTC)
WH = "HZ-T"


def test_paid_to_handed_over_spans_packing_and_handover(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        sdb = open_database(url)
        migrate(sdb)
        seed_history(sdb, WH, 3, END, orders_per_hour=20, incidents=())
        day = [(iso(END - timedelta(hours=24)), iso(END))]
        with sdb.connection():
            p90 = {name: measure(sdb, BY_NAME[name], WH, day, None)[(0, "")]
                   for name in ("paid_to_handed_over_p90", "paid_to_packed_p90", "handover_delay_p90")}
            by_shop = measure(sdb, BY_NAME["paid_to_handed_over_p90"], WH, day, "shop")
        sdb.close()
    whole, packed, handed = (p90[n].value or 0.0 for n in ("paid_to_handed_over_p90", "paid_to_packed_p90",
                                                           "handover_delay_p90"))
    assert p90["paid_to_handed_over_p90"].volume == p90["handover_delay_p90"].volume > 100
    assert max(packed, handed) < whole < packed + handed  # seeded: paid → packed 1–5 h, packed → handed 1–4 h
    assert {shop for _n, shop in by_shop} == {"茶具旗舰店", "拼多多 家居店", "Tea & Co"}
