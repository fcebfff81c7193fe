"""The order-health indicators that follow a parcel after pickup, on each backend: of the parcels the
carrier owes news of at a window's end, the share with no tracking update for 24 h and the share out
for delivery for over 48 h; and paid → handed over, measured from the order's payment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.clock import iso
from app.tracking_states import CARRIER_ACCEPTED
from server.db import ServerDb, open_database
from server.fulfilment import ENDED, refresh_tracking
from server.health.evaluate import Measure, measure
from server.health.indicators import BY_NAME
from server.health.seed import seed_history
from server.migrations import migrate
from tests.live_server import fresh_database

END = datetime(2026, 12, 4, 12, tzinfo=UTC)
WH = "HZ-T"
HOUR = (iso(END - timedelta(hours=1)), iso(END))


def _measured(sdb: ServerDb, name: str, dimension: str | None = None) -> dict[str, Measure]:
    with sdb.connection():
        return {key: m for (_n, key), m in measure(sdb, BY_NAME[name], WH, [HOUR], dimension).items()}


def _owing(sdb: ServerDb, name: str) -> dict[str, int]:
    """Per carrier, the parcels a rate counts (its value × its volume)."""
    return {key: round((m.value or 0) * m.volume) for key, m in _measured(sdb, name, "carrier").items()}


def _picked_up_days_ago(sdb: ServerDb, carrier: str, limit: int) -> list[str]:
    """Parcels of `carrier` picked up 4 to 6 days before END and delivered before it."""
    with sdb.connection():
        rows = sdb.execute(
            'SELECT p."tracking_no" FROM "parcel" p WHERE p."warehouse" = ? AND p."carrier" = ? '
            'AND p."accepted_at" >= ? AND p."accepted_at" < ? AND EXISTS (SELECT 1 FROM "tracking_event" e '
            'WHERE e."tracking_no" = p."tracking_no" AND e."status" = ? AND e."time" < ?) '
            'ORDER BY p."tracking_no" LIMIT ?',
            (WH, carrier, iso(END - timedelta(days=6)), iso(END - timedelta(days=4)), "delivered", iso(END),
             limit)).fetchall()
    return [str(r[0]) for r in rows]


def test_parcels_the_carrier_has_gone_quiet_on_are_counted_by_carrier(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        sdb = open_database(url)
        migrate(sdb)
        seed_history(sdb, WH, 10, END, orders_per_hour=6, incidents=())
        stalled, out = _owing(sdb, "tracking_stalled_rate"), _owing(sdb, "out_for_delivery_48h_rate")
        owed = {key: m.volume for key, m in _measured(sdb, "tracking_stalled_rate", "carrier").items()}
        lost = _picked_up_days_ago(sdb, "YTO", 3)  # nothing after pickup: no news for days
        waiting = _picked_up_days_ago(sdb, "SF", 4)[-2:]  # out for delivery for days, never delivered
        assert len(lost) == 3 and len(waiting) == 2 and not set(lost) & set(waiting)
        with sdb.connection(), sdb.write():
            for tracking_no in lost:
                sdb.execute('DELETE FROM "tracking_event" WHERE "tracking_no" = ? AND "status" <> ?',
                            (tracking_no, "picked_up"))
            for tracking_no in waiting:
                sdb.execute('DELETE FROM "tracking_event" WHERE "tracking_no" = ? AND "status" = ?',
                            (tracking_no, "delivered"))
            refresh_tracking(sdb, lost + waiting)  # events removed behind the projection, as by hand
        # Each lost parcel is owed news and stalled; a parcel out for delivery since days ago is too, and
        # counted as such. Without their delivery, each is owed news: a parcel more of the volume.
        after = _measured(sdb, "tracking_stalled_rate", "carrier")
        assert (after["YTO"].volume - owed["YTO"], after["SF"].volume - owed["SF"]) == (3, 2)
        now = _owing(sdb, "tracking_stalled_rate")
        assert (now["YTO"] - stalled.get("YTO", 0), now["SF"] - stalled.get("SF", 0)) == (3, 2)
        assert now["ZTO"] == stalled["ZTO"] and after["ZTO"].volume == owed["ZTO"]
        late = _owing(sdb, "out_for_delivery_48h_rate")
        assert late["SF"] - out.get("SF", 0) == 2 and late.get("YTO", 0) == out.get("YTO", 0)
        # A parcel refused at the door is the carrier's answer: no longer owed news.
        with sdb.connection(), sdb.write():
            at = iso(END - timedelta(hours=30))
            sdb.execute('INSERT INTO "tracking_event" ("carrier", "tracking_no", "status", "carrier_status", "time", '
                        '"time_raw", "site", "courier", "context", "context_hash", "source", "push_id", "raw", '
                        '"received_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                        ("SF", waiting[0], "refused", "14", at, at, "", "", "拒签", "refused", "test", 0, "{}", at))
            refresh_tracking(sdb, [waiting[0]])
        assert _owing(sdb, "out_for_delivery_48h_rate")["SF"] - out.get("SF", 0) == 1
        # Paid → handed over spans paid → packed and packed → handed over.
        whole = {name: _measured(sdb, name)[""].value or 0.0
                 for name in ("paid_to_handed_over_p90", "paid_to_packed_p90", "handover_delay_p90")}
        assert whole["paid_to_packed_p90"] < whole["paid_to_handed_over_p90"] \
            < whole["paid_to_packed_p90"] + whole["handover_delay_p90"] + 0.01
        sdb.close()


def _as_of(sdb: ServerDb, end: datetime) -> dict[str, dict[str, tuple[int, int]]]:
    """Issue 14's meaning worked out from the tracking events alone, with those after `end` unseen: per
    carrier, (parcels owed news, those stalled 24 h, those owed since 48 h and out for delivery since)."""
    hi, day, old, week = (iso(end - timedelta(hours=h)) for h in (0, 24, 48, 24 * 7))
    with sdb.connection():
        parcels = sdb.execute('SELECT p."tracking_no", p."carrier" FROM "parcel" p JOIN "order" o '
                              'ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse" '
                              'WHERE p."warehouse" = ? AND p."voided_at" IS NULL', (WH,)).fetchall()
        events: dict[str, list[tuple[str, str]]] = {}
        for tracking_no, time, status in sdb.execute(
                'SELECT "tracking_no", "time", "status" FROM "tracking_event" WHERE "time" < ?', (hi,)):
            events.setdefault(str(tracking_no), []).append((str(time), str(status)))
    out: dict[str, dict[str, tuple[int, int]]] = {"stalled": {}, "out": {}}
    for tracking_no, carrier in parcels:
        seen = events.get(str(tracking_no), [])
        accepted = min((t for t, s in seen if s in CARRIER_ACCEPTED), default=None)
        if accepted is None or accepted < week or any(s in ENDED for _, s in seen):
            continue
        for name, since, owing in (
                ("stalled", day, not any(t >= day for t, _ in seen)),
                ("out", old, any(s == "out_for_delivery" and t < old for t, s in seen))):
            if accepted < since:
                owed, bad = out[name].get(str(carrier), (0, 0))
                out[name][str(carrier)] = (owed + 1, bad + owing)
    return out


def _read(sdb: ServerDb, end: datetime) -> dict[str, dict[str, tuple[int, int]]]:
    span = [(iso(end - timedelta(hours=1)), iso(end))]
    with sdb.connection():
        return {short: {key: (m.volume, round((m.value or 0) * m.volume))
                        for (_n, key), m in measure(sdb, BY_NAME[name], WH, span, "carrier").items()}
                for short, name in (("stalled", "tracking_stalled_rate"), ("out", "out_for_delivery_48h_rate"))}


def test_each_hour_reads_as_it_did_at_its_end_whatever_arrives_later(backend: str, tmp_path: Path) -> None:
    """Hours read with hindsight equal the events as of their end; carrier events arriving late and out
    of order (an older delivery, a trip out for delivery, a cancellation) move the parcel's kept times
    back, and the hours read the new history as of their end again."""
    with fresh_database(backend, tmp_path) as url:
        sdb = open_database(url)
        migrate(sdb)
        seed_history(sdb, WH, 10, END, orders_per_hour=6, incidents=())
        hours = [END - timedelta(hours=h) for h in range(0, 72, 7)]
        before = {end: _read(sdb, end) for end in hours}
        for end in hours:
            assert before[end] == _as_of(sdb, end), end
        with sdb.connection():
            owed = [str(r[0]) for r in sdb.execute(
                'SELECT "tracking_no" FROM "parcel" WHERE "warehouse" = ? AND "ended_at" > ? AND "accepted_at" < ? '
                'ORDER BY "tracking_no" LIMIT 9', (WH, iso(END - timedelta(hours=30)), iso(END - timedelta(hours=50))))]
        assert len(owed) == 9
        late = [(owed[k], status, -hours_back) for k, (status, hours_back) in enumerate(
            [("delivered", 40), ("refused", 36), ("cancelled", 45), ("out_for_delivery", 60),
             ("out_for_delivery", 55), ("returned", 33), ("in_transit", 26), ("in_transit", 20), ("delivered", 49)])]
        with sdb.connection(), sdb.write():
            for tracking_no, status, shift in late:
                at = iso(END + timedelta(hours=shift))
                sdb.execute('INSERT INTO "tracking_event" ("carrier", "tracking_no", "status", "carrier_status", '
                            '"time", "time_raw", "site", "courier", "context", "context_hash", "source", "push_id", '
                            '"raw", "received_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                            ("SF", tracking_no, status, "", at, at, "", "", status, f"late-{status}", "test", 0,
                             "{}", iso(END)))
            refresh_tracking(sdb, [t for t, _, _ in late])  # what ingest does with the push
        after = {end: _read(sdb, end) for end in hours}
        for end in hours:
            assert after[end] == _as_of(sdb, end), end
        sdb.close()
        assert sum(after[end] != before[end] for end in hours) >= 3  # the late events did change hours
