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

Real exports, taken as they come:
- a line that needs no shipping (Shopify gift cards, tips: `requires_shipping` false) is skipped and
  counted; an order left with nothing to ship is not imported (counted too);
- a line without a SKU (custom items, shops without SKUs) is kept with an empty SKU and its order
  is held (`on_hold`; `OrderRecord.attention` says why and the import opens a case) instead of
  refusing the file;
- the same SKU twice in one order (line_key = "sku") is one line with the quantities summed;
- the profile's `nonblank` fields (receiver phone, address) must be filled on every order that is
  not cancelled or refunded: a blank one means a header this profile does not know, so the file is
  refused naming the column it expected.

Streaming: `OrderStream` reads the file row by row and yields an order as soon as its rows end (an
order's rows are contiguous in every platform's export; rows of one order far apart are refused),
so memory does not grow with the file. A lines file (Taobao's item report) is joined on the order
id, which holds the order report's orders in memory: fine for 10^5 orders, not meant for 10^7.
"""



from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import words_of
from app.i18n import N_, Words
from app.importers.profile import FieldSpec, Profile, StatusRule
from app.importers.source import (
    Header,
    ImportFileError,
    Sniffed,
    clean_cell,
    normalize_header,
    normalize_value,
    sniff,
    stream_table,
    to_code,
    to_count,
    to_fen,
    to_flag,
    to_phone,
    to_utc,
)
from app.store.states import STOPPED_STATUSES, OrderStatus

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1000
CACHE_PER_FIELD = 4096  # converted values kept per field (cleared when full)
_BLANK_BY_KIND: dict[str, object] = {"time": None, "money": 0, "id": None}
NOT_TO_CHECK = STOPPED_STATUSES  # closed orders may carry no receiver at all


@dataclass(frozen=True)
class LineRecord:
    line_no: int
    sku: str  # "" for a line the export gave no SKU: its order needs attention
    name: str
    qty: int
    unit_price_cents: int
    row: int  # physical line in its file


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    status: str  # platform status, mapped by the profile (on_hold when the order needs attention)
    # The other `Order` columns the file carries, by store column name. A column the file lacks is
    # absent here, so a re-import never blanks what the file did not say (e.g. a bound waybill).
    values: Mapping[str, object]
    lines: tuple[LineRecord, ...]
    row: int  # first row of the order
    attention: tuple[str, ...] = ()  # why a person must look before it is packed (a line without SKU)


@dataclass
class ParseStats:
    """What the parse set aside or folded, for the import report."""

    rows: int = 0  # data rows read (both files with a lines file)
    skipped_lines: int = 0  # lines that need no shipping
    empty_orders: int = 0  # orders with nothing to ship: not imported
    merged_lines: int = 0  # repeated SKUs folded into the line before them
    attention: int = 0  # orders held because a line has no SKU


class Ticker:
    """Calls `progress(done, total)` every PROGRESS_EVERY rows; `total` is an estimate (the file's
    line count) until `finish`, which reports the true count once."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def tick(self) -> None:
        self.done += 1
        if self.progress and self.done % PROGRESS_EVERY == 0 and self.done < self.total:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress:
            self.progress(self.done, self.done)


@dataclass(frozen=True)
class _Bound:
    spec: FieldSpec
    parts: tuple[tuple[tuple[int, str], ...], ...]  # per part: (cell index, header as written)


class _Reader:
    """Canonical values out of one file's rows; every failure names the row and the column."""

    def __init__(self, table: Header, profile: Profile, specs: Mapping[str, FieldSpec]) -> None:
        self.table, self.profile = table, profile
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
            elif name in profile.required or name in profile.nonblank:
                raise self.missing(spec.parts[0], name)
        for name in profile.nonblank:
            # A joined address must have its last part (the street): 省 市 区 alone is no address.
            if name in specs and not self.bound[name].parts[-1]:
                raise self.missing(specs[name].parts[-1], name)
        # Every cell index a field reads: a row's blank cells are skipped without looking at the field
        # (Shopify leaves the order columns of all but an order's first row blank).
        self.watch = tuple((index, name) for name, bound in self.bound.items()
                           for part in bound.parts for index, _ in part)
        self.direct = {name: bound.parts[0][0] for name, bound in self.bound.items()
                       if len(bound.parts) == 1 and len(bound.parts[0]) == 1 and bound.spec.combine == "join"}
        self.seen: dict[str, dict[str, tuple[object, str]]] = {name: {} for name in self.bound}

    def touched(self, cells: tuple[str, ...]) -> set[str]:
        """The fields with a non-empty cell on this row."""
        width = len(cells)
        return {name for index, name in self.watch if index < width and cells[index]}

    def missing(self, aliases: tuple[str, ...], name: str) -> ImportFileError:
        if len(aliases) > 1:
            return ImportFileError(self.table.path, self.table.header_row, aliases[0],
                                   N_("missing column (or {others}), needed for {field}"),
                                   others=", ".join(repr(a) for a in aliases[1:]), field=name)
        return ImportFileError(self.table.path, self.table.header_row, aliases[0],
                               N_("missing column, needed for {field}"), field=name)

    def cell(self, cells: tuple[str, ...], index: int) -> str:
        text = cells[index] if index < len(cells) else ""
        if not text:  # most cells of a wide export are empty: keep that path short
            return ""
        text = clean_cell(text)
        return "" if text in self.profile.blank else text

    def first(self, cells: tuple[str, ...], part: tuple[tuple[int, str], ...], kind: str) -> tuple[str, str] | None:
        """(text, column) of the part's first non-blank alias."""
        for index, header in part:
            if text := self.cell(cells, index):
                # Excel's apostrophe on a zip code is not part of the address.
                return (text.lstrip("'") if kind == "address" else text), header
        return None

    def text(self, cells: tuple[str, ...], name: str) -> tuple[str, str]:
        """(text, column it came from): per part the first non-blank alias; parts joined."""
        bound = self.bound[name]
        if len(bound.parts) == 1:  # most fields: no list to build
            hit = self.first(cells, bound.parts[0], bound.spec.kind)
            return hit if hit is not None else ("", bound.parts[0][0][1])
        found = [hit for part in bound.parts if (hit := self.first(cells, part, bound.spec.kind))]
        if not found:
            return "", next(header for part in bound.parts for _, header in part)
        return bound.spec.sep.join(t for t, _ in found), found[0][1]

    def last_part_filled(self, cells: tuple[str, ...], name: str) -> bool:
        bound = self.bound[name]
        return self.first(cells, bound.parts[-1], bound.spec.kind) is not None

    def error(self, row: int, column: str | None, message: str | Words, /, **values: Any) -> ImportFileError:
        return ImportFileError(self.table.path, row, column, message, **values)

    def value(self, row: int, cells: tuple[str, ...], name: str) -> tuple[object, str, str] | None:
        """(value, raw text, column), or None when the cell is blank or the column absent."""
        if (direct := self.direct.get(name)) is not None:
            # One column, one alias (most fields): the cell as it stands keys the cache.
            index, column = direct
            raw = cells[index] if index < len(cells) else ""
            if not raw:
                return None
            if (hit := self.seen[name].get(raw)) is not None:
                return hit[0], hit[1], column
            text = self.cell(cells, index)
            if self.bound[name].spec.kind == "address":
                text = text.lstrip("'")
            if not text:
                return None
            value = self.convert(row, column, name, text)
            self.remember(name, raw, value, text)
            return value, text, column
        if name not in self.bound:
            return None
        if self.bound[name].spec.combine == "sum":
            return self.total(row, cells, name)
        text, column = self.text(cells, name)
        if not text:
            return None
        if (hit := self.seen[name].get(text)) is not None:
            return hit[0], text, column
        value = self.convert(row, column, name, text)
        self.remember(name, text, value, text)
        return value, text, column

    def remember(self, name: str, key: str, value: object, text: str) -> None:
        """Conversions are pure: an export repeats SKUs, prices, quantities and an order's times."""
        seen = self.seen[name]
        if len(seen) >= CACHE_PER_FIELD:
            seen.clear()
        seen[key] = (value, text)

    def convert(self, row: int, column: str, name: str, text: str) -> object:
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
            elif kind == "flag":
                value = to_flag(text)
            else:
                value = text
        except ValueError as exc:
            raise self.error(row, column, words_of(exc)) from None
        return value

    def total(self, row: int, cells: tuple[str, ...], name: str) -> tuple[object, str, str] | None:
        """A money field that adds several columns up (shop + platform discounts)."""
        amount, texts, column = 0, [], ""
        for part in self.bound[name].parts:
            if (hit := self.first(cells, part, "money")) is None:
                continue
            try:
                amount += to_fen(hit[0], self.profile.money)
            except ValueError as exc:
                raise self.error(row, hit[1], words_of(exc)) from None
            texts.append(hit[0])
            column = column or hit[1]
        return (amount, "+".join(texts), column) if texts else None

    def required(self, row: int, cells: tuple[str, ...], name: str) -> tuple[object, str, str]:
        found = self.value(row, cells, name)
        if found is None:
            raise self.error(row, self.text(cells, name)[1], N_("{field} is empty"), field=name)
        return found

    def line(self, row: int, cells: tuple[str, ...], next_no: int) -> tuple[LineRecord, str, str] | None:
        """The line on this row, plus the text and column of its identity (line_no or sku); None
        for a line that needs no shipping."""
        ships = self.value(row, cells, "requires_shipping")
        if ships is not None and ships[0] is False:
            return None
        qty = _int(self.required(row, cells, "qty")[0])
        found = self.value(row, cells, "sku")
        sku, sku_text, sku_col = found if found else ("", "", self.text(cells, "sku")[1])
        if self.profile.line_key == "line_no":
            line_no, key_text, key_col = self.required(row, cells, "line_no")
        else:
            line_no, key_text, key_col = next_no, sku_text, sku_col
        name = self.value(row, cells, "name")
        if (price := self.value(row, cells, "unit_price")) is not None:
            unit = _int(price[0])
        elif (total := self.value(row, cells, "line_total")) is not None:
            unit = _per_unit(_int(total[0]), qty)
        else:
            unit = 0
        line = LineRecord(_int(line_no), str(sku), str(name[0]) if name else "", qty, unit, row)
        return line, key_text, key_col


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _per_unit(total: int, qty: int) -> int:
    return (2 * total + qty) // (2 * qty)  # total / qty rounded half up, exact in integers


_Entry = tuple[object, str, int, str]  # value, text as written, row, column


@dataclass
class _Draft:
    order_id: str
    row: int
    values: dict[str, _Entry] = field(default_factory=dict)  # by canonical field
    status_cells: dict[str, _Entry] = field(default_factory=dict)  # by header, value normalised
    lines: list[LineRecord] = field(default_factory=list)
    line_keys: dict[object, int] = field(default_factory=dict)  # key → index in lines
    filled: set[str] = field(default_factory=set)  # nonblank fields some row filled
    attention: list[str] = field(default_factory=list)
    skipped: int = 0


def _merge(path: Path, draft: _Draft, found: dict[str, _Entry], key: str, entry: _Entry) -> None:
    old = found.setdefault(key, entry)
    if old[0] != entry[0]:
        raise ImportFileError(
            path, entry[2], entry[3],
            N_("order {order!r}: {field} is {here!r} here but {there!r} on row {row}"),
            order=draft.order_id, field=key, here=entry[1], there=old[1], row=old[2],
        )


class OrderStream:
    """One order export (and its lines file) as a stream of validated `OrderRecord`s.

    Construction reads each file's bytes once (encoding, sha256, line count) and its header; iterating
    parses the rows. Any problem raises ImportFileError, possibly after some orders were yielded: the
    consumer writes inside one transaction, so nothing of a refused file stays.
    """

    def __init__(self, path: Path | str, profile: Profile, lines_path: Path | str | None = None,
                 progress: Progress | None = None) -> None:
        self.path, self.profile = Path(path), profile
        self.lines_path = Path(lines_path) if lines_path is not None else None
        if self.lines_path is not None and profile.lines_file is None:
            raise ImportFileError(self.lines_path, 1, None, N_("format {format!r} takes no lines file"),
                                  format=profile.name)
        self.sniffed = sniff(self.path, profile.encodings)
        self.lines_sniffed: Sniffed | None = None
        self.header, self.rows = stream_table(self.path, self.sniffed.encoding)
        try:
            if self.lines_path is None and not profile.line:
                assert profile.lines_file is not None
                needs = ", ".join(repr(spec.parts[0][0]) for spec in profile.lines_file.values())
                raise ImportFileError(
                    self.path, 0, None,
                    N_("a {format} order report has no line items: add the item report of the same orders "
                       "(the export with columns {needs}) with --lines FILE"), format=profile.name, needs=needs)
            if self.lines_path is not None:
                self.lines_sniffed = sniff(self.lines_path, profile.encodings)
            estimate = self.sniffed.lines - self.header.header_row
            if self.lines_sniffed is not None:
                estimate += self.lines_sniffed.lines - 1
            self.ticker = Ticker(progress, max(estimate, 1))
            self.stats = ParseStats()
            self.reader = _Reader(self.header, profile, profile.order)
            index = self.header.column_index()
            self.status_cols = {index[normalize_header(a)]: self.header.header[index[normalize_header(a)]]
                                for rule in profile.status_rules for a in rule.columns if normalize_header(a) in index}
            self.rules = [(rule, [self.header.header[index[normalize_header(a)]] for a in rule.columns
                                  if normalize_header(a) in index]) for rule in profile.status_rules]
            self.order_fields = [n for n in self.reader.bound if n != "order_id"]  # profile order: stable errors
        except BaseException:
            self.rows.close()
            raise

    def __iter__(self) -> Iterator[OrderRecord]:
        with self.rows:
            if self.lines_path is None:
                yield from self._grouped(_Reader(self.header, self.profile, self.profile.line))
            else:
                yield from self._joined(self.lines_path)
        self.stats.rows = self.ticker.done
        self.ticker.finish()

    def _grouped(self, line_reader: _Reader) -> Iterator[OrderRecord]:
        """One file with a row per line: an order is complete when the next order's rows begin."""
        finished: dict[str, int] = {}  # order id → its first row
        draft: _Draft | None = None
        for row, cells in self.rows:
            order_id = self._order_id(row, cells)
            if draft is not None and draft.order_id != order_id:
                finished[draft.order_id] = draft.row
                if (record := self._record(draft)) is not None:
                    yield record
                draft = None
            if draft is None:
                if order_id in finished:
                    raise self.reader.error(
                        row, self.reader.bound["order_id"].parts[0][0][1],
                        N_("order {order!r} continues here, apart from its rows from row {row}: "
                           "sort the file by order"),
                        order=order_id, row=finished[order_id])
                draft = _Draft(order_id, row)
            self._order_row(draft, row, cells)
            self._add_line(line_reader, draft, row, cells)
            self.ticker.tick()
        if draft is not None and (record := self._record(draft)) is not None:
            yield record

    def _joined(self, lines_path: Path) -> Iterator[OrderRecord]:
        """Taobao: the order report's orders in memory, the item report's lines joined on the id."""
        drafts: dict[str, _Draft] = {}
        for row, cells in self.rows:
            order_id = self._order_id(row, cells)
            self._order_row(drafts.setdefault(order_id, _Draft(order_id, row)), row, cells)
            self.ticker.tick()
        assert self.profile.lines_file is not None and self.lines_sniffed is not None
        header, rows = stream_table(lines_path, self.lines_sniffed.encoding)
        with rows:
            lines_reader = _Reader(header, self.profile, self.profile.lines_file)
            for row, cells in rows:
                value, _, column = lines_reader.required(row, cells, "order_id")
                if (owner := drafts.get(str(value))) is None:
                    raise lines_reader.error(row, column, N_("order {order!r} is not in {file}"), order=value,
                                             file=self.path.name)
                self._add_line(lines_reader, owner, row, cells)
                self.ticker.tick()
        for draft in drafts.values():
            if not draft.lines and not draft.skipped:
                raise ImportFileError(self.path, draft.row, self.reader.bound["order_id"].parts[0][0][1],
                                      N_("order {order!r} has no lines in {file}"), order=draft.order_id,
                                      file=lines_path.name)
            if (record := self._record(draft)) is not None:
                yield record

    def _order_id(self, row: int, cells: tuple[str, ...]) -> str:
        return str(self.reader.required(row, cells, "order_id")[0])

    def _order_row(self, draft: _Draft, row: int, cells: tuple[str, ...]) -> None:
        reader = self.reader
        touched = reader.touched(cells)
        for name in self.order_fields:
            if name in touched and (found := reader.value(row, cells, name)) is not None:
                _merge(self.path, draft, draft.values, name, (found[0], found[1], row, found[2]))
        for name in self.profile.nonblank:
            if name not in draft.filled and name in touched and reader.last_part_filled(cells, name):
                draft.filled.add(name)
        for col, header in self.status_cols.items():
            if raw := reader.cell(cells, col):
                _merge(self.path, draft, draft.status_cells, header, (normalize_value(raw), raw, row, header))

    def _add_line(self, reader: _Reader, draft: _Draft, row: int, cells: tuple[str, ...]) -> None:
        found = reader.line(row, cells, len(draft.lines) + 1)
        if found is None:
            draft.skipped += 1
            self.stats.skipped_lines += 1
            return
        line, key_text, key_col = found
        if not line.sku:
            draft.attention.append(f"row {row}: line {line.name or line.line_no!r} has no SKU")
            draft.lines.append(line)
            return
        key = line.line_no if self.profile.line_key == "line_no" else line.sku
        if key not in draft.line_keys:
            draft.line_keys[key] = len(draft.lines)
            draft.lines.append(line)
        elif self.profile.line_key == "line_no":
            first = draft.lines[draft.line_keys[key]]
            raise reader.error(row, key_col,
                               N_("duplicate line: order {order!r} already has line_no {line!r} on row {row}"),
                               order=draft.order_id, line=key_text, row=first.row)
        else:  # the same SKU twice (two variants' rows, a split promotion): one line, quantities summed
            at = draft.line_keys[key]
            first = draft.lines[at]
            qty = first.qty + line.qty
            total = first.qty * first.unit_price_cents + line.qty * line.unit_price_cents
            draft.lines[at] = LineRecord(first.line_no, first.sku, first.name, qty, _per_unit(total, qty), first.row)
            self.stats.merged_lines += 1

    def _record(self, draft: _Draft) -> OrderRecord | None:
        if not draft.lines:  # every line was one that needs no shipping (a gift card)
            self.stats.empty_orders += 1
            return None
        reader, values = self.reader, {}
        for name, bound in reader.bound.items():
            if name != "order_id":
                column = f"{name}_cents" if bound.spec.kind == "money" else name
                blank = _BLANK_BY_KIND.get(bound.spec.kind, "")
                values[column] = draft.values[name][0] if name in draft.values else blank
        # A canonical file may carry each order's platform; where it is blank or absent, the profile's.
        values["platform"] = values.get("platform") or self.profile.platform
        status = _status(self.path, self.profile, self.rules, draft)
        if status not in NOT_TO_CHECK:
            for name in self.profile.nonblank:
                if name not in draft.filled:
                    expected = reader.bound[name].parts[-1]
                    raise reader.error(
                        draft.row, expected[0][1],
                        N_("order {order!r}: {field} is empty after mapping; this export's {field} is not in column "
                           "{column!r}? (the file is refused: nothing imported)"),
                        order=draft.order_id, field=name, column=expected[0][1])
        if draft.attention:
            self.stats.attention += 1
            if status in (OrderStatus.NEW, OrderStatus.PAID):
                status = OrderStatus.ON_HOLD
        lines = tuple(sorted(draft.lines, key=lambda line: line.line_no))
        return OrderRecord(draft.order_id, status, values, lines, draft.row, tuple(draft.attention))


def _status(path: Path, profile: Profile, rules: list[tuple[StatusRule, list[str]]], draft: _Draft) -> str:
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
            raise ImportFileError(path, row, column, N_("unknown status {status!r} (known: {known})"), status=raw,
                                  known=known)
    return profile.status_default


def parse_orders(path: Path | str, profile: Profile, lines_path: Path | str | None = None,
                 progress: Progress | None = None) -> list[OrderRecord]:
    """Read and validate a whole export (and its lines file) into a list; raises ImportFileError."""
    return list(OrderStream(path, profile, lines_path, progress))

