"""Outbox pushes: at most once, per-event answers, seq order and flags, projections (docs/architecture.md §10.2)."""

from __future__ import annotations

from server_harness import Running, Station

from protocol import API
from server.models import MetricHour, Order, Parcel, StationEvent


def _count(server: Running, model: type, *where: object) -> int:
    with server.services.sdb.connection():
        query = model.select()
        return int(query.where(*where).count() if where else query.count())


def _results(reply: object) -> list[tuple[str, str | None]]:
    body = reply.json()  # type: ignore[attr-defined]
    return [(r["status"], r["reason"]) for r in body["results"]]


def test_a_batch_replayed_three_times_gets_the_same_answers_and_is_stored_once(server: Running,
                                                                                  station: Station) -> None:
    events = [station.event("scan", {"outcome": "item_ok", "code": f"690{i}"}) for i in range(5)]
    events.append(station.event("teleport", {"to": "moon"}))
    first = station.push(*events)
    assert first.status_code == 200
    assert _results(first) == [("accepted", None)] * 5 + [("rejected", "unknown kind 'teleport'")]
    replays = [_results(station.push(*events)) for _ in range(3)]
    assert replays[0] == replays[1] == replays[2] == [("known", None)] * 5 + [("rejected", "unknown kind 'teleport'")]
    assert _count(server, StationEvent) == 6
    with server.services.sdb.connection():
        assert MetricHour.get().scans == 5  # applied once


def test_the_same_id_with_a_different_body_is_refused(server: Running, station: Station) -> None:
    event = station.event("scan", {"outcome": "item_ok"})
    assert _results(station.push(event)) == [("accepted", None)]
    changed = {**event, "payload": {"outcome": "wrong_item"}}
    assert _results(station.push(changed)) == [("rejected", "id reused with a different body")]
    assert _results(station.push(event)) == [("known", None)]
    with server.services.sdb.connection():
        assert StationEvent.get().payload == '{"outcome":"item_ok"}'
        assert MetricHour.get().errors == 0


def test_a_bad_event_is_rejected_with_a_reason_while_the_rest_apply(server: Running, station: Station) -> None:
    good = station.event("scan", {"outcome": "wrong_item"})
    no_tracking = station.event("shipment.created", {"order_id": "O-1", "carrier": "SF"})
    malformed = {**station.event("scan", {"outcome": "item_ok"}), "at": "yesterday"}
    after = station.event("scan", {"outcome": "item_ok"})
    answers = _results(station.push(good, no_tracking, malformed, after))
    assert answers[0] == ("accepted", None) and answers[3] == ("accepted", None)
    assert answers[1] == ("rejected", "bad payload for shipment.created: tracking_no: Field required")
    assert answers[2][0] == "rejected" and answers[2][1].startswith("invalid event: at:")
    assert _count(server, StationEvent, StationEvent.status == "rejected") == 2  # kept, never dropped
    with server.services.sdb.connection():
        metric = MetricHour.get()
    assert (metric.scans, metric.errors) == (2, 1)


def test_an_envelope_without_ids_is_422(station: Station) -> None:
    reply = station.push({"kind": "scan"})
    assert reply.status_code == 422 and "no valid id" in reply.json()["detail"]
    too_many = station.push(*[station.event("scan", {"outcome": "item_ok"}) for _ in range(501)])
    assert too_many.status_code == 422


def test_events_apply_in_seq_order_and_gaps_are_flagged(server: Running, station: Station) -> None:
    created = station.event("shipment.created", {"order_id": "O-7", "tracking_no": "SF1234567890123", "carrier": "SF"},
                            seq=1)
    voided = station.event("shipment.voided", {"tracking_no": "SF1234567890123"}, seq=2, at="2026-11-25T03:00:00Z")
    assert _results(station.push(voided, created)) == [("accepted", None), ("accepted", None)]  # sorted by seq
    with server.services.sdb.connection():
        assert Parcel.get().voided_at == "2026-11-25T03:00:00.000Z"
    late = station.event("scan", {"outcome": "item_ok"}, seq=5)
    assert _results(station.push(late)) == [("accepted", "gap: seq 3–4 never arrived")]
    back = station.event("scan", {"outcome": "item_ok"}, seq=2)
    status, note = _results(station.push(back))[0]
    assert status == "accepted" and note is not None and "went back from 5 to 2" in note
    assert _count(server, StationEvent, StationEvent.note.is_null(False)) == 2


def test_shipment_and_handover_move_the_order_and_parcel(server: Running, station: Station) -> None:
    with server.services.sdb.connection():
        Order.create(order_id="O-1", warehouse="WH1", day="2026-11-25", status="paid", updated_at="x", pos=0)
    station.push(station.event("shipment.created", {"order_id": "O-1", "tracking_no": "SF1234567890123",
                                                     "carrier": "SF"}),
                 station.event("passport.minted", {"passport_id": "P1", "tracking_no": "SF1234567890123"}),
                 station.event("handover.closed", {"batch_id": "HO-1", "tracking_nos": ["SF1234567890123"]},
                               at="2026-11-25T05:00:00Z"))
    with server.services.sdb.connection():
        order, parcel = Order.get(), Parcel.get()
    assert order.status == "shipped" and order.pos > 0
    assert (parcel.passport_id, parcel.handover_batch, parcel.handed_over_at) == ("P1", "HO-1",
                                                                                  "2026-11-25T05:00:00.000Z")


def test_a_tracking_number_on_another_orders_live_parcel_is_rejected(server: Running, station: Station) -> None:
    station.push(station.event("shipment.created", {"order_id": "O-1", "tracking_no": "SF1234567890123",
                                                     "carrier": "SF"}))
    other = server.enroll("WH1", "BENCH-2")
    answer = _results(other.push(other.event("shipment.created", {"order_id": "O-2", "tracking_no": "SF1234567890123",
                                                                 "carrier": "SF"})))
    assert answer == [("rejected", "tracking number SF1234567890123 is already on a live parcel of order O-1")]


def test_writing_another_warehouses_order_is_rejected(server: Running, station: Station) -> None:
    with server.services.sdb.connection():
        Order.create(order_id="O-9", warehouse="WH2", day="2026-11-25", status="paid", updated_at="x", pos=0)
    event = station.event("shipment.created", {"order_id": "O-9", "tracking_no": "JT1234567890123", "carrier": "JT"})
    answer = _results(station.push(event))
    assert answer == [("rejected", "order O-9 belongs to warehouse WH2, not WH1")]
    assert _count(server, Parcel) == 0


def test_metrics_count_per_station_and_hour(server: Running, station: Station) -> None:
    station.push(station.event("scan", {"outcome": "item_ok"}, at="2026-11-25T02:10:00Z"),
                 station.event("scan", {"outcome": "unknown_code"}, at="2026-11-25T02:20:00Z"),
                 station.event("shipment.created", {"order_id": "O-1", "tracking_no": "SF1234567890123",
                                                     "carrier": "SF"}, at="2026-11-25T02:30:00Z"),
                 station.event("print.queued", {"job": 1, "reprint_no": 0}, at="2026-11-25T02:31:00Z"),
                 station.event("print.queued", {"job": 2, "reprint_no": 2}, at="2026-11-25T03:01:00Z"))
    reply = station.get(f"{API}/metrics", since="2026-11-25T00:00:00Z", until="2026-11-25T06:00:00Z")
    assert reply.status_code == 200
    rows = [(r["hour"], r["scans"], r["errors"], r["shipments"], r["reprints"]) for r in reply.json()["rows"]]
    assert rows == [("2026-11-25T02:00:00Z", 2, 1, 1, 0), ("2026-11-25T03:00:00Z", 0, 0, 0, 1)]


def test_values_the_database_cannot_hold_are_rejected_not_500(station: Station) -> None:
    too_early = {**station.event("scan", {"outcome": "item_ok"}), "at": "0001-01-01T00:00:00+08:00"}
    huge_seq = station.event("scan", {"outcome": "item_ok"}, seq=2**63)
    nul = station.event("scan\x00", {"outcome": "item_ok\x00"})
    answers = _results(station.push(too_early, huge_seq, nul))
    assert answers == [("rejected", "invalid event: at: out of range"),
                       ("rejected", "invalid event: seq: at most 4611686018427387904"),
                       ("rejected", "invalid event: contains a NUL character")]
