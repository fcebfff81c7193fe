"""SLA analysis of one parcel (docs/architecture.md §9.2): what was promised, what happened, whose delay it was.

Pure: takes times, returns a verdict; no store, no clock (the caller passes `now`).

Two promises, one per party, each measured from the moment that party had the parcel:

* **warehouse** — paid → handed over to the carrier. Due at `order.ship_by` when the platform set
  one, else `paid_at + SlaPolicy.handover_hours` (48 h by default).
* **carrier** — handed over → delivered. Due `SlaPolicy.delivery_hours` (72 h by default) after the
  actual handover, so a late warehouse never counts against the carrier. When no handover was scanned
  the carrier's first pickup scan stands in for it (and the verdict says so).

The verdict names the late party and by how many hours (one decimal, rounded; under 0.05 h is on
time), in Chinese and English: "warehouse late by 6.5 h", "carrier late by 20.0 h", "on time",
"not delivered yet — carrier 30.0 h past promise", "dispute: delivered per carrier but …".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# The carrier has the parcel and it is on its way ("ordered"/"awaiting_pickup" are not a pickup).
PICKUP_STATUSES = frozenset({"picked_up", "in_transit", "customs", "forwarded"})
AFTER_DELIVERY_TROUBLE = frozenset({"returned", "returning", "refused", "exception"})


@dataclass(frozen=True)
class SlaPolicy:
    """The promises, in hours. `handover_hours` applies only to orders without a platform ship-by."""

    handover_hours: float = 48.0
    delivery_hours: float = 72.0


@dataclass(frozen=True)
class SlaFacts:
    """The times that matter (aware datetimes, None when it has not happened or is unknown)."""

    paid_at: datetime | None
    ship_by: datetime | None
    packed_at: datetime | None
    handed_over_at: datetime | None
    tracking: tuple[tuple[str, datetime], ...] = ()  # (normalised status, time) of the live parcel
    dispute_note: tuple[str, str] | None = None  # (en, zh): an open case saying the delivery is disputed

    @property
    def picked_up_at(self) -> datetime | None:
        return min((t for s, t in self.tracking if s in PICKUP_STATUSES), default=None)

    @property
    def delivered_at(self) -> datetime | None:
        return min((t for s, t in self.tracking if s == "delivered"), default=None)


@dataclass(frozen=True)
class SlaVerdict:
    code: str  # on_time | warehouse_late | carrier_late | both_late | awaiting_handover | in_transit | dispute | ...
    party: str | None  # warehouse | carrier | both | None
    en: str
    zh: str
    handover_due: datetime | None
    delivery_due: datetime | None
    warehouse_late_h: float | None  # None: not yet decidable
    carrier_late_h: float | None
    carrier_clock_from: str  # "handover" | "pickup" | "": what started the carrier's promise

    @property
    def late(self) -> bool:
        return self.party is not None


def hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _late(actual: datetime, due: datetime) -> float:
    """Hours late (0.0 when on time or less than 0.05 h late)."""
    return max(hours(actual - due), 0.0)


def analyse(facts: SlaFacts, now: datetime, policy: SlaPolicy | None = None) -> SlaVerdict:
    policy = policy or SlaPolicy()
    if facts.ship_by is not None:
        handover_due: datetime | None = facts.ship_by
    elif facts.paid_at is not None:
        handover_due = facts.paid_at + timedelta(hours=policy.handover_hours)
    else:
        handover_due = None
    start, clock_from = facts.handed_over_at, "handover"
    if start is None and facts.picked_up_at is not None:
        start, clock_from = facts.picked_up_at, "pickup"
    delivery_due = start + timedelta(hours=policy.delivery_hours) if start else None
    delivered = facts.delivered_at

    def verdict(code: str, party: str | None, en: str, zh: str, wh: float | None, ca: float | None) -> SlaVerdict:
        return SlaVerdict(code, party, en, zh, handover_due, delivery_due, wh, ca, clock_from if start else "")

    warehouse = _late(start, handover_due) if start and handover_due else None
    carrier = _late(delivered, delivery_due) if delivered and delivery_due else None

    dispute = _dispute(facts, start)
    if dispute is not None:
        return verdict("dispute", None, f"dispute: delivered per carrier but {dispute[0]}",
                       f"争议：快递显示已签收，但{dispute[1]}", warehouse, carrier)
    if handover_due is None:
        return verdict("no_promise", None, "cannot judge: the order has neither a paid time nor a ship-by time",
                       "无法判断：订单没有付款时间，也没有最晚发货时间", None, carrier)
    if start is None:
        overdue = hours(now - handover_due)
        if overdue > 0:
            return verdict("awaiting_handover", "warehouse",
                           f"not handed over yet — warehouse {overdue:.1f} h past promise",
                           f"尚未交接快递——仓库已超出承诺 {overdue:.1f} 小时", overdue, None)
        return verdict("awaiting_handover", None, f"not handed over yet — {-overdue:.1f} h left before the promise",
                       f"尚未交接快递——距承诺时间还有 {-overdue:.1f} 小时", None, None)
    assert warehouse is not None and delivery_due is not None
    wh_en = f"warehouse late by {warehouse:.1f} h" if warehouse else ""
    wh_zh = f"仓库超时 {warehouse:.1f} 小时" if warehouse else ""
    if delivered is None:
        overdue = hours(now - delivery_due)
        if overdue > 0:
            en = f"not delivered yet — carrier {overdue:.1f} h past promise"
            zh = f"尚未签收——快递已超出承诺 {overdue:.1f} 小时"
            party: str | None = "both" if warehouse else "carrier"
        else:
            en, zh = (f"in transit — {-overdue:.1f} h left before the delivery promise",
                      f"运输中——距送达承诺还有 {-overdue:.1f} 小时")
            party = "warehouse" if warehouse else None
        if warehouse:
            en, zh = f"{en}; {wh_en}", f"{zh}；{wh_zh}"
        return verdict("in_transit", party, en, zh, warehouse, overdue if overdue > 0 else None)
    assert carrier is not None
    if warehouse and carrier:
        return verdict("both_late", "both", f"{wh_en} and carrier late by {carrier:.1f} h",
                       f"{wh_zh}，快递超时 {carrier:.1f} 小时", warehouse, carrier)
    if warehouse:
        return verdict("warehouse_late", "warehouse", wh_en, wh_zh, warehouse, carrier)
    if carrier:
        return verdict("carrier_late", "carrier", f"carrier late by {carrier:.1f} h", f"快递超时 {carrier:.1f} 小时",
                       warehouse, carrier)
    return verdict("on_time", None, "on time", "按时", warehouse, carrier)


def _dispute(facts: SlaFacts, start: datetime | None) -> tuple[str, str] | None:
    """Why a carrier's "delivered" cannot be taken at its word, or None."""
    delivered = facts.delivered_at
    if delivered is None:
        return None
    if facts.dispute_note is not None:
        return facts.dispute_note
    if start is None:
        return ("no handover to the carrier and no pickup scan is recorded",
                "没有交接记录，也没有揽收记录")
    if delivered < start:
        return (f"the delivery is dated {hours(start - delivered):.1f} h before the parcel was handed over",
                f"签收时间早于交接时间 {hours(start - delivered):.1f} 小时")
    if facts.packed_at is not None and delivered < facts.packed_at:
        return ("the delivery is dated before the parcel was packed", "签收时间早于打包时间")
    later = [(t, s) for s, t in facts.tracking if t > delivered and s in AFTER_DELIVERY_TROUBLE]
    if later:
        t, s = min(later)
        words = {"returned": ("returned", "退回"), "returning": ("returning", "退回"), "refused": ("refused", "拒签"),
                 "exception": ("an exception", "异常")}[s]
        return (f"a later event says {words[0]} ({hours(t - delivered):.1f} h after the delivery)",
                f"签收后 {hours(t - delivered):.1f} 小时又出现{words[1]}记录")
    return None
