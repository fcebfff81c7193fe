"""Ordering and cancelling Kuaidi100 e-waybills (电子面单 V2) for orders, run as carrier jobs.

An order gets its e-waybill when it is shippable (paid, no waybill of its own) in a warehouse with
a carrier (`server.warehouses`): `method=order` with the carrier account (`partnerId`/`partnerKey`),
`kuaidicom`, the receiver (`recMan`, with the receiver's full mobile: it goes to the carrier and
nowhere else) and the warehouse's sender (`sendMan`), `cargo`, `count` (parcels), `weight` (kg),
`payType`, `expType`, our `orderId`, and `needSubscribe` + `pollCallBackUrl` + `salt` +
`resultv2` so the number is subscribed by the order itself. The answer's `kuaidinum`, `bulkpen`
(大头笔, the routing code) and the other sorting fields are stored in `ewaybill` (one row per order,
ever: a unique index) and the order takes a new stream position, so stations pull it with its
waybill and print it offline.

A cancelled or refunded order whose e-waybill no live parcel carries gets `method=cancel`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import peewee as pw

from app.clock import Clock, iso
from app.errors import BadValue
from app.i18n import N_
from app.store.states import OrderStatus
from server.config import ServerConfig
from server.db import ServerDb, take_positions
from server.kuaidi100.api import Kuaidi100Api, Kuaidi100Error
from server.kuaidi100.codes import company
from server.kuaidi100.subscriptions import learn
from server.warehouses import Warehouse, get_warehouse

log = logging.getLogger("server.kuaidi100.ewaybills")

# The answer's sorting fields kept with the parcel (the V2 `data` object; not every carrier sends each).
SORTING_FIELDS = ("bulkpen", "orgCode", "orgName", "destCode", "destName", "orgSortingCode", "orgSortingName",
                  "destSortingCode", "destSortingName", "orgExtra", "destExtra", "pkgCode", "pkgName", "road",
                  "expressName", "sfSimpleCode", "twoDimensionCode")
PAY_TYPE = "MONTHLY"  # 月结: the warehouse's carrier account pays
EXP_TYPE = "标准快递"
CANCEL_REASON = "订单已取消 order cancelled"


def _order_row(sdb: ServerDb, order_id: str) -> dict[str, Any] | None:
    cursor = sdb.execute('SELECT "id", "order_id", "warehouse", "status", "receiver_name", "receiver_phone", '
                         '"receiver_address", "tracking_no", "carrier" FROM "order" WHERE "order_id" = ?', (order_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def _cargo(sdb: ServerDb, order_pk: int) -> tuple[str, float]:
    """What the parcel holds (the first line's name, "等" when there are more) and its weight in kg."""
    lines = sdb.execute('SELECT l."sku", l."name", l."qty", COALESCE(p."weight_g", 0) FROM "order_line" l '
                        'LEFT JOIN "product" p ON p."sku" = l."sku" WHERE l."order_id" = ? ORDER BY l."line_no"',
                        (order_pk,)).fetchall()
    if not lines:
        return "商品", 0.0
    sku, name, _, _ = lines[0]
    cargo = (name or sku)[:30] + (" 等" if len(lines) > 1 else "")
    return cargo, sum(int(qty) * int(grams) for _, _, qty, grams in lines) / 1000


def order_param(config: ServerConfig, order: dict[str, Any], sender: Warehouse, cargo: str,
                weight_kg: float) -> dict[str, Any]:
    param: dict[str, Any] = {
        "printType": "NON", "partnerId": config.kuaidi100_partner_id, "kuaidicom": company(sender.carrier),
        "recMan": {"name": order["receiver_name"], "mobile": order["receiver_phone"],
                   "printAddr": order["receiver_address"], "company": ""},
        "sendMan": {"name": sender.sender_name, "mobile": sender.sender_phone, "printAddr": sender.sender_address,
                    "company": sender.sender_company},
        "cargo": cargo, "count": 1, "payType": PAY_TYPE, "expType": EXP_TYPE, "orderId": order["order_id"],
    }
    if config.kuaidi100_partner_key:
        param["partnerKey"] = config.kuaidi100_partner_key
    if weight_kg > 0:
        param["weight"] = round(weight_kg, 2)
    if config.kuaidi100_callback and config.kuaidi100_salt:
        param.update(needSubscribe=True, pollCallBackUrl=config.kuaidi100_callback, salt=config.kuaidi100_salt,
                     resultv2="4")
    return param


def order_ewaybill(sdb: ServerDb, config: ServerConfig, api: Kuaidi100Api, order_id: str, clock: Clock) -> str | None:
    """Order the e-waybill of one order; its number, or None when there is nothing to order."""
    with sdb.connection():
        order = _order_row(sdb, order_id)
        if order is None or order["status"] != OrderStatus.PAID or order["tracking_no"]:
            return None  # gone, no longer shippable, or it has a waybill of its own
        if sdb.execute('SELECT 1 FROM "ewaybill" WHERE "order_id" = ?', (order_id,)).fetchone():
            return None  # ordered by an earlier attempt
        sender = get_warehouse(sdb, order["warehouse"])
        if sender is None:
            raise BadValue(N_("warehouse {warehouse} has no sender and carrier set"), warehouse=order["warehouse"])
        missing = [k for k in ("receiver_name", "receiver_phone", "receiver_address") if not order[k].strip()]
        if missing:
            raise BadValue(N_("order {order} has no {fields}: the carrier needs them"), order=order_id,
                           fields=", ".join(missing))
        cargo, weight = _cargo(sdb, order["id"])
    param = order_param(config, order, sender, cargo, weight)
    data = api.label("order", param)
    number = str(data.get("kuaidinum") or "").strip().upper()
    if not number:
        raise Kuaidi100Error("200", "the answer has no kuaidinum")
    sorting = {k: str(data[k]) for k in SORTING_FIELDS if data.get(k) not in (None, "")}
    now = clock.now()
    try:
        with sdb.connection(), sdb.write():
            sdb.execute('INSERT INTO "ewaybill" ("order_id", "warehouse", "carrier", "tracking_no", "routing_code", '
                        '"sorting", "task_id", "carrier_order_no", "subscribed", "state", "ordered_at") '
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                        (order_id, order["warehouse"], sender.carrier, number, sorting.get("bulkpen", ""),
                         json.dumps(sorting, ensure_ascii=False, sort_keys=True), str(data.get("taskId") or ""),
                         str(data.get("kdComOrderNum") or ""), int("needSubscribe" in param), iso(now)))
            learn(sdb, number, sender.carrier, order_id, now, subscribed="needSubscribe" in param)
            pos = take_positions(sdb, "order", 1)  # stations pull the order again, now with its waybill
            sdb.execute('UPDATE "order" SET "pos" = ?, "updated_at" = ? WHERE "id" = ?', (pos, iso(now), order["id"]))
    except pw.IntegrityError:
        # Another worker stored one first (a lease ran out mid-call): this number must not stay live.
        log.error("order %s already has an e-waybill; cancelling the extra %s", order_id, number)
        _cancel_call(api, config, sender.carrier, number, str(data.get("kdComOrderNum") or ""))
        return None
    log.info("order %s: e-waybill %s %s (routing %s)", order_id, sender.carrier, number, sorting.get("bulkpen", "-"))
    return number


def _cancel_call(api: Kuaidi100Api, config: ServerConfig, carrier: str, number: str, carrier_order_no: str) -> None:
    param: dict[str, Any] = {"partnerId": config.kuaidi100_partner_id, "kuaidicom": company(carrier),
                             "kuaidinum": number, "reason": CANCEL_REASON}
    if config.kuaidi100_partner_key:
        param["partnerKey"] = config.kuaidi100_partner_key
    if carrier_order_no:
        param["orderId"] = carrier_order_no  # the carrier's order number, when the order answer gave one
    api.label("cancel", param)


def cancel_ewaybill(sdb: ServerDb, config: ServerConfig, api: Kuaidi100Api, order_id: str, clock: Clock) -> bool:
    """Cancel the order's e-waybill if no live parcel carries it; True when cancelled now."""
    with sdb.connection():
        row = sdb.execute('SELECT "carrier", "tracking_no", "carrier_order_no" FROM "ewaybill" '
                          'WHERE "order_id" = ? AND "state" = \'active\'', (order_id,)).fetchone()
        if row is None:
            return False
        carrier, number, carrier_order_no = row
        if sdb.execute('SELECT 1 FROM "parcel" WHERE "tracking_no" = ? AND "voided_at" IS NULL', (number,)).fetchone():
            log.warning("order %s: e-waybill %s is on a live parcel; not cancelled (intercept it)", order_id, number)
            return False
    _cancel_call(api, config, carrier, number, carrier_order_no)
    now: datetime = clock.now()
    with sdb.connection(), sdb.write():
        sdb.execute('UPDATE "ewaybill" SET "state" = \'cancelled\', "cancelled_at" = ? WHERE "order_id" = ?',
                    (iso(now), order_id))
    log.info("order %s: e-waybill %s cancelled", order_id, number)
    return True
