"""Label content (docs/architecture.md §6.1), built once here and rendered to bytes by `drivers/printers`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.clock import parse_iso
from app.store.models import Order, PrintJob, Shipment

# C0/C1 controls, zero-width and bidi-override characters. In label bytes a CR/LF ends a TSPL command
# (the rest of a buyer's name would run as the next one) and ESC/GS start ESC/POS commands; bidi
# overrides would print an address backwards. Buyers and shops write these fields.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]+")


def printable(text: str) -> str:
    """Imported text as a label may carry it: each run of control characters becomes one space."""
    return _UNPRINTABLE.sub(" ", text).strip()


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`; anything shorter than 7 digits keeps only its last 2."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


@dataclass(frozen=True)
class Party:
    name: str
    phone_masked: str
    address: str


@dataclass(frozen=True)
class Label:
    carrier: str
    service: str
    tracking_no: str
    sender: Party
    receiver: Party
    order_id: str
    weight_g: int
    item_count: int
    packed_at_local: str  # already formatted in the station's zone, e.g. "2026-11-25 10:02"
    station: str
    passport_url: str
    reprint_no: int = 0  # 0 = first print; n >= 2 prints "REPRINT n"
    shipment_ref: str = ""  # "S000123": with the reprint mark, lets a printer's own re-print be caught at handover
    routing_code: str = ""  # 大头笔: the carrier's sorting code of an e-waybill, printed big in the header

    @property
    def reprint_mark(self) -> str:
        return f"REPRINT {self.reprint_no}" if self.reprint_no >= 2 else ""


def build_label(job_id: int, sender: Party, station: str, tz: str = "Asia/Shanghai",
                passport_url: str = "") -> Label:
    """The label for one print job, from the shipment and order as committed in the store."""
    job = PrintJob.get_by_id(job_id)
    shipment = job.shipment
    return label_for(shipment, shipment.order, job.reprint_no, sender, station, tz, passport_url)


def label_for(shipment: Shipment, order: Order, reprint_no: int, sender: Party, station: str,
              tz: str = "Asia/Shanghai", passport_url: str = "") -> Label:
    """The label of a shipment already in hand (the one the pack flow just committed): nothing read."""
    packed = parse_iso(shipment.created_at).astimezone(ZoneInfo(tz))
    items = sum(int(part.rsplit("*", 1)[1]) for part in shipment.items_key.split("|") if "*" in part)
    return Label(
        carrier=shipment.carrier, service=shipment.service, tracking_no=shipment.tracking_no,
        sender=sender,
        receiver=Party(printable(order.receiver_name), mask_phone(order.receiver_phone),
                       printable(order.receiver_address)),
        order_id=printable(order.order_id), weight_g=shipment.weight_g, item_count=items,
        packed_at_local=packed.strftime("%Y-%m-%d %H:%M"), station=station, passport_url=passport_url,
        reprint_no=reprint_no, shipment_ref=f"S{shipment.id:06d}",
        # the routing code belongs to the e-waybill's number: a parcel on a pool or pre-printed number has none
        routing_code=order.routing_code if shipment.tracking_no == order.ewaybill_no else "",
    )


def print_test_label(sender: Party, station: str) -> Label:
    """A label with every kind of field, for `packbench print-test`: Chinese and Latin text, the
    Code 128 and a passport-sized QR, so one print shows whether the printer profile is right."""
    return Label(
        carrier="SF", service="标快 standard", tracking_no="SF1234567890123", sender=sender,
        receiver=Party("测试 Test 收件人", "138****5678", "浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢 ^~ 测试"),
        order_id="TEST-0001", weight_g=1234, item_count=3, packed_at_local="2026-01-01 12:00", station=station,
        passport_url="https://packbench.example/p/" + "T" * 120, reprint_no=0, shipment_ref="S000000",
        routing_code="755W-021A 沪",
    )
