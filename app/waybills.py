"""Waybill (tracking) number pools per carrier (docs/architecture.md §6.4).

Numbers come in bulk from the carrier (`packbench waybills import FILE --carrier SF`; later also from
the server's allocate endpoint through `add_numbers`), are taken one per parcel by
`app.pack.lookup.take_waybill` inside the shipment's IMMEDIATE transaction, and never reused: the
pool's unique index on `number`, the shipment's unique `tracking_no` and the checks here against
shipments and pre-printed waybills bound to orders keep any number from reaching two parcels.

An import is all or nothing: every line is checked first (the carrier's own tracking pattern from
`app.barcodes`, read back by `interpret` as a parcel code, no duplicates in the file or the store),
and the first problem of each line is reported with its line number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw

from app.audit import record_fact
from app.barcodes import CARRIER_PATTERNS, BarcodeError, Kind, interpret
from app.clock import Clock
from app.config import StationConfig
from app.errors import InputError, os_problem
from app.i18n import ENGLISH, N_, render
from app.store import Store
from app.store.models import Order, Shipment, WaybillPool
from app.store.states import PoolState
from app.terms import named

DEFAULT_LOW_WATER = 50
IN_CHUNK = 500  # values per IN (...) and rows x 3 columns per INSERT: within SQLite's oldest limit (999)
INSERT_CHUNK = 300
MAX_PROBLEMS_SHOWN = 5

CARRIER_NAMES: dict[str, str] = {  # code: English name (a catalog msgid)
    "SF": N_("SF Express"),
    "ZTO": N_("ZTO Express"),
    "YTO": N_("YTO Express"),
    "STO": N_("STO Express"),
    "YUNDA": N_("Yunda Express"),
    "JD": N_("JD Logistics"),
    "JT": N_("J&T Express"),
    "EMS": N_("China Post EMS"),
}
_PATTERNS = {code: re.compile(pattern, re.ASCII) for code, pattern in CARRIER_PATTERNS.items()}


class WaybillImportError(InputError, ValueError):
    """The file was refused as a whole; `problems` lists every line that is wrong."""

    def __init__(self, message: str, problems: Sequence[str] = (), **values: Any) -> None:
        super().__init__(message, **values)
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportReport:
    carrier: str
    imported: int
    free: int
    used: int
    file: str = ""
    warnings: tuple[PoolWarning, ...] = ()

    def summary(self, lang: str = ENGLISH) -> str:
        return render(N_("{carrier}: {count} numbers imported; pool now {free} free, {used} used"), lang,
                      {"carrier": self.carrier, "count": self.imported, "free": self.free, "used": self.used})


@dataclass(frozen=True)
class PoolWarning:
    carrier: str
    free: int
    threshold: int

    @property
    def exhausted(self) -> bool:
        return self.free == 0

    @property
    def level(self) -> str:
        return "error" if self.exhausted else "warn"

    def text(self, lang: str) -> str:
        carrier = named(CARRIER_NAMES, self.carrier)
        if self.exhausted:
            return render(N_("{carrier} waybill pool is EMPTY: import numbers now"), lang, {"carrier": carrier})
        return render(N_("{carrier} waybill pool is low: {free} free (below {threshold}); import more"), lang,
                      {"carrier": carrier, "free": self.free, "threshold": self.threshold})


@dataclass(frozen=True)
class LowWater:
    """Warn when a carrier's free numbers fall below its threshold (per carrier, else `default`)."""

    default: int = DEFAULT_LOW_WATER
    per_carrier: Mapping[str, int] = field(default_factory=dict)

    def for_carrier(self, carrier: str) -> int:
        return int(self.per_carrier.get(carrier, self.default))

    @classmethod
    def from_config(cls, config: StationConfig) -> LowWater:
        return cls(default=config.waybill_low_water)


def carrier_label(code: str, lang: str = ENGLISH) -> str:
    """The carrier's name in `lang` (its code when it has none)."""
    return named(CARRIER_NAMES, code).text(lang)


def normalise_carrier(code: str) -> str:
    carrier = code.strip().upper()
    if carrier not in CARRIER_PATTERNS:
        raise WaybillImportError(N_("unknown carrier {code!r}; known: {known}"), code=code,
                                 known=", ".join(CARRIER_PATTERNS))
    return carrier


def check_number(text: str, carrier: str) -> str | None:
    """Why `text` cannot be a `carrier` waybill number, or None when it can."""
    number = text.upper()
    try:
        parsed = interpret(number)
    except BarcodeError as exc:
        return f"{text!r} is not a tracking number ({exc})"
    if _PATTERNS[carrier].fullmatch(number):
        # The carrier's own pattern decides; `interpret` must still read it as a parcel code (a
        # 13/14-digit number with a valid GTIN check digit comes back as a GTIN that fits a carrier).
        if parsed.kind in (Kind.TRACKING, Kind.GTIN) and parsed.carrier is not None:
            return None
        return f"{text!r} would not scan as a parcel code"
    other = parsed.carrier
    if other is not None and other != carrier:
        return f"{text!r} reads as a {other} number, not {carrier}"
    return f"{text!r} is not a {carrier} tracking number"


def read_numbers(path: Path) -> list[tuple[int, str]]:
    """(line number, text) for every non-blank line; UTF-8 with or without BOM, any line ending."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WaybillImportError(N_("{path}: not a text file of numbers ({reason} at byte {byte})"), path=path,
                                 reason=exc.reason, byte=exc.start) from exc
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def import_waybills(store: Store, path: Path, carrier: str, clock: Clock, actor: str = "admin",
                    low_water: LowWater | None = None) -> ImportReport:
    """Import a carrier's number file into the pool: every number or none."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WaybillImportError(N_("cannot read {path}: {problem}"), path=path,
                                 problem=os_problem(exc)) from exc
    lines = read_numbers(path)
    if not lines:
        raise WaybillImportError(N_("{path}: no numbers in the file; nothing imported"), path=path)
    source = {"file": path.name, "sha256": hashlib.sha256(data).hexdigest()}
    return add_numbers(store, lines, carrier, clock, actor, source=source, where=path.name, low_water=low_water)


def add_numbers(store: Store, lines: Sequence[tuple[int, str]] | Iterable[str], carrier: str, clock: Clock,
                actor: str, *, source: Mapping[str, Any] | None = None, where: str = "numbers",
                low_water: LowWater | None = None) -> ImportReport:
    """Add numbers to the pool, all or none. `lines` are (line number, text) pairs or plain strings
    (numbered from 1): the import file, or a server allocation."""
    code = normalise_carrier(carrier)
    numbered = [item if isinstance(item, tuple) else (n, item) for n, item in enumerate(lines, start=1)]
    problems: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    numbers: list[tuple[int, str]] = []
    for line_no, text in numbered:
        problem = check_number(text, code)
        number = text.upper()
        if problem is None and number in first_seen:
            problem = f"{text!r} repeats line {first_seen[number]}"
        if problem is not None:
            problems.append((line_no, problem))
            continue
        first_seen[number] = line_no
        numbers.append((line_no, number))
    if not numbered:
        raise WaybillImportError(N_("{where}: no numbers; nothing imported"), where=where)
    now = clock.now()
    with store.atomic():  # IMMEDIATE: nobody adds or takes a number between the checks and the insert
        problems += _known_numbers(numbers)
        if problems:
            raise refusal(where, sorted(problems))
        rows = [{"carrier": code, "number": number, "state": PoolState.FREE} for _, number in numbers]
        for start in range(0, len(rows), INSERT_CHUNK):
            WaybillPool.insert_many(rows[start:start + INSERT_CHUNK]).execute()
        record_fact("waybills.imported", actor, now, {
            "carrier": code, "count": len(rows), "first": rows[0]["number"], "last": rows[-1]["number"],
            **(source or {}),
        })
    free, used = pool_status(code)
    warnings = tuple(pool_warnings(low_water, carriers=[code]))
    return ImportReport(code, len(rows), free, used, where, warnings)


def refusal(where: str, numbered: list[tuple[int, str]]) -> WaybillImportError:
    """A whole file refused for its bad lines (`(line number, problem)`), the station's pool or the server's."""
    problems = [f"line {line_no}: {problem}" for line_no, problem in numbered]
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])  # each line's problem in English: the pool's record
    if len(problems) > MAX_PROBLEMS_SHOWN:
        return WaybillImportError(N_("{where}: {count} bad line(s), nothing imported: {shown}; and {more} more"),
                                  problems, where=where, count=len(problems), shown=shown,
                                  more=len(problems) - MAX_PROBLEMS_SHOWN)
    return WaybillImportError(N_("{where}: {count} bad line(s), nothing imported: {shown}"), problems, where=where,
                              count=len(problems), shown=shown)


def _known_numbers(numbers: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Problems for numbers already in the pool, on a shipment, or bound to an order as a pre-printed waybill."""
    problems: list[tuple[int, str]] = []
    for start in range(0, len(numbers), IN_CHUNK):
        chunk = numbers[start:start + IN_CHUNK]
        values = [number for _, number in chunk]
        pooled = dict(WaybillPool.select(WaybillPool.number, WaybillPool.state)
                      .where(WaybillPool.number.in_(values)).tuples())
        shipped = {n for (n,) in Shipment.select(Shipment.tracking_no).where(Shipment.tracking_no.in_(values)).tuples()}
        bound = dict(Order.select(Order.tracking_no, Order.order_id).where(Order.tracking_no.in_(values)).tuples())
        for line_no, number in chunk:
            if number in pooled:
                problems.append((line_no, f"{number} is already in the pool ({pooled[number]})"))
            elif number in shipped:
                problems.append((line_no, f"{number} is already used by a shipment"))
            elif number in bound:
                problems.append((line_no, f"{number} is bound to order {bound[number]}"))
    return problems


def pool_status(carrier: str) -> tuple[int, int]:
    """(free, used) numbers in the carrier's pool."""
    counts = dict(WaybillPool.select(WaybillPool.state, pw.fn.COUNT(WaybillPool.id))
                  .where(WaybillPool.carrier == carrier).group_by(WaybillPool.state).tuples())
    return int(counts.get(PoolState.FREE, 0)), int(counts.get(PoolState.USED, 0))


def pool_summary() -> dict[str, tuple[int, int]]:
    """carrier -> (free, used) for every carrier with numbers in the pool."""
    summary: dict[str, tuple[int, int]] = {}
    query = (WaybillPool.select(WaybillPool.carrier, WaybillPool.state, pw.fn.COUNT(WaybillPool.id))
             .group_by(WaybillPool.carrier, WaybillPool.state).tuples())
    for carrier, state, count in query:
        free, used = summary.get(carrier, (0, 0))
        summary[carrier] = (free + count, used) if state == PoolState.FREE else (free, used + count)
    return dict(sorted(summary.items()))


def pool_warnings(low_water: LowWater | None = None, carriers: Iterable[str] | None = None) -> list[PoolWarning]:
    """Carriers whose free numbers are below their threshold (an empty pool is always reported).

    Looks at the carriers with a pool plus those given a threshold of their own (or `carriers`): a
    carrier the station only ships with pre-printed waybills raises nothing.
    """
    limits = low_water or LowWater()
    summary = pool_summary()
    wanted = set(carriers) if carriers is not None else set(summary) | set(limits.per_carrier)
    warnings = []
    for carrier in sorted(wanted):
        free = summary.get(carrier, (0, 0))[0]
        threshold = limits.for_carrier(carrier)
        if free == 0 or free < threshold:
            warnings.append(PoolWarning(carrier, free, threshold))
    return warnings
