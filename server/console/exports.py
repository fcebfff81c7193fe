"""Reconciliation as CSV and XLSX files for a spreadsheet.

A cell that a spreadsheet would take for a formula (starting with = + - @, tab or CR) is written
with a leading apostrophe: a shop named `=HYPERLINK(…)` stays text (CSV injection). CSV is UTF-8
with a BOM, which Excel needs to read Chinese shop names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from openpyxl import Workbook

from server.console.reconcile import KINDS, LISTS, Row

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def header(_: Callable[[str], str]) -> list[str]:
    """In the user's language (`_` is the page's translator)."""
    return ([_("Shop"), _("Day"), _("Platform orders"), _("Cancelled"), _("Packed"), _("Handed over"),
             _("Carrier accepted")] + [_(label) for label in LISTS.values()]
            + [_("Deviation") + f" {_(label)} %" for label in KINDS.values()] + [_("Deviation") + " %"])


def table(rows: Sequence[Row]) -> list[list[object]]:
    return [[_cell(r.shop), r.day.isoformat(), r.orders, r.cancelled, r.packed, r.handed_over, r.accepted,
             *(r.lists.get(name, 0) for name in LISTS), *r.deviations().values(), r.deviation] for r in rows]


def to_csv(head: list[str], body: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(body)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(head: list[str], body: list[list[object]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(head)
    for row in body:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
