"""Where an anomaly's excess comes from, decided once and worded where it is read: the console in its
user's language, the report in its own, an alert in both (docs/i18n.md). One function, `explain_slices`,
serves the health page, the CLI, the alerts and through their kept words the reports.

The lead is the slice, over every dimension the indicator is sliced by, that holds the largest share of
the hour's excess — each slice against its own baseline, so a bench that always misreads more is not
blamed for today. For the indicators whose facts are orders (`server.health.orders`) the explanation
then narrows to a combination when the excess concentrates in it:
- a second dimension — another of the indicator's, or the SKU of the order's lines — whose one value
  holds at least `CONCENTRATED` of the lead slice's excess ("shop 拼多多 家居店, SKU HOME-MASK-02": a
  refund surge that is one mispriced listing), and
- a part of the hour: the shortest run of ten-minute buckets holding at least `CONCENTRATED` of it, if
  shorter than the hour ("BENCH-3 14:40–15:00": a scanner that failed at 14:40).
A narrower part is named only when its bad facts are too many for chance, given its usual share of the
lead slice's facts: under a binomial law with that share (the baseline hours' facts; the hour's own for
a part of the hour), no likelier than 2σ is (`evaluate.TAIL`). By chance alone four of five refunds
land on one carrier of three now and then; every refund of the hour on a listing that is a quarter of
the shop's orders does not. A fact of an order of several SKUs counts for each of them.

A fact's share of the excess: for a rate, a bad fact beyond the baseline's expectation (a refund where
1 % are expected counts 0.99); for a duration, its hours beyond the baseline p90. Counts (orders in,
parcels not collected) are explained by their slices alone: a part of them has no baseline to exceed.
Its hour is kept as UTC instants and written in the warehouse's zone when it is read (`local_hours`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.clock import iso, parse_iso
from app.i18n import N_, Phrase
from app.terms import Named
from server.db import ServerDb
from server.health.evaluate import TAIL, WEEKS, Reading, evaluate, windows
from server.health.indicators import DIMENSION_NAMES, Indicator, slice_words
from server.health.orders import Fact, facts

EXPLANATION = N_("{share} of the excess {indicator} comes from {dimension} {slice} ({hour})")
EXPLANATION_WITH = N_("{share} of the excess {indicator} comes from {dimension} {slice}, {dimension2} {slice2} "
                      "({hour})")
SKU = "sku"  # the SKUs of a fact's order's lines: a distribution and an explanation, not a stored slice
PART_NAMES = {**DIMENSION_NAMES, SKU: N_("SKU")}
BUCKET = timedelta(minutes=10)
BUCKETS = 6  # in the hour
CONCENTRATED = 0.8  # of the lead slice's excess, for a narrower part to be named


@dataclass(frozen=True)
class Explanation:
    dimension: str
    slice: str
    share: float  # of the hour's excess over the baseline, 0..1
    words: Phrase  # `local_hours(words, zone, named=True).plain()` is the record health_alert keeps
    also: tuple[str, str] | None = None  # a second dimension and its value the excess concentrates in
    span: tuple[datetime, datetime] | None = None  # the part of the hour it concentrates in, if not all of it


def part_named(dimension: str) -> Named:
    return Named(dimension, PART_NAMES.get(dimension, dimension))


def local_hours(words: Phrase, zone: ZoneInfo, *, named: bool = False) -> Phrase:
    """An explanation with its hour as clock hours in `zone` — the warehouse's (server.toml `timezone`),
    in which the health page's heading, its charts and the reports show hours: "14:00–15:00" (or the
    part of it, "14:40–15:00"), and with `named` "14:00–15:00 Asia/Shanghai" for a text read without
    that context (the English record, the CLI). Words kept before the hour was an instant hold it as
    text ("06:00–07:00 UTC"), which says its zone and is left as it is."""
    hour, until = words.fields.get("hour"), words.fields.get("until")
    try:
        start = parse_iso(hour) if isinstance(hour, str) else None
        # the end from the instant, not the local clock: an hour across a DST change still ends an hour later
        end = parse_iso(until) if isinstance(until, str) else (start + timedelta(hours=1) if start else None)
    except ValueError:
        start = end = None
    if start is None or end is None:
        return words
    shown = f"{start.astimezone(zone):%H:%M}–{end.astimezone(zone):%H:%M}"
    fields = {name: value for name, value in words.fields.items() if name != "until"}
    return Phrase(words.message, {**fields, "hour": f"{shown} {zone.key}" if named else shown})


def excess(reading: Reading) -> float:
    """How much worse than its baseline, in facts: extra errors, extra parcels late, extra hours."""
    if reading.value is None or reading.baseline is None:
        return 0.0
    gap = reading.value - reading.baseline
    if reading.indicator.worse == "lower":
        gap = -gap
    return gap if reading.indicator.kind == "count" else gap * reading.volume


def _slice_excess(reading: Reading) -> float:
    """A slice's excess; a slice with no usable history counts all of its facts beyond none."""
    if reading.baseline is None and reading.value is not None:
        base = 0.0 if reading.indicator.worse == "higher" else reading.value
        gap = reading.value - base
        return gap if reading.indicator.kind == "count" else gap * reading.volume
    return excess(reading)


def expected(reading: Reading) -> float:
    """What one fact of `reading`'s slice is expected to be: its baseline (none yet: no bad facts)."""
    if reading.baseline is not None:
        return reading.baseline
    return 0.0 if reading.indicator.worse == "higher" else 1.0


def fact_excess(indicator: Indicator, fact: Fact, expect: float) -> float:
    """A fact's part of the excess against `expect` (see the module's note); 0 for a count's."""
    if indicator.kind == "rate":
        if indicator.worse == "higher":
            return fact.value - expect * fact.total
        return (fact.total - fact.value) - (1 - expect) * fact.total
    if indicator.kind == "duration":
        return max(fact.value - expect, 0.0)
    return 0.0


def is_bad(indicator: Indicator, fact: Fact, expect: float) -> bool:
    """A fact that adds to the excess: a bad one of a rate, a duration beyond the baseline."""
    if indicator.kind == "duration":
        return fact.value > expect
    if indicator.kind == "rate":
        return fact.value > 0 if indicator.worse == "higher" else fact.value < fact.total
    return True


def parts_of(fact: Fact, dimension: str, hour: datetime) -> tuple[str, ...]:
    """The values of `dimension` a fact counts for: its SKUs, its ten minutes (the bucket's number
    0–5), or its slice."""
    if dimension == SKU:
        return fact.skus
    if dimension == "minutes":
        if fact.at is None or not hour <= fact.at < hour + BUCKETS * BUCKET:
            return ()
        return (str(int((fact.at - hour) / BUCKET)),)
    return (fact.slices.get(dimension, ""),)


@dataclass
class Cell:
    """A part of the hour's facts: how many, how many bad, and their excess."""
    facts: int = 0
    bad: int = 0
    excess: float = 0.0


def cells(indicator: Indicator, found: Iterable[Fact], dimension: str, hour: datetime,
          expect: float) -> dict[str, Cell]:
    """The facts by the values of `dimension` (`parts_of`), each value's count, bad ones and excess."""
    out: dict[str, Cell] = defaultdict(Cell)
    for fact in found:
        for part in parts_of(fact, dimension, hour):
            cell = out[part]
            cell.facts += 1
            cell.bad += is_bad(indicator, fact, expect)
            cell.excess += fact_excess(indicator, fact, expect)
    return dict(out)


def binomial_tail(seen: int, n: int, p: float) -> float:
    """The chance of `seen` or more of `n` under a binomial law of `p`."""
    if seen <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                                 + k * math.log(p) + (n - k) * math.log1p(-p)) for k in range(seen, n + 1)))


def hour_facts(sdb: ServerDb, warehouse: str, reading: Reading, weeks: int = WEEKS) -> list[Fact]:
    """The facts of `reading`'s hour (window 0) and, when it is flagged and to be narrowed (not a count), of
    the same hour of the `weeks` weeks before: a part's usual share (`_second`). The distributions need
    the hour only, and five windows of parcels held (tracking stalled: some 18,000 a window at 10^6
    orders) cost 2.4 s (bench/health_drill.py)."""
    spans = windows(reading.hour, weeks)
    narrowed = reading.flagged and reading.indicator.kind != "count"
    return facts(sdb, reading.indicator, warehouse, spans if narrowed else spans[:1])


def explain(sdb: ServerDb, warehouse: str, reading: Reading, weeks: int = WEEKS) -> Explanation | None:
    """`explain_slices` with the hour evaluated by every dimension the indicator has."""
    return explain_slices(reading, {
        dimension: evaluate(sdb, warehouse, reading.hour, weeks=weeks, dimension=dimension,
                            names=[reading.indicator.name]) for dimension in reading.indicator.slices},
        hour_facts(sdb, warehouse, reading, weeks))


def explain_slices(reading: Reading, slices: Mapping[str, Sequence[Reading]],
                   found: Sequence[Fact] = ()) -> Explanation | None:
    """The slice that holds the largest share of `reading`'s excess, given its hour by each dimension
    (evaluated or stored), narrowed by the hour's facts (`found`: window 0 the hour, the others its
    baseline hours; `server.health.orders.facts`) where the excess concentrates."""
    best: tuple[float, str, Reading] | None = None  # share, dimension, the slice's reading
    for dimension, parts in slices.items():
        excesses = [(_slice_excess(p), p) for p in parts]
        total = sum(e for e, _ in excesses if e > 0)
        if total <= 0:
            continue
        amount, top = max(excesses, key=lambda item: item[0])
        if best is None or amount / total > best[0]:
            best = (amount / total, dimension, top)
    if best is None:
        return None
    share, dimension, top = best
    hour, indicator = reading.hour, reading.indicator
    words = {"share": f"{share:.0%}", "indicator": indicator.named, "dimension": part_named(dimension),
             "slice": slice_words(top.slice, dimension), "hour": iso(hour)}
    if indicator.kind == "count" or not found:
        return Explanation(dimension, top.slice, share, Phrase(EXPLANATION, words))
    expect = expected(top)
    inside = [f for f in found if top.slice in parts_of(f, dimension, hour)]
    now = [f for f in inside if f.window == 0]
    own = sum(fact_excess(indicator, f, expect) for f in now)
    if own <= 0:
        return Explanation(dimension, top.slice, share, Phrase(EXPLANATION, words))
    also = _second(indicator, inside, dimension, hour, expect, own)
    if also is not None:
        second, value, held = also
        now = [f for f in now if value in parts_of(f, second, hour)]
        share, own = share * held / own, held
        words |= {"dimension2": part_named(second), "slice2": slice_words(value, second)}
    span = _span(indicator, now, hour, expect, own)
    if span is not None:
        first, last, held = span
        share = share * held / own
        words |= {"hour": iso(hour + first * BUCKET), "until": iso(hour + (last + 1) * BUCKET)}
    words["share"] = f"{share:.0%}"
    return Explanation(dimension, top.slice, share, Phrase(EXPLANATION_WITH if also else EXPLANATION, words),
                       (also[0], also[1]) if also else None,
                       (hour + span[0] * BUCKET, hour + (span[1] + 1) * BUCKET) if span else None)


def _second(indicator: Indicator, inside: Sequence[Fact], lead: str, hour: datetime, expect: float,
            own: float) -> tuple[str, str, float] | None:
    """The other dimension's value holding at least `CONCENTRATED` of the lead slice's excess (`own`)
    with more bad facts than its usual share of the slice's facts explains: (dimension, value, its
    excess), the largest such."""
    now = [f for f in inside if f.window == 0]
    before = [f for f in inside if f.window != 0]
    bad_now = sum(is_bad(indicator, f, expect) for f in now)
    found: list[tuple[float, str, str]] = []
    for dimension in [d for d in indicator.slices if d != lead] + [SKU]:
        usual = cells(indicator, before, dimension, hour, expect)
        for value, cell in cells(indicator, now, dimension, hour, expect).items():
            p = _usual_share(usual.get(value, Cell()).facts, len(before))
            if cell.excess >= CONCENTRATED * own and binomial_tail(cell.bad, bad_now, p) <= TAIL:
                found.append((cell.excess, dimension, value))
    if not found:
        return None
    held, dimension, value = max(found)
    return dimension, value, held


def _usual_share(facts: int, of: int) -> float:
    """A part's usual share of the facts, from the baseline hours': one more fact in and out of it, so
    a part never seen before is unlikely, not impossible."""
    return (facts + 1) / (of + 2)


def _span(indicator: Indicator, now: Sequence[Fact], hour: datetime, expect: float,
          own: float) -> tuple[int, int, float] | None:
    """The shortest run of ten-minute buckets, shorter than the hour, holding at least `CONCENTRATED` of
    `own` with more bad facts than its share of the facts explains: (first, last bucket, its excess)."""
    by_bucket = cells(indicator, now, "minutes", hour, expect)

    def column(a: int, b: int, of: Callable[[Cell], float]) -> float:
        return sum(of(by_bucket[str(k)]) for k in range(a, b + 1) if str(k) in by_bucket)

    facts, bad = len(now), sum(is_bad(indicator, f, expect) for f in now)
    for length in range(1, BUCKETS):
        runs = [(column(a, a + length - 1, lambda c: c.excess), a) for a in range(BUCKETS - length + 1)]
        held, first = max(runs)
        last = first + length - 1
        if held >= CONCENTRATED * own and binomial_tail(
                int(column(first, last, lambda c: c.bad)), bad,
                _usual_share(int(column(first, last, lambda c: c.facts)), facts)) <= TAIL:
            return first, last, held
    return None
