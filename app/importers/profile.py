"""Mapping profiles: how one platform's export maps onto canonical order fields, as TOML data.

A new platform is a new TOML file, not code. The schema (see `profiles/canonical.toml` for every key
with comments):

    name, platform          profile name; value stored in `Order.platform` when the file has none
    encodings               tried in order, strictly ("utf-8" also accepts a BOM)
    timezone                zone of times written without an offset
    date_formats            strptime formats, or "iso" for ISO 8601, tried in order
    money                   "yuan" (decimal, converted to integer fen) or "fen" (already integer)
    line_key                "line_no" (the file numbers lines) or "sku" (lines numbered in file order)
    blank                   cell texts that mean "empty" (e.g. "null")
    required                fields whose column must exist, beyond order_id, sku, qty (and line_no
                            when line_key = "line_no")
    nonblank                order fields every order must fill (receiver phone and address): a file
                            where one is blank was mapped wrongly and is refused, naming the column
    [order]                 order-level fields; on an order's rows, non-blank values must agree
    [line]                  line-level fields; one line per row (empty when only [lines_file] has lines:
                            then the lines file must be given)
    [lines_file]            optional: the line fields (and order_id) of a second file with the lines
    [status] default, [[status.rules]] {column, when_filled | map, strict}: first matching rule wins

A field maps to a column name, a list of aliases (the first non-blank one present wins, so headers that
changed name over the years and fallback columns are both just aliases), or
`{ join = [column or [aliases], ...], sep = " " }` to join several columns (addresses), or for money
`{ sum = [column or [aliases], ...] }` to add several columns up (discounts).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import InputError, os_problem
from app.i18n import N_
from app.importers.source import normalize_value
from app.store.states import OrderStatus

# Canonical fields and their value types. The store column of a money field is `<name>_cents`.
ORDER_FIELDS: dict[str, str] = {
    "order_id": "id", "platform": "text", "shop": "text", "buyer": "text",
    "receiver_name": "text", "receiver_phone": "phone", "receiver_address": "address",
    "created_at": "time", "paid_at": "time", "ship_by": "time", "total": "money", "paid": "money",
    "carrier": "text", "tracking_no": "id", "note": "text",
    # What the platform took off the goods (shop and platform coupons) and charged for postage: the
    # payment check compares paid with lines − discount + shipping.
    "discount": "money", "shipping": "money",
}
LINE_FIELDS: dict[str, str] = {
    "line_no": "count", "sku": "id", "name": "text", "qty": "count", "unit_price": "money",
    # Pinduoduo gives the line's total, not the unit price: unit = total / qty, rounded half up.
    "line_total": "money",
    # Shopify marks gift cards, tips and services "requires shipping = false": such lines are skipped.
    "requires_shipping": "flag",
}
STATUSES = frozenset(OrderStatus)
ALWAYS_REQUIRED = ("order_id", "sku", "qty")
BUILTIN_DIR = "profiles"
_TOP_KEYS = {
    "name", "platform", "description", "encodings", "timezone", "date_formats", "money", "line_key",
    "blank", "required", "nonblank", "order", "line", "lines_file", "status",
}


class ProfileError(InputError, ValueError):
    """A profile file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field: its parts (several only for a join), each a tuple of header aliases."""

    field: str
    kind: str
    parts: tuple[tuple[str, ...], ...]  # header aliases as written in the profile
    sep: str = " "
    combine: str = "join"  # several parts: "join" texts with sep, or "sum" money amounts


@dataclass(frozen=True)
class StatusRule:
    columns: tuple[str, ...]  # header aliases
    when_filled: str | None  # any non-blank value → this status
    values: Mapping[str, str]  # normalised cell text → status
    strict: bool  # a value missing from `values` is a row error rather than "rule does not apply"


@dataclass(frozen=True)
class Profile:
    name: str
    platform: str
    source: str  # where it was loaded from, for messages
    encodings: tuple[str, ...]
    zone: ZoneInfo
    date_formats: tuple[str, ...]
    money: str
    line_key: str
    blank: frozenset[str]
    required: frozenset[str]
    nonblank: tuple[str, ...]  # order fields no order may leave blank (a joined field: its last part)
    order: Mapping[str, FieldSpec]
    line: Mapping[str, FieldSpec]  # empty: the lines come only from a lines file, which is then needed
    lines_file: Mapping[str, FieldSpec] | None
    status_default: str
    status_rules: tuple[StatusRule, ...]


def builtin_names() -> list[str]:
    folder = resources.files("app.importers").joinpath(BUILTIN_DIR)
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(fmt: str | Path) -> Profile:
    """A built-in profile by name (`shopify`), or a profile file by path (`my/platform.toml`)."""
    text = str(fmt)
    if text.lower() in builtin_names():
        resource = resources.files("app.importers").joinpath(BUILTIN_DIR, f"{text.lower()}.toml")
        return parse_profile(resource.read_text("utf-8"), f"{text.lower()}.toml")
    path = Path(fmt)
    if path.suffix.lower() != ".toml" and not path.exists():
        raise ProfileError(N_("unknown format {format!r}: use one of {known} or a path to a .toml profile"),
                           format=text, known=", ".join(builtin_names()))
    try:
        content = path.read_text("utf-8")
    except OSError as exc:
        raise ProfileError(N_("cannot read profile {path}: {problem}"), path=path, problem=os_problem(exc)) from exc
    return parse_profile(content, str(path), default_name=path.stem)


def parse_profile(content: str, source: str, default_name: str | None = None) -> Profile:
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(N_("profile {source}: not valid TOML: {problem}"), source=source, problem=exc) from exc
    return _Builder(source).build(data, default_name or Path(source).stem)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> ProfileError:
        return ProfileError(f"profile {self.source}: {message}")

    def build(self, data: dict[str, Any], default_name: str) -> Profile:
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise self.fail(f"unknown key(s) {sorted(unknown)}")
        name = self.string(data, "name", default_name)
        money = self.string(data, "money", "yuan")
        if money not in ("yuan", "fen"):
            raise self.fail(f"money must be 'yuan' or 'fen', not {money!r}")
        line_key = self.string(data, "line_key", "line_no")
        if line_key not in ("line_no", "sku"):
            raise self.fail(f"line_key must be 'line_no' or 'sku', not {line_key!r}")
        zone_name = self.string(data, "timezone", "Asia/Shanghai")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail(f"unknown timezone {zone_name!r}") from exc
        order = self.fields(data, "order", ORDER_FIELDS)
        line = self.fields(data, "line", LINE_FIELDS)
        if not line and "lines_file" not in data:
            raise self.fail("[line] must map the line fields (or give [lines_file])")
        lines_file = (
            self.fields(data, "lines_file", {"order_id": "id", **LINE_FIELDS}) if "lines_file" in data else None
        )
        if "order_id" not in order:
            raise self.fail("[order] must map order_id")
        for section, fields in (("line", line), ("lines_file", lines_file)):
            if not fields:
                continue
            for needed in ("sku", "qty", *(("line_no",) if line_key == "line_no" else ())):
                if needed not in fields:
                    raise self.fail(f"[{section}] must map {needed}")
        required = set(self.strings(data, "required", ())) | set(ALWAYS_REQUIRED)
        if line_key == "line_no":
            required.add("line_no")  # duplicates are told apart by it, so a file without it cannot import
        unmapped = required - set(order) - set(line) - set(lines_file or ())
        if unmapped:
            raise self.fail(f"required names fields no section maps: {sorted(unmapped)}")
        nonblank = self.strings(data, "nonblank", ())
        if unknown_fields := [f for f in nonblank if f not in order]:
            raise self.fail(f"nonblank names fields [order] does not map: {unknown_fields}")
        default, rules = self.status(data.get("status", {}))
        return Profile(
            name=name, platform=self.string(data, "platform", name), source=self.source,
            encodings=tuple(self.strings(data, "encodings", ("utf-8", "gb18030"))), zone=zone,
            date_formats=tuple(self.strings(data, "date_formats", ("iso",))), money=money,
            line_key=line_key, blank=frozenset(self.strings(data, "blank", ())),
            required=frozenset(required), nonblank=tuple(nonblank), order=order, line=line, lines_file=lines_file,
            status_default=default, status_rules=rules,
        )

    def string(self, data: Mapping[str, Any], key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{key} must be a non-empty string")
        return value

    def strings(self, data: Mapping[str, Any], key: str, default: tuple[str, ...]) -> list[str]:
        value = data.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{key} must be a string or a list of strings")
        return value

    def aliases(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{where} must be a column name or a list of column names")
        return tuple(v.strip() for v in value)

    def fields(self, data: Mapping[str, Any], section: str, known: Mapping[str, str]) -> dict[str, FieldSpec]:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise self.fail(f"[{section}] must be a table")
        specs: dict[str, FieldSpec] = {}
        for field, value in table.items():
            where = f"[{section}] {field}"
            if field not in known:
                raise self.fail(f"{where}: not a field of this section (one of {', '.join(known)})")
            if isinstance(value, dict) and known[field] == "money":
                # Discounts come in several columns (shop coupon, platform coupon): their sum.
                if set(value) != {"sum"} or not isinstance(value["sum"], list):
                    raise self.fail(f"{where}: a money field takes `sum = [...]` of columns")
                parts = tuple(self.aliases(p, f"{where} sum") for p in value["sum"])
                specs[field] = FieldSpec(field, known[field], parts, combine="sum")
            elif isinstance(value, dict):
                if set(value) - {"join", "sep"} or not isinstance(value.get("join"), list):
                    raise self.fail(f"{where}: a table takes `join = [...]` and optionally `sep`")
                if known[field] not in ("text", "address"):
                    raise self.fail(f"{where}: only text fields can join columns")
                parts = tuple(self.aliases(p, f"{where} join") for p in value["join"])
                sep = value.get("sep", " ")
                if not isinstance(sep, str):
                    raise self.fail(f"{where}: sep must be a string")
                specs[field] = FieldSpec(field, known[field], parts, sep)
            else:
                specs[field] = FieldSpec(field, known[field], (self.aliases(value, where),))
        return specs

    def status(self, table: Any) -> tuple[str, tuple[StatusRule, ...]]:
        if not isinstance(table, dict) or set(table) - {"default", "rules"}:
            raise self.fail("[status] takes `default` and [[status.rules]]")
        default = self.string(table, "default", OrderStatus.PAID)
        self.check_status(default, "[status] default")
        rules = []
        for i, rule in enumerate(table.get("rules", []), start=1):
            where = f"[[status.rules]] #{i}"
            if not isinstance(rule, dict) or set(rule) - {"column", "when_filled", "map", "strict"}:
                raise self.fail(f"{where}: keys are column, when_filled, map, strict")
            columns = self.aliases(rule.get("column"), f"{where} column")
            filled = rule.get("when_filled")
            mapping = rule.get("map", {})
            if (filled is None) == (not mapping) or not isinstance(mapping, dict):
                raise self.fail(f"{where}: give exactly one of when_filled or map")
            if filled is not None:
                self.check_status(filled, f"{where} when_filled")
            for status in mapping.values():
                self.check_status(status, f"{where} map")
            values = {normalize_value(k): v for k, v in mapping.items()}
            rules.append(StatusRule(columns, filled, values, bool(rule.get("strict", False))))
        return default, tuple(rules)

    def check_status(self, value: Any, where: str) -> None:
        if value not in STATUSES:
            raise self.fail(f"{where}: {value!r} is not a status ({', '.join(sorted(STATUSES))})")
