"""SLA analysis of one parcel (docs/architecture.md §9.2): what was promised, what happened, whose delay it was.

Pure: takes times, returns a verdict; no store, no clock (the caller passes `now`).

Two promises, one per party, each measured from the moment that party had the parcel:

* **warehouse** — paid → handed over to the carrier. Due at `order.ship_by` when the platform set
  one, else `paid_at + SlaPolicy.handover_hours` (48 h by default).
* **carrier** — handed over → delivered. Due `SlaPolicy.delivery_hours` (72 h by default) after the
  actual handover, so a late warehouse never counts against the carrier. When no handover was scanned
  the carrier's first pickup scan stands in for it (and the verdict says so).

The verdict names the late party and by how many hours (one decimal, rounded; under 0.05 h is on
time), as a catalog phrase worded in whichever language shows it: "warehouse late by 6.5 h", "carrier
late by 20.0 h", "on time", "not delivered yet — carrier 30.0 h past promise", "dispute: delivered per
carrier but …".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.i18n import N_, Phrase

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
    dispute_note: Phrase | None = None  # an open case saying the delivery is disputed

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
    phrase: Phrase  # what the verdict says, in words
    handover_due: datetime | None
    delivery_due: datetime | None
    warehouse_late_h: float | None  # None: not yet decidable
    carrier_late_h: float | None
    carrier_clock_from: str  # "handover" | "pickup" | "": what started the carrier's promise

    @property
    def late(self) -> bool:
        return self.party is not None

    def text(self, lang: str) -> str:
        return self.phrase.text(lang)


def hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _h(value: float) -> str:
    return f"{value:.1f}"


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

    def verdict(code: str, party: str | None, phrase: Phrase, wh: float | None, ca: float | None) -> SlaVerdict:
        return SlaVerdict(code, party, phrase, handover_due, delivery_due, wh, ca, clock_from if start else "")

    warehouse = _late(start, handover_due) if start and handover_due else None
    carrier = _late(delivered, delivery_due) if delivered and delivery_due else None

    dispute = _dispute(facts, start)
    if dispute is not None:
        return verdict("dispute", None, Phrase(N_("dispute: delivered per carrier but {reason}"), {"reason": dispute}),
                       warehouse, carrier)
    if handover_due is None:
        return verdict("no_promise", None,
                       Phrase(N_("cannot judge: the order has neither a paid time nor a ship-by time")), None, carrier)
    if start is None:
        overdue = hours(now - handover_due)
        if overdue > 0:
            return verdict("awaiting_handover", "warehouse",
                           Phrase(N_("not handed over yet — warehouse {hours} h past promise"), {"hours": _h(overdue)}),
                           overdue, None)
        return verdict("awaiting_handover", None,
                       Phrase(N_("not handed over yet — {hours} h left before the promise"), {"hours": _h(-overdue)}),
                       None, None)
    assert warehouse is not None and delivery_due is not None
    warehouse_late = Phrase(N_("warehouse late by {hours} h"), {"hours": _h(warehouse)})
    if delivered is None:
        overdue = hours(now - delivery_due)
        if overdue > 0:
            phrase = Phrase(N_("not delivered yet — carrier {hours} h past promise"), {"hours": _h(overdue)})
            party: str | None = "both" if warehouse else "carrier"
        else:
            phrase = Phrase(N_("in transit — {hours} h left before the delivery promise"), {"hours": _h(-overdue)})
            party = "warehouse" if warehouse else None
        if warehouse:
            phrase = Phrase(N_("{first}; {second}"), {"first": phrase, "second": warehouse_late})
        return verdict("in_transit", party, phrase, warehouse, overdue if overdue > 0 else None)
    assert carrier is not None
    if warehouse and carrier:
        both = Phrase(N_("warehouse late by {warehouse} h and carrier late by {carrier} h"),
                      {"warehouse": _h(warehouse), "carrier": _h(carrier)})
        return verdict("both_late", "both", both, warehouse, carrier)
    if warehouse:
        return verdict("warehouse_late", "warehouse", warehouse_late, warehouse, carrier)
    if carrier:
        return verdict("carrier_late", "carrier", Phrase(N_("carrier late by {hours} h"), {"hours": _h(carrier)}),
                       warehouse, carrier)
    return verdict("on_time", None, Phrase(N_("on time")), warehouse, carrier)


# A parcel state after a delivery that contradicts it, as the dispute reason names it.
_TROUBLE_WORDS = {"returned": N_("returned"), "returning": N_("returning"), "refused": N_("refused"),
                  "exception": N_("an exception")}


def _dispute(facts: SlaFacts, start: datetime | None) -> Phrase | None:
    """Why a carrier's "delivered" cannot be taken at its word, or None."""
    delivered = facts.delivered_at
    if delivered is None:
        return None
    if facts.dispute_note is not None:
        return facts.dispute_note
    if start is None:
        return Phrase(N_("no handover to the carrier and no pickup scan is recorded"))
    if delivered < start:
        return Phrase(N_("the delivery is dated {hours} h before the parcel was handed over"),
                      {"hours": _h(hours(start - delivered))})
    if facts.packed_at is not None and delivered < facts.packed_at:
        return Phrase(N_("the delivery is dated before the parcel was packed"))
    later = [(t, s) for s, t in facts.tracking if t > delivered and s in AFTER_DELIVERY_TROUBLE]
    if later:
        t, s = min(later)
        return Phrase(N_("a later event says {event} ({hours} h after the delivery)"),
                      {"event": Phrase(_TROUBLE_WORDS[s]), "hours": _h(hours(t - delivered))})
    return None
