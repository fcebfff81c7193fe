"""Each indicator for one hour against its baseline: the same hour of the week over the previous weeks.

Baseline and spread are robust, so one bad week in the history does not hide the next one: the
baseline is the median of the previous `weeks` values (default 4) and σ is 1.4826 × their median
absolute deviation (the MAD-based estimate of a normal σ). Rates and durations also take the hours
either side of that hour in each week (12 points instead of 4: they do not follow the daily rhythm
the way counts do) — but for the parcels held at the hour's end over a week (tracking stalled, out
for delivery over 48 h), which the hours either side share almost all of. A rate's baseline is its
bad facts over its facts pooled over those hours, each hour's bad facts held within 3σ of the rate's
expectation (`pooled_rate`, Huber's winsorised mean), and a count's the mean of its hours held so:
the median of hourly rates or counts is biased low where an hour holds a few facts — the demo's scan
error rate had a baseline of 0.9 % for 1.08 % measured, 0.6 % by station — and σ and the Poisson
expectation drawn from it with it. Few points,
and a flat history has a MAD of 0, so σ never drops below the noise the hour's own volume implies:
√max(p(1−p)n, 1)/n for a rate (binomial, at least one fact), √max(baseline, 1) for a count
(Poisson), 20 % of the baseline (at least 15 min) for a p90 duration. The baseline is itself a median
of k noisy points (its variance about π/2 · σ²/k), so σ is widened by √(1 + π/2k): ×1.18 for 4
points, ×1.06 for 12 — without it a quiet hour's ordinary dip below a median that happened to be
high was flagged (docs/architecture.md §11.5).
A value is flagged when it lies more than 2σ from the baseline in the indicator's bad direction, its
hour had at least `min_volume` facts, at least two baseline hours did too, and the effect is material
(`MATERIAL`): a rate's or count's bad facts at least half again as many as the baseline expects and 3
more — one extra reprint in a quiet hour is not an anomaly, nor is a stock rate (tracking stalled)
25 % above its usual level or orders in 30 % short — and, under a Poisson law with the baseline's
expectation, no likelier by chance than 2σ is for the hour's readings judged together (`HOUR_TAIL`):
the normal σ understates the tail when few facts are expected (7 reprints where 3.3 are expected is
2.05σ, yet happens one hour in twenty), and 21 readings an hour each held to 2σ flag a clean hour
every third; a p90 duration a quarter longer and 30 min more. A reading beyond 2σ that is not
material says so (`NOT_MATERIAL`), and keeps an open alert open: it has not recovered. Or it is
flagged when it breaks a threshold set for that indicator (`health_threshold`). A silence window
(`health_silence`) keeps the reading computed and shown, marked silenced: it only stops alerts.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from app.clock import iso
from app.i18n import N_, Phrase, localize
from server.db import ServerDb
from server.health.indicators import BY_NAME, INDICATORS, Indicator, query

WEEKS = 4  # baseline weeks unless told otherwise
MAD_TO_SIGMA = 1.4826
SIGMAS = 2.0
MIN_BASELINE_WEEKS = 2
CLIP, HUBER_ROUNDS = 3.0, 4  # a baseline hour's bad facts held within 3σ of the rate's expectation
# What a flag needs besides 2σ, by kind: a material effect, (relative, absolute) — bad facts (errors,
# late parcels, parcels not collected; for orders in, orders missing) 50 % and 3 beyond what the baseline
# expects, a p90 25 % and 0.5 h beyond it. 2σ alone flags 2.3 % of clean readings by construction, and
# where the volume is large 2σ is a small change: the clean weeks' flags of that kind were a stock rate
# (tracking stalled) 20–40 % above its level hour after hour and orders in 30 % short; the planted
# incidents are 3.7 to 40 times their baseline (bench/README.md "False positives").
MATERIAL: dict[str, tuple[float, float]] = {"rate": (0.5, 3.0), "count": (0.5, 3.0), "duration": (0.25, 0.5)}
TAIL = 0.5 * math.erfc(SIGMAS / math.sqrt(2))  # how rare 2σ is under a normal law: 2.3 %, one-sided
# An hour's evaluation judges every indicator of the warehouse together. Held each to 2.3 %, 21 readings
# of a clean hour would raise a false alarm about one hour in three; so a rate's or count's bad facts
# must be as unlikely as 2σ is for the hour's readings as a whole — a tail of 2.3 % / 21 (Bonferroni,
# about 3.1σ one-sided for a normal law): a clean hour flags anything at most 2.3 % of the time. The
# demo's clean week (40 orders/h) flagged 4 whole-warehouse readings under the per-reading tail (scan
# errors 7–8 where 3 were expected, 1–2 % likely each); the planted incidents at a quiet hour (25
# orders/h) are 2 in 10^4 likely (5 refunds where 0.17 are expected) and less.
HOUR_TAIL = TAIL / len(INDICATORS)
# The fewest bad facts an hour is expected to hold when judging how likely its own are: a history of
# zeros does not make one impossible. Half a fact: 5 bad facts in a slice that had none flag (1.7 in
# 10^4), 4 do not. At one fact, a third of a quiet bench's 15 scans misread (5 of 85 in the warehouse,
# 0.7 expected) or 5 refunds of a shop's 19 parcels went unflagged under `HOUR_TAIL`.
LEAST_EXPECTED = 0.5
NOT_MATERIAL = "not material"  # a reading's `why`: beyond 2σ, but too small or too likely to flag
# Beyond this a z tells a person only "far off": a history of zeros floors σ at one fact, and a carrier that
# stops collecting is then z ≈ 3,000. Pages, reports and alerts show "> 10σ"; JSON keeps the number.
Z_SHOWN = 10
FAR_ABOVE = N_("> {limit}σ")
FAR_BELOW = N_("< −{limit}σ")


@dataclass(frozen=True)
class Measure:
    value: float | None
    volume: int


@dataclass(frozen=True)
class Reading:
    indicator: Indicator
    dimension: str  # "" for the whole warehouse
    slice: str  # the dimension's value ("BENCH-3"), "" for the whole warehouse
    hour: datetime
    value: float | None
    volume: int
    baseline: float | None
    sigma: float | None
    z: float | None  # signed: positive = in the bad direction
    flagged: bool
    silenced: bool
    why: str  # "2σ", "threshold ≤ 5%", "too few facts", "no baseline yet", ""

    @property
    def key(self) -> str:
        return f"{self.dimension}={self.slice}" if self.dimension else ""

    def shown(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.indicator.unit == "%":
            return f"{value * 100:.1f}%"
        if self.indicator.unit == "h":
            return f"{value:.1f} h"
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"

    @property
    def z_words(self) -> str | Phrase:
        """z for a person: "+2.3", or beyond ±`Z_SHOWN` only that it is (a `Phrase`, worded in the reader's
        language); "—" without a baseline."""
        if self.z is None:
            return "—"
        if abs(self.z) <= Z_SHOWN:
            return f"{self.z:+.1f}"
        return Phrase(FAR_ABOVE if self.z > 0 else FAR_BELOW, {"limit": Z_SHOWN})

    def z_text(self, lang: str) -> str:
        return str(localize(self.z_words, lang))

    def as_json(self, console_url: str, warehouse: str) -> dict[str, object]:
        link = f"{console_url}/console/health?warehouse={warehouse}&indicator={self.indicator.name}" \
               f"&hour={iso(self.hour)}" + (f"&{self.dimension}={quote(self.slice)}" if self.dimension else "")
        return {"name": self.indicator.name, "title": self.indicator.title, "unit": self.indicator.unit,
                "worse": self.indicator.worse, "hour": iso(self.hour), "slice": self.key,
                "value": _round(self.value), "volume": self.volume, "baseline": _round(self.baseline),
                "sigma": _round(self.sigma), "z": _round(self.z), "flagged": self.flagged,
                "silenced": self.silenced, "why": self.why, "url": link}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def windows(hour: datetime, weeks: int, neighbours: bool = False) -> list[tuple[str, str]]:
    """The hour itself, then the same hour 1 … `weeks` weeks before (with `neighbours`, also the
    hours either side of it), as (from, to) ISO strings."""
    shifts = (-1, 0, 1) if neighbours else (0,)
    starts = [hour] + [hour - timedelta(weeks=k) + timedelta(hours=d) for k in range(1, weeks + 1) for d in shifts]
    return [(iso(s), iso(s + timedelta(hours=1))) for s in starts]


Rows = list[tuple[Any, ...]]  # the rows a query fetched: (window, slice, numerator, denominator)


def measure(sdb: ServerDb, indicator: Indicator, warehouse: str, spans: Sequence[tuple[str, str]],
            dimension: str | None, read: dict[str, Rows] | None = None) -> dict[tuple[int, str], Measure]:
    """(window index, slice) → the indicator's value and volume there. `read` keeps the rows of each
    query run: a duration's p50 and p90 are one query's facts, read once for both."""
    sql = query(indicator, dimension, spans, sdb.postgres)
    kept = read if read is not None else {}
    if sql not in kept:
        kept[sql] = sdb.execute(sql, (warehouse,) * sql.count("?")).fetchall()
    return _measures(indicator, kept[sql])


def _measures(indicator: Indicator, rows: Rows) -> dict[tuple[int, str], Measure]:
    grouped: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    for n, key, num, den in rows:
        if num is None:
            continue
        grouped[(int(n), "" if key is None else str(key))].append((float(num), float(den or 0)))
    out: dict[tuple[int, str], Measure] = {}
    for key, facts in grouped.items():
        if indicator.kind == "count":
            total = sum(num for num, _ in facts)
            out[key] = Measure(total, int(total))
        elif indicator.kind == "rate":
            num, den = sum(f[0] for f in facts), sum(f[1] for f in facts)
            out[key] = Measure(num / den if den else None, int(den))
        else:
            samples = sorted(num for num, _ in facts)
            out[key] = Measure(_quantile(samples, indicator.quantile), len(samples))
    return out


def _quantile(ordered: list[float], q: float) -> float:
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def noise_floor(indicator: Indicator, baseline: float, volume: int) -> float:
    if indicator.kind == "rate":
        p, n = min(max(baseline, 0.0), 1.0), max(volume, 1)
        return math.sqrt(max(p * (1 - p) * n, 1.0)) / n
    if indicator.kind == "count":
        return math.sqrt(max(baseline, 1.0))
    return max(0.2 * abs(baseline), 0.25)


def judge(indicator: Indicator, now: Measure, history: list[Measure], *, threshold: tuple[str, float] | None = None,
          silenced: bool = False, dimension: str = "", slice_: str = "",
          hour: datetime | None = None) -> Reading:
    assert hour is not None
    baseline, sigma = baseline_of(indicator, now, history)
    return verdict(indicator, hour, dimension, slice_, now.value, now.volume, baseline, sigma, threshold=threshold,
                   silenced=silenced)


def baseline_of(indicator: Indicator, now: Measure, history: list[Measure]) -> tuple[float | None, float | None]:
    """The median of the usable history and its spread (never below the hour's noise floor)."""
    if indicator.kind == "count":  # an hour with no facts counted zero of them; a count is its own rate of one
        kept = [Measure(m.value if m.value is not None else 0.0, 1) for m in history]
    else:
        kept = [m for m in history if m.value is not None and m.volume >= indicator.min_volume]
    usable = [m.value for m in kept if m.value is not None]
    if len(usable) < MIN_BASELINE_WEEKS:
        return None, None
    median = statistics.median(usable)
    baseline = median if indicator.kind == "duration" else pooled_rate(kept, median)
    mad = statistics.median(abs(v - median) for v in usable)
    spread = max(MAD_TO_SIGMA * mad, noise_floor(indicator, baseline, now.volume))
    return baseline, spread * math.sqrt(1 + math.pi / (2 * len(usable)))  # the median's own noise too


def pooled_rate(history: Sequence[Measure], start: float) -> float:
    """A rate's baseline: its bad facts over its facts, summed over the baseline hours, each hour's bad
    facts first held within `CLIP` σ of what the rate expects of it (Huber's winsorised mean, a few
    rounds from the median); a count is a rate of volume 1 an hour. The median of hourly rates or
    counts is biased low where an hour holds a few facts (of 2 misreads expected, 4 hours in 10 have
    at most one), and so were the noise floor and the Poisson expectation drawn from it; a bad week in
    the history still counts as a few facts beyond its expectation, not all of them."""
    rate = start
    volume = sum(m.volume for m in history)
    for _ in range(HUBER_ROUNDS):
        held = 0.0
        for m in history:
            expected = rate * m.volume
            reach = CLIP * math.sqrt(max(expected, 1.0))
            held += min(max((m.value or 0.0) * m.volume, expected - reach), expected + reach)
        rate = held / volume
    return rate


def verdict(indicator: Indicator, hour: datetime, dimension: str, slice_: str, value: float | None, volume: int,
            baseline: float | None, sigma: float | None, *, threshold: tuple[str, float] | None = None,
            silenced: bool = False) -> Reading:
    """The reading of a value against its baseline: z, and whether it is flagged and why. A pure function
    of what `server.health.stored` keeps, so a stored hour is judged again with today's thresholds."""
    z = None
    if value is not None and baseline is not None and sigma is not None:
        z = (value - baseline) / sigma * (1 if indicator.worse == "higher" else -1)
    flagged, why = False, ""
    if volume < indicator.min_volume or value is None:
        why = "too few facts"
    elif threshold is not None and _breaks(value, threshold):
        flagged, why = True, f"threshold {threshold[0]} {threshold[1]:g}"
    elif baseline is None:
        why = "no baseline yet"
    elif z is not None and z > SIGMAS:
        flagged = _enough_excess(indicator, value, baseline, volume)
        why = f"{SIGMAS:g}σ" if flagged else NOT_MATERIAL
    return Reading(indicator, dimension, slice_, hour, value, volume, baseline, sigma, z, flagged, silenced, why)


def _enough_excess(indicator: Indicator, value: float, baseline: float, volume: int) -> bool:
    """A material effect (`MATERIAL`), and for rates and counts as unlikely as 2σ is for the hour's
    readings together (`HOUR_TAIL`)."""
    relative, absolute = MATERIAL[indicator.kind]
    if indicator.kind == "duration":
        return value >= baseline * (1 + relative) and value - baseline >= absolute
    scale = volume if indicator.kind == "rate" else 1
    seen, expected = value * scale, baseline * scale
    if indicator.kind == "rate" and indicator.worse == "lower":  # the bad facts are the others (late parcels)
        seen, expected = scale - seen, scale - expected
    fewer = indicator.kind == "count" and indicator.worse == "lower"  # orders in: too few is bad
    if abs(seen - expected) < max(absolute, relative * expected) - 1e-9:
        return False
    return poisson_tail(round(seen), max(expected, LEAST_EXPECTED), fewer) <= HOUR_TAIL


def poisson_tail(seen: int, mean: float, fewer: bool) -> float:
    """The chance of `seen` or more facts (or, `fewer`, `seen` or fewer) under a Poisson law of `mean` > 0."""
    below = sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(max(seen + fewer, 0)))
    return min(below, 1.0) if fewer else max(1.0 - below, 0.0)


def _breaks(value: float, threshold: tuple[str, float]) -> bool:
    op, limit = threshold
    return value > limit if op == "max" else value < limit


def evaluate(sdb: ServerDb, warehouse: str, hour: datetime, *, weeks: int = WEEKS, dimension: str | None = None,
             names: Iterable[str] | None = None, thresholds: dict[str, tuple[str, float]] | None = None,
             silenced: set[str] | None = None) -> list[Reading]:
    """Every indicator (or `names`) for the hour starting at `hour`, whole or by `dimension`."""
    return evaluate_hours(sdb, warehouse, [hour], weeks=weeks, dimension=dimension, names=names,
                          thresholds=thresholds, silenced=silenced)[0]


def evaluate_hours(sdb: ServerDb, warehouse: str, hours: Sequence[datetime], *, weeks: int = WEEKS,
                   dimension: str | None = None, names: Iterable[str] | None = None,
                   thresholds: dict[str, tuple[str, float]] | None = None,
                   silenced: set[str] | None = None) -> list[list[Reading]]:
    """`evaluate` for each of `hours`, each indicator in one query over the windows they need together:
    24 consecutive hours share most of their baseline hours (128 windows instead of 312 with
    neighbours), and one query is one round trip instead of 24."""
    chosen = [BY_NAME[n] for n in names] if names is not None else list(INDICATORS)
    quiet = silenced or set()
    readings: list[list[Reading]] = [[] for _ in hours]
    read: dict[str, Rows] = {}
    for indicator in chosen:
        if dimension is not None and dimension not in indicator.slices:
            continue
        needed = [windows(hour, weeks, neighbours=indicator.neighbours) for hour in hours]
        spans = sorted({span for spans_of_hour in needed for span in spans_of_hour})
        position = {span: n for n, span in enumerate(spans)}
        with sdb.connection():
            measured = measure(sdb, indicator, warehouse, spans, dimension, read)
        for out, hour, (now_span, *past) in zip(readings, hours, needed, strict=True):
            now_n = position[now_span]
            for key in sorted({key for (n, key) in measured if n == now_n}) or [""]:
                history = [measured.get((position[span], key), Measure(None, 0)) for span in past]
                out.append(judge(indicator, measured.get((now_n, key), Measure(None, 0)), history,
                                 threshold=(thresholds or {}).get(indicator.name),
                                 silenced=indicator.name in quiet or "*" in quiet,
                                 dimension=dimension or "", slice_=key, hour=hour))
    return readings
