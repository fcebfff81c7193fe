"""The station ↔ central-server protocol (docs/architecture.md §10): models and request signing, shared by both sides.

A package of its own so that the server and the station's sync client both import it without either
importing the other.

Every station request carries `X-Station`, `X-Timestamp` (Unix seconds), `X-Nonce` and
`X-Signature` = hex HMAC-SHA256(secret, canonical request), where the canonical request is

    METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n hex SHA-256(body)

The server refuses a skew over `MAX_SKEW_SECONDS`, a nonce seen before, and a bad signature.
Paging is by an opaque server cursor: a station stores the cursor of a page only in the transaction
that stores the page.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
API = "/api/v1"
MAX_BATCH = 500
MAX_PAGE = 1000
MAX_SKEW_SECONDS = 300
HEADER_STATION, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE = (
    "X-Station", "X-Timestamp", "X-Nonce", "X-Signature")
WEBHOOK_SIGNATURE_HEADER = "X-PackBench-Signature"  # generic carrier hook: hex HMAC-SHA256(secret, body)
# Optional on the generic hook: Unix seconds; then the signature is HMAC-SHA256(secret, "TIMESTAMP." + body)
# and the server refuses a push more than WEBHOOK_WINDOW_SECONDS away from its clock.
WEBHOOK_TIMESTAMP_HEADER = "X-PackBench-Timestamp"
WEBHOOK_WINDOW_SECONDS = 300

# Normalised parcel states every carrier's own codes map to (meanings: app.tracking_states).
TrackingStatus = Literal["ordered", "awaiting_pickup", "picked_up", "in_transit", "customs", "forwarded",
                         "out_for_delivery", "delivered", "exception", "refused", "returning", "returned", "cancelled"]
OrderStatus = Literal["new", "paid", "on_hold", "cancelled", "refunded", "packed", "shipped"]


def canonical_request(method: str, path_and_query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path_and_query, timestamp, nonce, digest)).encode("utf-8")


def sign(secret: str, method: str, path_and_query: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_request(method, path_and_query, timestamp, nonce, body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ----- enrollment -----
class EnrollRequest(Model):
    token: str = Field(min_length=8, max_length=200)
    station_name: str = Field(min_length=1, max_length=64)
    passport_public_key: str = Field(description="the station's Ed25519 public key, PEM", max_length=2000)


class EnrollResponse(Model):
    station_id: str
    secret: str
    warehouse: str
    server_time: datetime
    public_url: str | None = Field(default=None, description="the server's public address: the base of the "
                                   "station's passport QR codes (none configured: the URL the station enrolled with)")


# ----- outbox push -----
class Event(Model):
    """One fact from a station's outbox: `kind` as in the audit log, `payload` as recorded."""

    id: UUID
    kind: str = Field(min_length=1, max_length=64)
    at: datetime
    station: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1, description="the station's outbox sequence: events apply in this order")
    payload: dict[str, Any]


MAX_AUDIT_LINKS = 4


class AuditHead(Model):
    """A point of a station's hash-chained audit log: entry `seq` and its hash."""

    seq: int = Field(ge=1, le=2**62)
    hash: str = Field(pattern="^[0-9a-f]{64}$")


class EventBatch(Model):
    events: list[Event] = Field(max_length=MAX_BATCH)
    audit_head: AuditHead | None = Field(
        default=None, description="the station's audit chain head when the batch was read: the server keeps "
        "the last one per station, outside the station's file")
    audit_links: list[AuditHead] = Field(
        default_factory=list, max_length=MAX_AUDIT_LINKS,
        description="the station's entries, as its chain has them now, at the seqs the server may hold as its "
        "head (the last acknowledged, the last sent): they show the new head extends the kept one")


class EventResult(Model):
    id: UUID
    status: Literal["accepted", "known", "rejected"]
    reason: str | None = None


class AuditHeadAck(Model):
    """The head the server keeps for the station after this batch. `refused`: the offered head went back,
    changed the hash of a kept entry or did not link to it — the first one is kept, and flagged."""

    status: Literal["accepted", "unchanged", "refused"]
    seq: int
    hash: str
    acknowledged_at: datetime
    reason: str | None = None


class EventBatchResult(Model):
    results: list[EventResult]
    audit_head: AuditHeadAck | None = None


# ----- pulls -----
T = TypeVar("T")


class Page(Model, Generic[T]):
    items: list[T]
    next_cursor: str = Field(description="pass back as ?cursor= for the next page")
    has_more: bool


class LineOut(Model):
    line_no: int
    sku: str
    name: str = ""
    qty: int = Field(ge=1)
    unit_price_cents: int = 0


class EwaybillOut(Model):
    """The carrier e-waybill the server ordered for an order: print it, offline, with its routing code."""

    tracking_no: str
    carrier: str
    routing_code: str = Field("", description="大头笔 (Kuaidi100 bulkpen): printed big on the label")
    sorting: dict[str, str] = Field(default_factory=dict, description="the carrier's other sorting fields")


class OrderOut(Model):
    order_id: str
    warehouse: str
    platform: str
    shop: str = ""
    status: OrderStatus
    buyer: str = ""
    receiver_name: str = ""
    receiver_phone: str = ""
    receiver_address: str = ""
    total_cents: int = 0
    paid_cents: int = 0
    discount_cents: int = 0  # shop + platform discounts the export stated
    shipping_cents: int = 0  # postage charged to the buyer
    created_at: datetime | None = None
    paid_at: datetime | None = None
    ship_by: datetime | None = None
    carrier: str = ""
    tracking_no: str | None = None
    note: str = ""
    lines: list[LineOut]
    updated_at: datetime
    ewaybill: EwaybillOut | None = None


class ProductOut(Model):
    sku: str
    name: str
    weight_g: int = Field(ge=0)
    stock: int
    barcodes: list[str]
    updated_at: datetime


class TrackingEventOut(Model):
    id: int
    carrier: str
    tracking_no: str
    status: TrackingStatus
    carrier_status: str = Field(description="the carrier's own state code or text, unchanged")
    time: datetime
    site: str = ""
    courier: str = ""
    context: str = Field(description="the carrier's text, exactly as sent")
    source: str


class CaseChangeOut(Model):
    """A change a supervisor made in the console to one of this station's exception cases."""

    case: int = Field(description="the station's own case id")
    state: Literal["acknowledged", "resolved"]
    actor: str = Field(description="console user, as 'console:NAME'")
    note: str = ""
    at: datetime


class SupervisorCallOut(Model):
    """A supervisor call still live at another station of the warehouse (CALL_SUPERVISOR there)."""

    station: str = Field(description="the calling station's name")
    order_id: str | None = Field(description="the order on its bench; null: the bench itself")
    state: Literal["open", "acknowledged"]
    opened_at: datetime
    updated_at: datetime = Field(description="the last call")


class SupervisorCallsOut(Model):
    """`GET /api/v1/supervisor-calls`: every live supervisor call of the other stations, oldest first."""

    calls: list[SupervisorCallOut]


# ----- rules -----
class RuleSetOut(Model):
    """`GET /api/v1/rules`: the exception rule set the server serves (the station validates it again)."""

    version: int = Field(description="0 when no rule set was uploaded: the station's shipped defaults apply")
    sha256: str
    created_at: datetime | None
    content: str = Field(description="the rule set, TOML text")


# ----- waybills -----
class WaybillAllocateRequest(Model):
    carrier: str = Field(min_length=2, max_length=16)
    count: int = Field(ge=1, le=1000)


class WaybillAllocation(Model):
    carrier: str
    numbers: list[str]


class ErrorBody(Model):
    detail: str
