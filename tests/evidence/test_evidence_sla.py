"""SLA analysis: promises, whose delay it was and by how many hours, disputes — pure, no store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.evidence.sla import SlaFacts, SlaPolicy, analyse
from app.i18n import Phrase

PAID = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
DUE = PAID + timedelta(hours=48)


def h(hours: float) -> datetime:
    return DUE + timedelta(hours=hours)


def facts(handed: float | None, delivered: float | None = None, *, ship_by: datetime | None = DUE,
          extra: tuple[tuple[str, datetime], ...] = (), pickup: float | None = None,
          dispute: Phrase | None = None) -> SlaFacts:
    trail: list[tuple[str, datetime]] = []
    if pickup is not None or handed is not None:
        trail.append(("picked_up", h(pickup if pickup is not None else (handed or 0) + 0.5)))
    if delivered is not None:
        trail.append(("delivered", h(delivered)))
    return SlaFacts(PAID, ship_by, PAID + timedelta(hours=2), h(handed) if handed is not None else None,
                    tuple(trail) + extra, dispute)


NOW = h(500)


def test_on_time() -> None:
    v = analyse(facts(-10, 40), NOW)
    assert (v.code, v.party, v.text("en"), v.text("zh_CN")) == ("on_time", None, "on time", "按时")
    assert v.warehouse_late_h == 0 and v.carrier_late_h == 0


def test_warehouse_late_by_hours() -> None:
    v = analyse(facts(6.5, 40), NOW)
    assert (v.code, v.party) == ("warehouse_late", "warehouse")
    assert (v.text("en"), v.text("zh_CN")) == ("warehouse late by 6.5 h", "仓库超时 6.5 小时")


def test_the_carrier_clock_starts_at_the_handover_not_at_the_warehouse_promise() -> None:
    # handed over 10 h late, delivered 72 h + 20 h after the handover: both late, each by its own share
    v = analyse(facts(10, 10 + 72 + 20), NOW)
    assert v.code == "both_late" and v.text("en") == "warehouse late by 10.0 h and carrier late by 20.0 h"
    assert v.text("zh_CN") == "仓库超时 10.0 小时，快递超时 20.0 小时"
    v = analyse(facts(-5, -5 + 92), NOW)
    assert (v.code, v.text("en"), v.carrier_late_h) == ("carrier_late", "carrier late by 20.0 h", 20.0)


def test_not_delivered_yet() -> None:
    v = analyse(facts(0, None), h(72 + 30))
    assert v.code == "in_transit" and v.party == "carrier"
    assert v.text("en") == "not delivered yet — carrier 30.0 h past promise"
    assert "快递已超出承诺 30.0 小时" in v.text("zh_CN")
    v = analyse(facts(0, None), h(10))
    assert v.party is None and v.text("en") == "in transit — 62.0 h left before the delivery promise"


def test_not_handed_over_yet() -> None:
    v = analyse(facts(None), h(3.25))
    assert (v.code, v.party) == ("awaiting_handover", "warehouse")
    assert v.text("en") == "not handed over yet — warehouse 3.2 h past promise"
    assert analyse(facts(None), h(-4)).party is None


def test_without_ship_by_the_promise_is_paid_plus_the_policy() -> None:
    v = analyse(facts(6.5, 40, ship_by=None), NOW)
    assert v.handover_due == PAID + timedelta(hours=48) and v.text("en") == "warehouse late by 6.5 h"
    v = analyse(facts(6.5, 40, ship_by=None), NOW, SlaPolicy(handover_hours=24, delivery_hours=24))
    assert v.text("en") == "warehouse late by 30.5 h and carrier late by 9.5 h"


def test_a_pickup_stands_in_for_a_missing_handover_scan() -> None:
    v = analyse(facts(None, 30, pickup=2), NOW)
    assert v.carrier_clock_from == "pickup" and v.text("en") == "warehouse late by 2.0 h"


def test_disputes() -> None:
    early = analyse(facts(10, 5), NOW)
    assert early.code == "dispute" and early.party is None
    assert early.text("en") == ("dispute: delivered per carrier but the delivery is dated 5.0 h before the parcel was "
                        "handed over")
    assert early.text("zh_CN").startswith("争议：快递显示已签收，但")
    returned = analyse(facts(0, 30, extra=(("returned", h(50)),)), NOW)
    assert returned.text("en") == ("dispute: delivered per carrier but a later event says returned (20.0 h after the "
                                   "delivery)")
    note = Phrase("case #{case} is open: {title}", {"case": 4, "title": "buyer says not received"})
    case = analyse(facts(0, 30, dispute=note), NOW)
    assert case.text("en") == "dispute: delivered per carrier but case #4 is open: buyer says not received"
    assert case.text("zh_CN") == "争议：快递显示已签收，但异常单 #4 未结：buyer says not received"
    assert returned.text("zh_CN") == "争议：快递显示已签收，但签收后 20.0 小时又出现退回记录"  # nested phrases
    ghost = SlaFacts(PAID, DUE, None, None, (("delivered", h(5)),))
    assert analyse(ghost, NOW).text("en").endswith("no handover to the carrier and no pickup scan is recorded")


def test_no_promise_without_paid_or_ship_by() -> None:
    v = analyse(SlaFacts(None, None, None, None), NOW)
    assert v.code == "no_promise" and v.party is None


@given(st.floats(-100, 100), st.floats(0, 200))
def test_lateness_is_never_negative_and_matches_the_words(handed: float, transit: float) -> None:
    v = analyse(facts(handed, handed + transit), NOW)
    assert v.warehouse_late_h is not None and v.carrier_late_h is not None
    assert v.warehouse_late_h >= 0 and v.carrier_late_h >= 0
    assert (v.party in ("warehouse", "both")) == (v.warehouse_late_h > 0)
    assert (v.party in ("carrier", "both")) == (v.carrier_late_h > 0)
    if v.party:
        assert "late by" in v.text("en") and "超时" in v.text("zh_CN")
