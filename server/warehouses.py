"""Warehouses as shippers: the sender printed on e-waybills and the carrier whose account ships them.

`packbench server warehouse set WH --sender-name … --sender-phone … --sender-address … --carrier SF`
creates or changes one; `packbench server warehouse list` shows them. A warehouse with a carrier
ships with that carrier's Kuaidi100 e-waybills once the Kuaidi100 account is configured
(`server.config`); one without keeps using waybill pools and pre-printed waybills.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock, iso
from app.errors import BadValue
from app.i18n import N_, Phrase
from app.waybills import normalise_carrier
from server.auth import check_warehouse
from server.db import ServerDb
from server.kuaidi100.codes import company

MAX_TEXT = 200


@dataclass(frozen=True)
class Warehouse:
    code: str
    carrier: str
    sender_name: str
    sender_phone: str
    sender_address: str
    sender_company: str = ""


def _text(name: str, value: str) -> str:
    """`value` with its spaces tidied; `name` is the field's msgid, for the error."""
    value = " ".join(value.split())
    if not value:
        raise BadValue(N_("{field} must not be empty"), field=Phrase(name))
    if len(value) > MAX_TEXT:
        raise BadValue(N_("{field} is longer than {most} characters"), field=Phrase(name), most=MAX_TEXT)
    return value


def set_warehouse(sdb: ServerDb, code: str, carrier: str, sender_name: str, sender_phone: str,
                  sender_address: str, sender_company: str, clock: Clock) -> Warehouse:
    check_warehouse(code)
    carrier = normalise_carrier(carrier)
    company(carrier)  # a carrier Kuaidi100 cannot order for is refused here, not at the first order
    phone = _text(N_("sender phone"), sender_phone)
    if sum(ch.isdigit() for ch in phone) < 7 or any(not (ch.isdigit() or ch in "+- ") for ch in phone):
        raise BadValue(N_("sender phone {phone!r} is not a phone number"), phone=sender_phone)
    row = Warehouse(code, carrier, _text(N_("sender name"), sender_name), phone,
                    _text(N_("sender address"), sender_address), " ".join(sender_company.split())[:MAX_TEXT])
    with sdb.connection(), sdb.write():
        sdb.execute('INSERT INTO "warehouse" ("code", "carrier", "sender_name", "sender_phone", "sender_address", '
                    '"sender_company", "updated_at") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("code") DO UPDATE SET '
                    '"carrier" = excluded."carrier", "sender_name" = excluded."sender_name", '
                    '"sender_phone" = excluded."sender_phone", "sender_address" = excluded."sender_address", '
                    '"sender_company" = excluded."sender_company", "updated_at" = excluded."updated_at"',
                    (row.code, row.carrier, row.sender_name, row.sender_phone, row.sender_address,
                     row.sender_company, iso(clock.now())))
    return row


def get_warehouse(sdb: ServerDb, code: str) -> Warehouse | None:
    """In the caller's connection."""
    row = sdb.execute('SELECT "code", "carrier", "sender_name", "sender_phone", "sender_address", "sender_company" '
                      'FROM "warehouse" WHERE "code" = ?', (code,)).fetchone()
    return Warehouse(*row) if row else None


def list_warehouses(sdb: ServerDb) -> list[Warehouse]:
    with sdb.connection():
        rows = sdb.execute('SELECT "code", "carrier", "sender_name", "sender_phone", "sender_address", '
                           '"sender_company" FROM "warehouse" ORDER BY "code"').fetchall()
    return [Warehouse(*row) for row in rows]
