"""Small builders the tests share."""

from __future__ import annotations

from app.clock import FakeClock
from app.devices import Scan, WeightReading
from app.pack.flow import PackFlow
from app.pack.outcomes import Outcome


def scan(flow: PackFlow, text: str, source: str = "test") -> Outcome:
    clock = flow.clock
    assert isinstance(clock, FakeClock)
    clock.advance(1)
    return flow.scan(Scan(text.encode(), source, clock.now()))


def weigh(flow: PackFlow, grams: int) -> Outcome | None:
    clock = flow.clock
    assert isinstance(clock, FakeClock)
    clock.advance(1)
    return flow.weight(WeightReading(grams, True, clock.now()))
