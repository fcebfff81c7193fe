"""Pulls since a cursor: orders and tracking of the station's warehouse, all products,
and the station's own exception cases changed in the console (docs/architecture.md §10.3).

Every row of a stream carries a position from that stream's counter, handed out in commit order
(`server.db.take_positions`); a change takes a new position, so a changed order comes again after
its change, cancelled and refunded ones included. A cursor is `<stream letter>.<position>`
(`o.120`, `p.7`, `t.5031`, `c.3`); clients must treat it as opaque text and pass back `next_cursor`.
An empty cursor starts from the beginning; a cursor of another stream, or not a cursor, is refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.errors import InputError
from app.store.states import CaseState
from protocol import CaseChangeOut, EwaybillOut, LineOut, OrderOut, Page, ProductOut, TrackingEventOut
from server.db import ServerDb, placeholders

STREAMS = {"orders": "o", "products": "p", "tracking": "t", "cases": "c"}
_CURSOR_RE = re.compile(r"([a-z])\.(\d{1,18})")
ORDER_COLUMNS = ("order_id", "warehouse", "platform", "shop", "status", "buyer", "receiver_name", "receiver_phone",
                 "receiver_address", "total_cents", "paid_cents", "discount_cents", "shipping_cents",
                 "created_at", "paid_at", "ship_by", "carrier",
                 "tracking_no", "note", "updated_at")


class CursorError(InputError, ValueError):
    pass


def decode_cursor(stream: str, cursor: str | None) -> int:
    if not cursor:
        return 0
    match = _CURSOR_RE.fullmatch(cursor.strip())
    if match is None:
        raise CursorError(f"cursor {cursor[:40]!r} is not a cursor this server handed out")
    if match.group(1) != STREAMS[stream]:
        raise CursorError(f"cursor {cursor!r} belongs to another stream, not {stream}")
    return int(match.group(2))


def encode_cursor(stream: str, pos: int) -> str:
    return f"{STREAMS[stream]}.{pos}"


def _paging(stream: str, positions: list[int], after: int, limit: int) -> dict[str, Any]:
    """`next_cursor` and `has_more` of a page read with LIMIT limit + 1."""
    more = len(positions) > limit
    last = positions[limit - 1] if more else (positions[-1] if positions else after)
    return {"next_cursor": encode_cursor(stream, last), "has_more": more}


def orders_page(sdb: ServerDb, warehouse: str, cursor: str | None, limit: int) -> Page[OrderOut]:
    after = decode_cursor("orders", cursor)
    columns = ", ".join(f'"{c}"' for c in ("id", "pos", *ORDER_COLUMNS))
    with sdb.connection():
        rows = sdb.execute(f'SELECT {columns} FROM "order" WHERE "warehouse" = ? AND "pos" > ? ORDER BY "pos" '
                           f'LIMIT ?', (warehouse, after, limit + 1)).fetchall()
        lines: dict[int, list[LineOut]] = {}
        if rows:
            ids = [row[0] for row in rows]
            for pk, line_no, sku, name, qty, price in sdb.execute(
                    f'SELECT "order_id", "line_no", "sku", "name", "qty", "unit_price_cents" FROM "order_line" '
                    f'WHERE "order_id" IN ({placeholders(len(ids))}) ORDER BY "order_id", "line_no"', ids):
                lines.setdefault(pk, []).append(LineOut(line_no=line_no, sku=sku, name=name, qty=qty,
                                                        unit_price_cents=price))
        ewaybills = _ewaybills(sdb, [row[2] for row in rows])
    items = [OrderOut(lines=lines.get(row[0], []), ewaybill=ewaybills.get(row[2]),
                      **dict(zip(ORDER_COLUMNS, row[2:], strict=True))) for row in rows]
    return Page[OrderOut](items=items[:limit], **_paging("orders", [row[1] for row in rows], after, limit))


def _ewaybills(sdb: ServerDb, order_ids: list[str]) -> dict[str, EwaybillOut]:
    """The orders' live e-waybills (`server.kuaidi100.ewaybills`); a cancelled one is not sent."""
    if not order_ids:
        return {}
    rows = sdb.execute(f'SELECT "order_id", "tracking_no", "carrier", "routing_code", "sorting" FROM "ewaybill" '
                       f'WHERE "state" = \'active\' AND "order_id" IN ({placeholders(len(order_ids))})', order_ids)
    return {order_id: EwaybillOut(tracking_no=number, carrier=carrier, routing_code=routing,
                                  sorting=json.loads(sorting)) for order_id, number, carrier, routing, sorting in rows}


def products_page(sdb: ServerDb, cursor: str | None, limit: int) -> Page[ProductOut]:
    after = decode_cursor("products", cursor)
    with sdb.connection():
        rows = sdb.execute('SELECT "id", "pos", "sku", "name", "weight_g", "stock", "updated_at" FROM "product" '
                           'WHERE "pos" > ? ORDER BY "pos" LIMIT ?', (after, limit + 1)).fetchall()
        codes: dict[int, list[str]] = {}
        if rows:
            ids = [row[0] for row in rows]
            for pk, raw in sdb.execute(f'SELECT "product_id", "raw" FROM "product_barcode" WHERE "product_id" IN '
                                       f'({placeholders(len(ids))}) ORDER BY "id"', ids):
                codes.setdefault(pk, []).append(raw)
    items = [ProductOut(sku=sku, name=name, weight_g=weight, stock=stock, barcodes=codes.get(pk, []),
                        updated_at=updated) for pk, _, sku, name, weight, stock, updated in rows]
    return Page[ProductOut](items=items[:limit], **_paging("products", [row[1] for row in rows], after, limit))


def tracking_page(sdb: ServerDb, warehouse: str, cursor: str | None, limit: int) -> Page[TrackingEventOut]:
    after = decode_cursor("tracking", cursor)
    with sdb.connection():
        rows = sdb.execute(
            'SELECT f."pos", e."id", e."carrier", e."tracking_no", e."status", e."carrier_status", e."time", '
            'e."site", e."courier", e."context", e."source" FROM "tracking_feed" f '
            'JOIN "tracking_event" e ON e."id" = f."event_id" '
            'WHERE f."warehouse" = ? AND f."pos" > ? ORDER BY f."pos" LIMIT ?',
            (warehouse, after, limit + 1)).fetchall()
    items = [TrackingEventOut(id=eid, carrier=carrier, tracking_no=tno, status=status, carrier_status=cstatus,
                              time=when, site=site, courier=courier, context=context, source=source)
             for _, eid, carrier, tno, status, cstatus, when, site, courier, context, source in rows]
    return Page[TrackingEventOut](items=items[:limit], **_paging("tracking", [row[0] for row in rows], after, limit))


def cases_page(sdb: ServerDb, station_id: str, cursor: str | None, limit: int) -> Page[CaseChangeOut]:
    """The console's changes to this station's cases, in the order they were made (`server.cases`)."""
    after = decode_cursor("cases", cursor)
    with sdb.connection():
        rows = sdb.execute(
            'SELECT "pos", "station_case", "state", "acked_by", "acked_at", "resolved_by", "resolved_at", "note" '
            'FROM "server_case" WHERE "station_id" = ? AND "pos" > ? ORDER BY "pos" LIMIT ?',
            (station_id, after, limit + 1)).fetchall()
    items = [CaseChangeOut(case=case, state=state, note=note,
                           actor=(acked_by if state == CaseState.ACKNOWLEDGED else resolved_by) or "console",
                           at=(acked_at if state == CaseState.ACKNOWLEDGED else resolved_at))
             for _, case, state, acked_by, acked_at, resolved_by, resolved_at, note in rows]
    return Page[CaseChangeOut](items=items[:limit], **_paging("cases", [row[0] for row in rows], after, limit))
