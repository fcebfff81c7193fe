"""The states the store keeps as text, as `StrEnum`s: a misspelt state is a type error, not a query
that silently matches nothing.

The values are what the rows, the audit log and the sync payloads hold: they never change (a member
equals its text, `f"{OrderStatus.PAID}"` is "paid", JSON writes "paid"). Columns stay TEXT; a row
read back gives the plain string, which compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """`order.status` (the station's and the server's)."""

    NEW = "new"
    PAID = "paid"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PACKED = "packed"
    SHIPPED = "shipped"


PACKED_STATUSES = frozenset({OrderStatus.PACKED, OrderStatus.SHIPPED})
STOPPED_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED})  # the platform called it off


class SessionState(StrEnum):
    """`pack_session.state`."""

    OPEN = "open"
    COMPLETED = "completed"
    ABORTED = "aborted"
    SHORT_SHIPPED = "short_shipped"


PACKED_SESSIONS = (SessionState.COMPLETED, SessionState.SHORT_SHIPPED)  # sessions that made a parcel


class PrintJobState(StrEnum):
    """`print_job.state`: `sent` is committed before any byte goes out; `failed` means the job reached
    the printer and may have printed (only a person reprints it)."""

    QUEUED = "queued"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"


class PoolState(StrEnum):
    """`waybill_pool.state`: a pre-allocated carrier number."""

    FREE = "free"
    USED = "used"


class CaseState(StrEnum):
    """`exception_case.state` (and the server's `server_case.state`)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


LIVE_CASE_STATES = (CaseState.OPEN, CaseState.ACKNOWLEDGED)


class HandoverState(StrEnum):
    """`handover.state`: a batch of parcels scanned out to a courier."""

    OPEN = "open"
    CLOSED = "closed"
