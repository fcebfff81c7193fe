"""The public passport page `GET /p/{token}` (docs/architecture.md §11.3): is this label genuine, and where is it?

The token is verified with the passport keys the stations registered at enrollment (by key id;
several stations may share one if a station re-enrolled with its old key). A signature alone proves
little — a stolen station signs whatever it is told — so "genuine" needs all of:

- the signature verifies with the key of a station that was not revoked when the token says it was
  issued (a revoked station's key vouches for nothing from its revocation on);
- the token's (warehouse of that station, order, tracking number) match a parcel the server knows:
  a token from warehouse A never shows warehouse B's order or receiver.

A genuine token shows the parcel's raw tracking trail, newest first, exactly as the carrier sent it
(time, site, courier, text), with the normalised status beside it, and the receiver's masked name
and phone — no other personal data. A verified token whose tracking number the server has not heard
of yet (the station has not synced) says "genuine label, not yet registered" and shows nothing of
the order. Anything else gets a "not genuine 非真实" page (400 / 404). Bilingual, readable on a phone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.clock import parse_iso
from app.handover import mask_name
from app.labels import mask_phone
from app.passport import BAD_SIGNATURE, UNKNOWN_KEY, PassportError, PassportFields, decode_token, verify_token
from app.tracking_states import status_words
from app.waybills import carrier_label
from server.db import ServerDb
from server.models import Order, Parcel, Station, TrackingEvent

HEADERS = {  # CSP, Referrer-Policy and nosniff come from server.headers, as for every HTML page
    "X-Robots-Tag": "noindex",
    "Cache-Control": "no-store",
}
CSS = """
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f5f7;
color:#1d1d1f;font-size:16px;line-height:1.5}
main{max-width:40rem;margin:0 auto;padding:1rem}
.badge{border-radius:.75rem;padding:1rem;color:#fff;font-size:1.25rem;font-weight:600}
.ok{background:#1a7f37}.bad{background:#b42318}.pending{background:#8a6d00}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;background:#fff;padding:1rem;border-radius:.75rem}
dt{color:#6e6e73}dd{margin:0;word-break:break-all}
ol{list-style:none;padding:0}li{background:#fff;border-radius:.75rem;padding:.75rem 1rem;margin:.5rem 0}
.t{color:#6e6e73;font-size:.875rem}.s{font-weight:600}.warn{background:#fff4e5;color:#8a4b00;padding:1rem;
border-radius:.75rem}
"""


@dataclass(frozen=True)
class PageResult:
    status: int
    html: str


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>")


def not_genuine(reason: str, status: int) -> PageResult:
    body = ("<p class=\"badge bad\">✗ 非真实 — not genuine</p>"
            "<p>此物流护照无法验证：可能是伪造或被篡改的二维码。请勿依据此页面签收或付款，并联系发件商家。</p>"
            "<p>This logistics passport could not be verified: the QR code may be forged or altered. "
            "Do not rely on it; contact the sender.</p>"
            f"<p class=\"t\">{_e(reason)}</p>")
    return PageResult(status, _page("非真实 Not genuine — PackBench", body))


@dataclass(frozen=True)
class _Signer:
    warehouse: str
    revoked_at: str | None


def _signers(token: str, fields: PassportFields) -> list[_Signer]:
    """The stations whose registered key made this signature (PassportError if none did)."""
    rows = list(Station.select(Station.public_key, Station.warehouse, Station.revoked_at)
                .where(Station.key_id == fields.key_id.hex()))
    if not rows:
        raise PassportError(UNKNOWN_KEY, "no enrolled station has this key")
    signers, problem = [], PassportError(UNKNOWN_KEY)
    for row in rows:
        key = serialization.load_pem_public_key(row.public_key.encode("ascii"))
        try:
            if isinstance(key, Ed25519PublicKey):
                verify_token(token, {fields.key_id: key})
                signers.append(_Signer(row.warehouse, row.revoked_at))
        except PassportError as exc:
            problem = exc
    if not signers:
        raise problem
    return signers


def render(sdb: ServerDb, token: str, zone: ZoneInfo) -> PageResult:
    if len(token) > 400:
        return not_genuine("not a passport token", 400)
    with sdb.connection():
        try:
            fields, _, _ = decode_token(token)
            signers = _signers(token, fields)
        except PassportError as exc:
            status = 404 if exc.reason in (UNKNOWN_KEY, BAD_SIGNATURE) else 400
            return not_genuine(exc.reason, status)
        valid = {s.warehouse for s in signers if not s.revoked_at or fields.issued_at < parse_iso(s.revoked_at)}
        if not valid:
            return not_genuine("signed with a station key revoked before this label's issue time", 404)
        parcel = Parcel.get_or_none(Parcel.tracking_no == fields.tracking_no)
        if parcel is None:
            return not_registered(fields, zone)
        if parcel.warehouse not in valid or parcel.order_id != fields.order_id:
            return not_genuine("this label does not match the parcel the server knows by its tracking number", 404)
        events = list(TrackingEvent.select().where(TrackingEvent.tracking_no == fields.tracking_no)
                      .order_by(TrackingEvent.time.desc(), TrackingEvent.id.desc()))
        order = Order.get_or_none((Order.order_id == fields.order_id) & (Order.warehouse == parcel.warehouse))
    rows = _label_rows(fields, zone)
    if order is not None and (order.receiver_name or order.receiver_phone):
        rows.append(("收件人 Receiver", f"{mask_name(order.receiver_name)} {mask_phone(order.receiver_phone)}".strip()))
    if events:
        zh_word, en_word = status_words(events[0].status)
        rows.append(("状态 Status", f"{zh_word} {en_word}"))
    body = ["<p class=\"badge ok\">✓ 真实 — genuine PackBench passport</p>"]
    if parcel is not None and parcel.voided_at:
        body.append("<p class=\"warn\">此面单已作废 — this label was voided at the warehouse.</p>")
    body.append("<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>")
    body.append("<h2>物流轨迹 Tracking</h2>")
    if not events:
        body.append("<p>暂无承运商轨迹 — no carrier events yet.</p>")
    else:
        items = []
        for ev in events:
            zh_word, en_word = status_words(ev.status)
            where = " · ".join(_e(x) for x in (ev.site, ev.courier) if x)
            items.append(f"<li><div class=\"t\">{_e(ev.time_raw)}{' · ' + where if where else ''}</div>"
                         f"<div>{_e(ev.context)}</div><div class=\"t s\">{zh_word} {en_word}</div></li>")
        body.append("<ol>" + "".join(items) + "</ol>")
        body.append("<p class=\"t\">轨迹文字由承运商提供，原样显示。Tracking text as the carrier sent it.</p>")
    return PageResult(200, _page(f"{fields.tracking_no} — PackBench 物流护照 Logistics passport", "".join(body)))


def _label_rows(fields: PassportFields, zone: ZoneInfo) -> list[tuple[str, str]]:
    """What the label itself says: carrier, tracking number, order, packed time, passport id."""
    zh, en = carrier_label(fields.carrier, "zh_CN"), carrier_label(fields.carrier)
    return [("承运商 Carrier", f"{zh} {en}" if zh != en else zh), ("运单号 Tracking no.", fields.tracking_no),
            ("订单 Order", fields.order_id),
            ("打包时间 Packed", fields.issued_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")),
            ("护照编号 Passport", fields.passport_id)]


def not_registered(fields: PassportFields, zone: ZoneInfo) -> PageResult:
    """Signed by a valid station key, but the server has not heard of the parcel yet: no order data."""
    body = ("<p class=\"badge pending\">✓ 真实面单，尚未登记 — genuine label, not yet registered</p>"
            "<p>此标签由已注册的仓库工作站签发，但包裹尚未同步到服务器；收件人与轨迹信息暂不显示，请稍后再查看。</p>"
            "<p>This label was signed by an enrolled warehouse station, but the parcel has not reached the server "
            "yet; receiver and tracking are not shown until it does. Check again later.</p>"
            "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _label_rows(fields, zone)) + "</dl>")
    return PageResult(200, _page(f"{fields.tracking_no} — PackBench 物流护照 Logistics passport", body))
