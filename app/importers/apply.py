"""Writing parsed records into the station store: one transaction and one audit entry per import.

Records are validated by the parser before they reach here; here we only compare with the store and
write, in chunks (prefetch by id, one prepared `executemany`), never one SELECT per row. A streamed
import is written chunk by chunk inside its one transaction: a file refused at its last row leaves
nothing behind.

Re-import semantics for orders:
- Upsert by `order_id`: importing the same file again never duplicates an order or a line.
- Only the columns the file carries are written. A column the file lacks (Shopify has no tracking
  number) keeps its stored value, so a re-import never blanks a waybill bound at the station.
- While an order is not packed yet, its lines are replaced by the file's lines. "Packed" means status
  packed or shipped, or a pack_session in state completed or short_shipped.
- A packed order keeps its local status and lines, except that a platform status of cancelled or
  refunded IS applied (a later step raises an intercept from it). Its other fields are updated.
- An order equal to the file (fields, and lines unless packed) counts as unchanged and is not written,
  so its `updated_at` stays; created and updated orders get `updated_at` from the clock.

Products: upsert by sku; a file with a barcodes column replaces each listed product's barcodes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import peewee as pw

from app.audit import record_fact, seal_written_rows
from app.clock import Clock, iso
from app.i18n import N_, Phrase
from app.importers.orders import LineRecord, OrderRecord
from app.importers.products import ProductRecord
from app.importers.source import ImportFileError
from app.store import Store
from app.store.models import Order, OrderLine, PackSession, Product, ProductBarcode
from app.store.states import PACKED_SESSIONS, PACKED_STATUSES, STOPPED_STATUSES

T = TypeVar("T")
IN_CHUNK = 500  # ids per `IN (...)`: well under SQLite's oldest host-parameter limit (999)
RECORD_CHUNK = 2000  # orders compared and written per step of a (streamed) import
_PLAIN_FIELDS = (pw.TextField, pw.IntegerField, pw.ForeignKeyField)
PLATFORM_WINS = STOPPED_STATUSES  # applied even to packed orders


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Source:
    """The files behind an import: named in the audit entry and in row errors found against the store."""

    path: Path
    sha256: str
    rows: int
    format: str
    lines_path: Path | None = None
    lines_sha256: str | None = None

    def payload(self, counts: Counts) -> dict[str, Any]:
        body: dict[str, Any] = {
            "file": self.path.name, "sha256": self.sha256, "format": self.format, "rows": self.rows,
            "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
        }
        if self.lines_path is not None:
            body.update(lines_file=self.lines_path.name, lines_sha256=self.lines_sha256)
        return body


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _fetch(query: Any) -> Iterator[Any]:
    """Rows of a `.tuples()` / `.dicts()` query (peewee's stubs type them as model instances)."""
    yield from query


def _existing(model: Any, key: Any, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored rows whose unique `key` is in `keys`, as dicts: one SELECT per chunk of keys."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(keys, IN_CHUNK):
        found.update((row[key.name], row) for row in _fetch(model.select().where(key.in_(chunk)).dicts()))
    return found


def _upsert(store: Store, model: Any, key: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert-or-update by the unique `key`; every row carries every column."""
    _insert_rows(store, model, rows, conflict_key=key)


def _insert_rows(store: Store, model: Any, rows: Sequence[dict[str, Any]], conflict_key: Any = None) -> None:
    """One prepared INSERT run with `executemany`: peewee's `insert_many` spends most of a large
    import building SQL text, and the import holds the store's write lock (the bench waits) meanwhile."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({", ".join("?" * len(fields))})'
    if conflict_key is not None:
        updates = ", ".join(f'"{f.column_name}" = excluded."{f.column_name}"' for f in fields if f is not conflict_key)
        sql += f' ON CONFLICT ("{conflict_key.column_name}") DO UPDATE SET {updates}'
    if all(isinstance(f, _PLAIN_FIELDS) for f in fields):
        # Text and integer columns store the parser's str / int / None as they are: no per-cell
        # db_value call (a third of the write time of a 10^6-line file).
        pick = operator.itemgetter(*(f.name for f in fields))
        values: Any = map(pick, rows) if len(fields) > 1 else ((pick(row),) for row in rows)
    else:
        values = (tuple(f.db_value(row[f.name]) for f in fields) for row in rows)
    db: Any = store.db
    db.connection().executemany(sql, values)


def _ids(model: Any, key: Any, keys: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(keys, IN_CHUNK):
        ids.update(_fetch(model.select(key, model._meta.primary_key).where(key.in_(chunk)).tuples()))
    return ids


def _replace_children(store: Store, model: Any, parent: Any, parent_ids: Sequence[int],
                      rows: Sequence[dict[str, Any]]) -> None:
    """Delete all children of these parents, then insert `rows`: deletes first, so a unique child
    (a barcode) may move from one parent to another within the same import."""
    for ids in _chunks(parent_ids, IN_CHUNK):
        model.delete().where(parent.in_(ids)).execute()
    _insert_rows(store, model, rows)


def _defaults(model: Any) -> dict[str, Any]:
    return {f.name: f.default for f in model._meta.sorted_fields if not f.primary_key}


def _differs(stored: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(stored[k] != v for k, v in new.items())


def _line_key(line: LineRecord) -> tuple[int, str, str, int, int]:
    return (line.line_no, line.sku, line.name, line.qty, line.unit_price_cents)


def apply_orders(store: Store, records: Iterable[OrderRecord], clock: Clock, *,
                 source: Source | Callable[[], Source], actor: str = "import") -> Counts:
    """Write the records, RECORD_CHUNK at a time, all inside one transaction with the audit entry.

    `records` may be a stream (the parser's): it is consumed chunk by chunk, so memory holds one
    chunk, and a parse error midway rolls everything back. `source` may be a callable for a stream,
    whose row count is known only at its end. An order that needs attention (a line without SKU) is
    held by its status and gets a case here, in the same transaction.
    """
    now = clock.now()
    stamp = iso(now)
    template = _defaults(Order)
    total = Counts()
    with store.atomic():
        for n, chunk in enumerate(_batched(records, RECORD_CHUNK)):
            if n:
                # The audit capture holds every row written since the last entry: seal the previous
                # chunk's rows now, so a file of 10^6 lines never holds them all (in memory or in one entry).
                seal_written_rows(now)
            if len({r.order_id for r in chunk}) != len(chunk):  # across chunks, the parser sees to it
                raise ValueError("apply_orders: records repeat an order_id; the parser groups them")
            counts = _apply_order_chunk(store, chunk, template, stamp)
            total = Counts(total.created + counts.created, total.updated + counts.updated,
                           total.unchanged + counts.unchanged)
            _open_attention_cases(store, clock, [r for r in chunk if r.attention], actor)
        record_fact("import.orders", actor, now, (source() if callable(source) else source).payload(total))
    return total


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _apply_order_chunk(store: Store, records: Sequence[OrderRecord], template: dict[str, Any], stamp: str) -> Counts:
    existing = _existing(Order, Order.order_id, [r.order_id for r in records])
    packed = {o["id"] for o in existing.values() if o["status"] in PACKED_STATUSES}
    stored_lines: dict[int, list[tuple[int, str, str, int, int]]] = {}
    for chunk in _chunks([o["id"] for o in existing.values()], IN_CHUNK):
        sessions = PackSession.select(PackSession.order).where(
            PackSession.order.in_(chunk), PackSession.state.in_(PACKED_SESSIONS))
        packed.update(pk for (pk,) in _fetch(sessions.tuples()))
        lines = OrderLine.select(OrderLine.order, OrderLine.line_no, OrderLine.sku, OrderLine.name,
                                 OrderLine.qty, OrderLine.unit_price_cents).where(OrderLine.order.in_(chunk))
        for pk, *line in _fetch(lines.order_by(OrderLine.order, OrderLine.line_no).tuples()):
            stored_lines.setdefault(pk, []).append(tuple(line))

    rows: list[dict[str, Any]] = []
    relined: list[OrderRecord] = []
    created = updated = unchanged = 0
    for rec in records:
        cur = existing.get(rec.order_id)
        if cur is None:
            created += 1
            rows.append({**template, **rec.values, "order_id": rec.order_id, "status": rec.status,
                         "updated_at": stamp})
            relined.append(rec)
            continue
        is_packed = cur["id"] in packed
        new = {**rec.values, "status": rec.status if not is_packed or rec.status in PLATFORM_WINS
               else cur["status"]}
        lines_differ = not is_packed and [_line_key(x) for x in rec.lines] != stored_lines.get(cur["id"], [])
        if not lines_differ and not _differs(cur, new):
            unchanged += 1
            continue
        updated += 1
        rows.append({**cur, **new, "updated_at": stamp})
        if lines_differ:
            relined.append(rec)

    for row in rows:
        row.pop("id", None)
    _upsert(store, Order, Order.order_id, rows)
    pk_of = _ids(Order, Order.order_id, [r.order_id for r in relined])
    line_rows = [
        {"order": pk_of[rec.order_id], "line_no": x.line_no, "sku": x.sku, "name": x.name, "qty": x.qty,
         "unit_price_cents": x.unit_price_cents}
        for rec in relined for x in rec.lines
    ]
    _replace_children(store, OrderLine, OrderLine.order, list(pk_of.values()), line_rows)
    return Counts(created, updated, unchanged)


ATTENTION_TAG = "import_attention"
ATTENTION_TITLE = N_("{order_id}: an order line has no SKU: order held")
ATTENTION_SOP = N_(
    "1. Open the order on the platform and find the line(s) without a SKU (rows in the detail): custom "
    "item, free gift, or a shop without SKUs.\n"
    "2. Give the item its merchant SKU on the platform and re-import; a line that ships nothing (a tip, a "
    "service) should be marked as not requiring shipping there.\n"
    "3. Once re-imported the order can be packed; close with what was done."
)


def _open_attention_cases(store: Store, clock: Clock, records: Sequence[OrderRecord], actor: str) -> None:
    if not records:
        return
    from app.cases import open_case  # cases → audit → store; imported only when a file needs it

    orders = {o.order_id: o for o in Order.select().where(Order.order_id.in_([r.order_id for r in records]))}
    for rec in records:
        open_case(store, clock, dedupe_key=f"{ATTENTION_TAG}:{rec.order_id}", tag=ATTENTION_TAG,
                  rule_id="builtin.import_attention", severity="warning", route="supervisor",
                  title=Phrase(ATTENTION_TITLE, {"order_id": rec.order_id}),
                  sop=ATTENTION_SOP, order=orders.get(rec.order_id), actor=actor,
                  detail={"lines": list(rec.attention)})


def apply_products(store: Store, records: Sequence[ProductRecord], clock: Clock, *, source: Source,
                   actor: str = "import") -> Counts:
    now = clock.now()
    stamp = iso(now)
    relisted = {r.sku for r in records if r.barcodes is not None}
    template = _defaults(Product)
    with store.atomic():
        existing = _existing(Product, Product.sku, [r.sku for r in records])
        bound: dict[str, str] = {}  # barcode key → the sku it is bound to in the store
        for chunk in _chunks([key for r in records for key, _ in r.barcodes or ()], IN_CHUNK):
            owners = ProductBarcode.select(ProductBarcode.key, Product.sku).join(Product).where(
                ProductBarcode.key.in_(chunk))
            bound.update(_fetch(owners.tuples()))
        stored_codes: dict[int, set[tuple[str, str]]] = {}
        for chunk in _chunks([p["id"] for p in existing.values()], IN_CHUNK):
            codes = ProductBarcode.select(ProductBarcode.product, ProductBarcode.key, ProductBarcode.raw)
            for pk, key, raw in _fetch(codes.where(ProductBarcode.product.in_(chunk)).tuples()):
                stored_codes.setdefault(pk, set()).add((key, raw))

        rows: list[dict[str, Any]] = []
        recoded: list[ProductRecord] = []
        created = updated = unchanged = 0
        for rec in records:
            for key, raw in rec.barcodes or ():
                owner = bound.get(key)
                # Taking a code from a product this file also relists is fine: that one's codes are replaced.
                if owner is not None and owner != rec.sku and owner not in relisted:
                    raise ImportFileError(source.path, rec.row, rec.barcode_column,
                                          N_("barcode {code!r} is already bound to sku {owner!r}, not {sku!r}"),
                                          code=raw, owner=owner, sku=rec.sku)
            cur = existing.get(rec.sku)
            if cur is None:
                created += 1
                rows.append({**template, **rec.values, "sku": rec.sku, "updated_at": stamp})
                recoded.append(rec)
                continue
            codes_differ = rec.barcodes is not None and set(rec.barcodes) != stored_codes.get(cur["id"], set())
            if not codes_differ and not _differs(cur, dict(rec.values)):
                unchanged += 1
                continue
            updated += 1
            rows.append({**cur, **rec.values, "updated_at": stamp})
            if codes_differ:
                recoded.append(rec)

        for row in rows:
            row.pop("id", None)
        _upsert(store, Product, Product.sku, rows)
        pk_of = _ids(Product, Product.sku, [r.sku for r in recoded])
        code_rows = [{"key": k, "raw": raw, "product": pk_of[r.sku]} for r in recoded for k, raw in r.barcodes or ()]
        _replace_children(store, ProductBarcode, ProductBarcode.product, list(pk_of.values()), code_rows)
        counts = Counts(created, updated, unchanged)
        record_fact("import.products", actor, now, source.payload(counts))
    return counts
