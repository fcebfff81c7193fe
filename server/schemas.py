"""Wire models the server needs beyond `protocol` (which the station shares and this package
must not edit): reconciliation, metrics, the generic carrier hook, health, event pages.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol import TrackingStatus


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReconciliationRow(Model):
    shop: str
    day: date
    orders: int = Field(description="platform orders of that day (payment, else creation day)")
    cancelled: int = Field(description="of them cancelled or refunded")
    packed: int = Field(description="orders with a live parcel (shipment.created, not voided)")
    handed_over: int = Field(description="orders whose parcel was handed over to the carrier")
    carrier_accepted: int = Field(description="orders whose parcel has at least one carrier tracking event")
    deviation_pct: float = Field(description="shippable orders not packed, in % of shippable orders")


class OneSided(Model):
    """Orders found on one side of the comparison only (at most `LIST_LIMIT` listed, all counted)."""

    count: int
    order_ids: list[str]


class Reconciliation(Model):
    warehouse: str
    day_from: date
    day_to: date
    rows: list[ReconciliationRow]
    not_packed: OneSided = Field(description="shippable platform orders with no live parcel")
    packed_not_on_platform: OneSided = Field(description="parcels whose order the server does not know")
    packed_but_cancelled: OneSided = Field(description="live parcels of cancelled or refunded orders")
    packed_not_handed_over: OneSided
    handed_over_not_accepted: OneSided = Field(description="handed over, no carrier event yet")
    duplicates: OneSided = Field(description="orders with more than one live parcel")


class MetricRow(Model):
    station: str
    hour: datetime
    scans: int
    errors: int = Field(description="scans whose outcome has level error")
    shipments: int
    reprints: int


class Metrics(Model):
    warehouse: str
    since: datetime
    until: datetime
    rows: list[MetricRow]


class GenericTrackingEvent(Model):
    """One event on the generic carrier hook (`POST /hooks/carriers/generic`)."""

    carrier: str = Field(min_length=1, max_length=32, description="PackBench carrier code: SF, ZTO, …")
    tracking_no: str = Field(min_length=4, max_length=64)
    status: TrackingStatus
    carrier_status: str = Field(default="", max_length=64, description="the carrier's own code, kept as sent")
    time: str = Field(min_length=1, max_length=40,
                      description="ISO 8601; without an offset it is the server's timezone; shown as sent")
    site: str = Field(default="", max_length=200)
    courier: str = Field(default="", max_length=200)
    context: str = Field(min_length=1, max_length=2000, description="the carrier's text, stored as sent")


class GenericTrackingPush(Model):
    events: list[GenericTrackingEvent] = Field(max_length=10_000)


class HookRejection(Model):
    index: int
    reason: str


class GenericHookResult(Model):
    received: int
    new: int
    duplicates: int
    rejected: list[HookRejection]
    status: Literal["stored", "duplicate"] = Field(
        default="stored", description="duplicate: this exact body was pushed before; nothing was stored again")


class Kuaidi100Reply(BaseModel):
    """The reply format Kuaidi100 expects from a push callback."""

    result: bool
    returnCode: str  # their field name
    message: str


class Health(Model):
    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    schema_version: int
    server_time: datetime
    version: str = Field(description="this server's PackBench version")
    station_version: str = Field(description="the station version this server recommends (updating stays manual)")
