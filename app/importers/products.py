"""Canonical product CSV → `ProductRecord`s (pure: reads the file, writes nothing).

Columns: `sku,name,barcodes,weight_g,stock` (header row first, any order, UTF-8 or GB18030).
`sku` and `name` are required, and a file with an order export's columns (an order id, a receiver:
the columns the built-in order profiles map) is refused as one, naming them. A missing `barcodes`,
`weight_g` or `stock` column leaves those values as they are in the store. `barcodes` holds several
codes separated by `|`. `weight_g` (grams) and `stock` are whole numbers, never negative.

A barcode's store key is its normalised form: EAN-8, UPC-E, UPC-A, EAN-13 and GTIN-14 digit strings
become the 14-digit GTIN key (`app.barcodes.gtin_key`, which checks the check digit), so a UPC-A item
matches when a scanner sends it as 13 digits; any other code is its own key. A bad check digit, or a
code listed for two skus, is a row error: a scan must never silently match the wrong product.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.barcodes import BarcodeError, gtin_key
from app.errors import words_of
from app.i18n import N_, Phrase, Words
from app.importers.orders import Progress, Ticker
from app.importers.profile import builtin_names, load_profile
from app.importers.source import ImportFileError, Table, clean_cell, normalize_header, read_table, to_code, to_whole

REQUIRED = ("sku", "name")
ORDER_MARKER_FIELDS = ("order_id", "receiver_name", "receiver_phone", "receiver_address")
OPTIONAL = ("barcodes", "weight_g", "stock")
GTIN_LENGTHS = frozenset({8, 12, 13, 14})


@dataclass(frozen=True)
class ProductRecord:
    sku: str
    values: Mapping[str, object]  # name, and weight_g / stock when the file has those columns
    barcodes: tuple[tuple[str, str], ...] | None  # (key, as written); None: file has no barcodes column
    row: int
    barcode_column: str = "barcodes"


def barcode_key(text: str) -> str:
    if text.isascii() and text.isdigit() and len(text) in GTIN_LENGTHS:
        try:
            return gtin_key(text)
        except BarcodeError as exc:
            raise ValueError(Phrase(N_("barcode {code!r}: {reason}"), {"code": text, "reason": exc.words})) from None
    return text


@functools.cache
def _order_markers() -> frozenset[str]:
    """Headers that only an order export has: each built-in profile's order id and receiver columns."""
    markers: set[str] = set()
    for name in builtin_names():
        profile = load_profile(name)
        for field in ORDER_MARKER_FIELDS:
            if (spec := profile.order.get(field)) is not None:
                markers.update(normalize_header(alias) for part in spec.parts for alias in part)
    return frozenset(markers - set(REQUIRED + OPTIONAL))  # Shopify's order number is its "Name" column


def _refuse_orders(table: Table) -> None:
    """An order export has `sku` and `name` columns too (canonical) or none at all: importing one as
    products would rename products after order lines and create weightless ones. Refuse it by name."""
    found = [h for h in table.header if normalize_header(h) in _order_markers()]
    if found:
        raise ImportFileError(
            table.path, table.header_row, None,
            N_("this looks like an order export (columns {found}), not a product list: use import-orders for it; "
               "a product list has the columns {columns}"),
            found=", ".join(repr(h) for h in found[:4]), columns=", ".join(REQUIRED + OPTIONAL))


def parse_products(path: Path | str, progress: Progress | None = None) -> list[ProductRecord]:
    table = read_table(path)
    _refuse_orders(table)
    index = table.column_index()
    for name in REQUIRED:
        if name not in index:
            shown = ", ".join(repr(h) for h in table.header[:8]) + (", …" if len(table.header) > 8 else "")
            raise ImportFileError(table.path, table.header_row, name,
                                  N_("missing column: a product list needs {needed} (found {found})"),
                                  needed=", ".join(REQUIRED), found=shown)
    col = {name: index[name] for name in REQUIRED + OPTIONAL if name in index}
    header = {name: table.header[i] for name, i in col.items()}
    ticker = Ticker(progress, len(table.rows))
    records: list[ProductRecord] = []
    sku_rows: dict[str, int] = {}
    owners: dict[str, tuple[str, int]] = {}  # barcode key → (sku, row) in this file

    for row, cells in table.rows:
        def cell(name: str, cells: tuple[str, ...] = cells) -> str:
            i = col[name]
            return clean_cell(cells[i]) if i < len(cells) else ""

        def fail(name: str, message: str | Words, row: int = row, **values: Any) -> ImportFileError:
            return ImportFileError(table.path, row, header[name], message, **values)

        try:
            sku = to_code(cell("sku"))
        except ValueError as exc:
            raise fail("sku", words_of(exc)) from None
        if not sku:
            raise fail("sku", N_("{field} is empty"), field="sku")
        if sku in sku_rows:
            raise fail("sku", N_("sku {sku!r} is already on row {other}"), sku=sku, other=sku_rows[sku])
        sku_rows[sku] = row
        name = cell("name")
        if not name:
            raise fail("name", N_("{field} is empty"), field="name")
        values: dict[str, object] = {"name": name}
        for field in ("weight_g", "stock"):
            if field in col:
                try:
                    values[field] = to_whole(cell(field)) if cell(field) else 0
                except ValueError as exc:
                    raise fail(field, words_of(exc)) from None
        barcodes: list[tuple[str, str]] | None = None
        if "barcodes" in col:
            barcodes = []
            for raw in (part.strip() for part in cell("barcodes").split("|")):
                if not raw:
                    continue
                try:
                    raw = to_code(raw)
                    key = barcode_key(raw)
                except ValueError as exc:
                    raise fail("barcodes", words_of(exc)) from None
                other, other_row = owners.setdefault(key, (sku, row))
                if other != sku:
                    raise fail("barcodes", N_("barcode {code!r} is also listed for sku {other!r} on row {other_row}; "
                                              "a barcode belongs to one sku, not to {other!r} and {sku!r}"),
                               code=raw, other=other, other_row=other_row, sku=sku)
                if all(key != k for k, _ in barcodes):  # the same code twice for one sku is harmless
                    barcodes.append((key, raw))
        records.append(ProductRecord(sku, values, tuple(barcodes) if barcodes is not None else None, row,
                                     header.get("barcodes", "barcodes")))
        ticker.tick()
    ticker.finish()
    return records
