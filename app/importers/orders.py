"""Order exports → canonical `OrderRecord`s. Pure: reads files, writes nothing, so the central server
can reuse it with its own store. One engine; what differs between platforms is a profile (TOML).

Canonical order CSV (profile `canonical`): UTF-8 (a BOM is fine, GB18030 accepted), one row per
order line, header row first, columns

    order_id,platform,shop,status,buyer,receiver_name,receiver_phone,receiver_address,
    created_at,paid_at,ship_by,total,paid,carrier,tracking_no,note,line_no,sku,name,qty,unit_price

`order_id`, `line_no`, `sku` and `qty` are required; the others may be missing or blank. Order-level
columns repeat on each line row of an order (or are left blank after the first): non-blank values
must agree. Times are ISO 8601; without an offset they are Asia/Shanghai; they are stored as UTC.
Money is yuan with at most two decimals (`12.50`), stored as integer fen. `status` is one of new,
paid, on_hold, cancelled, refunded, shipped. `qty` and `line_no` are whole numbers of at least 1.

Rows are numbered as physical lines of the file (header = row 1), so an error message points at the
line a spreadsheet or editor shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.importers.profile import FieldSpec, Profile, StatusRule
from app.importers.source import (
    ImportFileError,
    Table,
    clean_cell,
    normalize_header,
    normalize_value,
    read_table,
    to_code,
    to_count,
    to_fen,
    to_phone,
    to_utc,
)

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1000
_BLANK_BY_KIND: dict[str, object] = {"time": None, "money": 0, "id": None}


@dataclass(frozen=True)
class LineRecord:
    line_no: int
    sku: str
    name: str
    qty: int
    unit_price_cents: int
    row: int  # physical line in its file


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    status: str  # platform status, mapped by the profile
    # The other `Order` columns the file carries, by store column name. A column the file lacks is
    # absent here, so a re-import never blanks what the file did not say (e.g. a bound waybill).
    values: Mapping[str, object]
    lines: tuple[LineRecord, ...]
    row: int  # first row of the order


class Ticker:
    """Calls `progress(done, total)` every PROGRESS_EVERY rows and once at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def tick(self) -> None:
        self.done += 1
        if self.progress and (self.done % PROGRESS_EVERY == 0 or self.done == self.total):
            self.progress(self.done, self.total)


@dataclass(frozen=True)
class _Bound:
    spec: FieldSpec
    parts: tuple[tuple[tuple[int, str], ...], ...]  # per part: (cell index, header as written)


class _Reader:
    """Canonical values out of one table's rows; every failure names the row and the column."""

    def __init__(self, table: Table, profile: Profile, specs: Mapping[str, FieldSpec]) -> None:
        self.table, self.profile = table, profile
        # Per field, the last text converted and its value: an order's rows repeat the same times.
        self.last: dict[str, tuple[str, object]] = {}
        index = table.column_index()
        self.bound: dict[str, _Bound] = {}
        for name, spec in specs.items():
            parts = tuple(
                tuple((index[normalize_header(a)], table.header[index[normalize_header(a)]])
                      for a in aliases if normalize_header(a) in index)
                for aliases in spec.parts
            )
            if any(parts):
                self.bound[name] = _Bound(spec, parts)
            elif name in profile.required:
                also = [a for aliases in spec.parts for a in aliases][1:]
                hint = f" (or {', '.join(repr(a) for a in also)})" if also else ""
                raise ImportFileError(table.path, table.header_row, spec.parts[0][0],
                                      f"missing column{hint}, needed for {name}")

    def cell(self, cells: tuple[str, ...], index: int) -> str:
        text = cells[index] if index < len(cells) else ""
        if not text:  # most cells of a wide export are empty: keep that path short
            return ""
        text = clean_cell(text)
        return "" if text in self.profile.blank else text

    def text(self, cells: tuple[str, ...], name: str) -> tuple[str, str]:
        """(text, column it came from): per part the first non-blank alias; parts joined."""
        bound = self.bound[name]
        if len(bound.parts) == 1:
            for index, header in bound.parts[0]:
                if text := self.cell(cells, index):
                    return (text.lstrip("'") if bound.spec.kind == "address" else text), header
            return "", bound.parts[0][0][1]
        found: list[tuple[str, str]] = []
        for part in bound.parts:
            for index, header in part:
                if text := self.cell(cells, index):
                    # Excel's apostrophe on a zip code is not part of the address.
                    found.append((text.lstrip("'") if bound.spec.kind == "address" else text, header))
                    break
        if not found:
            return "", next(header for part in bound.parts for _, header in part)
        return bound.spec.sep.join(t for t, _ in found), found[0][1]

    def error(self, row: int, column: str | None, message: str) -> ImportFileError:
        return ImportFileError(self.table.path, row, column, message)

    def value(self, row: int, cells: tuple[str, ...], name: str) -> tuple[object, str, str] | None:
        """(value, raw text, column), or None when the cell is blank or the column absent."""
        if name not in self.bound:
            return None
        text, column = self.text(cells, name)
        if not text:
            return None
        last = self.last.get(name)
        if last is not None and last[0] == text:
            return last[1], text, column
        kind, p = self.bound[name].spec.kind, self.profile
        try:
            if kind == "id":
                value: object = to_code(text)
            elif kind == "phone":
                value = to_phone(text)
            elif kind == "time":
                value = to_utc(text, p.date_formats, p.zone)
            elif kind == "money":
                value = to_fen(text, p.money)
            elif kind == "count":
                value = to_count(text)
            else:
                value = text
        except ValueError as exc:
            raise self.error(row, column, str(exc)) from None
        self.last[name] = (text, value)
        return value, text, column

    def required(self, row: int, cells: tuple[str, ...], name: str) -> tuple[object, str, str]:
        found = self.value(row, cells, name)
        if found is None:
            raise self.error(row, self.text(cells, name)[1], f"{name} is empty")
        return found

    def line(self, row: int, cells: tuple[str, ...], next_no: int) -> tuple[LineRecord, str, str]:
        """The line on this row, plus the text and column of its identity (line_no or sku)."""
        sku, sku_text, sku_col = self.required(row, cells, "sku")
        qty = _int(self.required(row, cells, "qty")[0])
        if self.profile.line_key == "line_no":
            line_no, key_text, key_col = self.required(row, cells, "line_no")
        else:
            line_no, key_text, key_col = next_no, sku_text, sku_col
        name = self.value(row, cells, "name")
        if (price := self.value(row, cells, "unit_price")) is not None:
            unit = _int(price[0])
        elif (total := self.value(row, cells, "line_total")) is not None:
            unit = (2 * _int(total[0]) + qty) // (2 * qty)  # total / qty rounded half up, exact in integers
        else:
            unit = 0
        line = LineRecord(_int(line_no), str(sku), str(name[0]) if name else "", qty, unit, row)
        return line, key_text, key_col


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


_Entry = tuple[object, str, int, str]  # value, text as written, row, column


@dataclass
class _Draft:
    order_id: str
    row: int
    values: dict[str, _Entry] = field(default_factory=dict)  # by canonical field
    status_cells: dict[str, _Entry] = field(default_factory=dict)  # by header, value normalised
    lines: list[LineRecord] = field(default_factory=list)
    line_keys: dict[object, int] = field(default_factory=dict)


def _merge(path: Path, draft: _Draft, found: dict[str, _Entry], key: str, entry: _Entry) -> None:
    old = found.setdefault(key, entry)
    if old[0] != entry[0]:
        raise ImportFileError(
            path, entry[2], entry[3],
            f"order {draft.order_id!r}: {key} is {entry[1]!r} here but {old[1]!r} on row {old[2]}",
        )


def _add_line(reader: _Reader, draft: _Draft, row: int, cells: tuple[str, ...]) -> None:
    line, key_text, key_col = reader.line(row, cells, len(draft.lines) + 1)
    key = line.line_no if reader.profile.line_key == "line_no" else line.sku
    if key in draft.line_keys:
        raise reader.error(
            row, key_col,
            f"duplicate line: order {draft.order_id!r} already has {reader.profile.line_key} "
            f"{key_text!r} on row {draft.line_keys[key]}",
        )
    draft.line_keys[key] = row
    draft.lines.append(line)


def parse_orders(path: Path | str, profile: Profile, lines_path: Path | str | None = None,
                 progress: Progress | None = None) -> list[OrderRecord]:
    """Read and validate a whole export (and its lines file); any problem raises ImportFileError."""
    table = read_table(path, profile.encodings)
    lines_table = None
    if lines_path is not None:
        if profile.lines_file is None:
            raise ImportFileError(Path(lines_path), 1, None, f"format {profile.name!r} takes no lines file")
        lines_table = read_table(lines_path, profile.encodings)
    ticker = Ticker(progress, len(table.rows) + (len(lines_table.rows) if lines_table else 0))
    reader = _Reader(table, profile, profile.order)
    line_reader = _Reader(table, profile, profile.line) if lines_table is None else None
    index = table.column_index()
    status_cols = {index[normalize_header(a)]: table.header[index[normalize_header(a)]]
                   for rule in profile.status_rules for a in rule.columns if normalize_header(a) in index}
    order_fields = [name for name in reader.bound if name != "order_id"]  # in profile order: stable errors
    drafts: dict[str, _Draft] = {}
    for row, cells in table.rows:
        order_id = str(reader.required(row, cells, "order_id")[0])
        draft = drafts.setdefault(order_id, _Draft(order_id, row))
        for name in order_fields:
            if (found := reader.value(row, cells, name)) is not None:
                _merge(table.path, draft, draft.values, name, (found[0], found[1], row, found[2]))
        for col, header in status_cols.items():
            if raw := reader.cell(cells, col):
                _merge(table.path, draft, draft.status_cells, header, (normalize_value(raw), raw, row, header))
        if line_reader is not None:
            _add_line(line_reader, draft, row, cells)
        ticker.tick()
    if lines_table is not None:
        assert profile.lines_file is not None
        lines_reader = _Reader(lines_table, profile, profile.lines_file)
        for row, cells in lines_table.rows:
            value, _, column = lines_reader.required(row, cells, "order_id")
            if (owner := drafts.get(str(value))) is None:
                raise lines_reader.error(row, column, f"order {value!r} is not in {table.path.name}")
            _add_line(lines_reader, owner, row, cells)
            ticker.tick()
    rules = [(rule, [table.header[index[normalize_header(a)]] for a in rule.columns if normalize_header(a) in index])
             for rule in profile.status_rules]
    return [_record(table, reader, profile, rules, draft, lines_table) for draft in drafts.values()]


def _record(table: Table, reader: _Reader, profile: Profile, rules: list[tuple[StatusRule, list[str]]],
            draft: _Draft, lines_table: Table | None) -> OrderRecord:
    if not draft.lines:
        assert lines_table is not None  # without a lines file every row is a line
        raise ImportFileError(table.path, draft.row, reader.bound["order_id"].parts[0][0][1],
                              f"order {draft.order_id!r} has no lines in {lines_table.path.name}")
    values: dict[str, object] = {}
    for name, bound in reader.bound.items():
        if name != "order_id":
            column = f"{name}_cents" if bound.spec.kind == "money" else name
            blank = _BLANK_BY_KIND.get(bound.spec.kind, "")
            values[column] = draft.values[name][0] if name in draft.values else blank
    # A canonical file may carry each order's platform; where it is blank or absent, the profile's.
    values["platform"] = values.get("platform") or profile.platform
    return OrderRecord(draft.order_id, _status(table, profile, rules, draft), values,
                       tuple(sorted(draft.lines, key=lambda line: line.line_no)), draft.row)


def _status(table: Table, profile: Profile, rules: list[tuple[StatusRule, list[str]]], draft: _Draft) -> str:
    """First rule that applies wins; each rule reads its first alias column the order has a value in."""
    for rule, headers in rules:
        cells = [draft.status_cells[h] for h in headers if h in draft.status_cells]
        if not cells:
            continue
        value, raw, row, column = cells[0]
        if rule.when_filled is not None:
            return rule.when_filled
        if isinstance(value, str) and value in rule.values:
            return rule.values[value]
        if rule.strict:
            known = ", ".join(repr(k) for k in rule.values)
            raise ImportFileError(table.path, row, column, f"unknown status {raw!r} (known: {known})")
    return profile.status_default
