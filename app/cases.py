"""Exception cases: opened by rules and built-in checks, worked by supervisors (design §9).

Opening is idempotent per `dedupe_key`: while a case about the same thing is open or acknowledged,
running the same check again changes nothing. Every change is audited and goes to the outbox.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from app.audit import record_fact
from app.clock import Clock, iso
from app.store import Store
from app.store.models import ExceptionCase, Order, Shipment

NOT_HANDED_OVER = "not_handed_over"
SEVERITIES = ("info", "warning", "critical")


class CaseError(ValueError):
    pass


def open_case(store: Store, clock: Clock, *, dedupe_key: str, tag: str, rule_id: str, severity: str, route: str,
              title: str, sop: str = "", order: Order | None = None, shipment: Shipment | None = None,
              detail: dict[str, Any] | None = None, actor: str = "system") -> ExceptionCase | None:
    """Open a case unless one with the same key is still live; returns the new case or None."""
    if severity not in SEVERITIES:
        raise CaseError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    now = clock.now()
    with store.atomic():
        live = ExceptionCase.select(ExceptionCase.id).where(
            (ExceptionCase.dedupe_key == dedupe_key) & (ExceptionCase.state != "resolved")).exists()
        if live:
            return None
        case = ExceptionCase.create(
            dedupe_key=dedupe_key, tag=tag, rule_id=rule_id, severity=severity, route=route, order=order,
            shipment=shipment, title=title, sop=sop, detail=json.dumps(detail or {}, ensure_ascii=False),
            opened_at=iso(now), updated_at=iso(now),
        )
        record_fact("exception.opened", actor, now, {
            "case": case.id, "key": dedupe_key, "tag": tag, "rule_id": rule_id, "severity": severity,
            "route": route, "order_id": order.order_id if order else None,
            "tracking_no": shipment.tracking_no if shipment else None,
        })
    return case  # type: ignore[no-any-return]


def transition(store: Store, clock: Clock, case_id: int, state: str, actor: str, note: str = "") -> ExceptionCase:
    """open → acknowledged → resolved (a resolve needs a note: it is what the next person reads)."""
    allowed = {"acknowledged": ("open",), "resolved": ("open", "acknowledged")}
    if state not in allowed:
        raise CaseError(f"unknown case state {state!r}")
    if state == "resolved" and not note.strip():
        raise CaseError("resolving a case needs a note")
    now = clock.now()
    with store.atomic():
        case = ExceptionCase.get_or_none(ExceptionCase.id == case_id)
        if case is None:
            raise CaseError(f"no case {case_id}")
        if case.state not in allowed[state]:
            raise CaseError(f"case {case_id} is {case.state}; cannot make it {state}")
        case.state = state
        case.updated_at = iso(now)
        if state == "acknowledged":
            case.acked_by, case.acked_at = actor, iso(now)
        else:
            case.resolved_by, case.resolved_at = actor, iso(now)
        case.note = note.strip() or case.note
        case.save()
        record_fact(f"exception.{state}", actor, now, {"case": case_id, "note": case.note, "tag": case.tag})
    return case  # type: ignore[no-any-return]


OVERDUE_LOOKBACK = timedelta(days=14)  # older parcels were raised by earlier rounds (or long since found)


def open_overdue_handover_cases(store: Store, clock: Clock, station: str, max_age: timedelta,
                                lookback: timedelta = OVERDUE_LOOKBACK) -> int:
    """Every parcel packed longer than `max_age` ago (within `lookback`) and never handed over becomes
    a case, once: parcels whose case is still live are skipped before any write."""
    from app.handover import HandoverService

    prefix = f"{NOT_HANDED_OVER}:"
    live = {key for (key,) in ExceptionCase.select(ExceptionCase.dedupe_key).where(
        ExceptionCase.dedupe_key.startswith(prefix) & (ExceptionCase.state != "resolved")).tuples()}
    opened = 0
    for parcel in HandoverService(store, clock, station, "system").overdue_parcels(max_age, lookback=lookback):
        if prefix + parcel.tracking_no in live:
            continue
        shipment = Shipment.get(Shipment.tracking_no == parcel.tracking_no)
        case = open_case(
            store, clock, dedupe_key=f"{NOT_HANDED_OVER}:{parcel.tracking_no}", tag=NOT_HANDED_OVER,
            rule_id="builtin.handover_overdue", severity="warning", route="supervisor",
            title=f"{parcel.tracking_no} packed {parcel.age_hours:.0f} h ago, never handed over",
            sop="Find the parcel (shelf, bench, cage). Hand it over in the next batch, or void the label "
                "and re-pack if it is lost. 找到包裹并在下一批交接；如丢失，作废面单后重新打包。",
            order=shipment.order, shipment=shipment,
            detail={"packed_at": parcel.packed_at, "age_hours": round(parcel.age_hours, 1),
                    "carrier": parcel.carrier, "open_batch": parcel.open_batch},
        )
        opened += case is not None
    return opened
