"""The normalised parcel states every carrier's own codes map to, and what each one means.

The order is the parcel's life, earliest first (rules break ties between events at the same time by
it). `ordered` and `awaiting_pickup` come from the carrier's order system before any courier has
touched the parcel: they are NOT acceptance by the carrier. `CARRIER_ACCEPTED` is every state that
proves the carrier has the parcel (picked up or later), the only ones reconciliation, SLA clocks
and "carrier accepted" may count.
"""

from __future__ import annotations

TRACKING_STATUSES = (
    "ordered", "awaiting_pickup", "picked_up", "in_transit", "customs", "forwarded", "out_for_delivery",
    "delivered", "exception", "refused", "returning", "returned", "cancelled",
)
STATUS_WORDS: dict[str, tuple[str, str]] = {  # (中文, English) for pages, labels and documents
    "ordered": ("已下单", "Ordered"),
    "awaiting_pickup": ("待揽收", "Awaiting pickup"),
    "picked_up": ("已揽收", "Picked up"),
    "in_transit": ("运输中", "In transit"),
    "customs": ("清关", "Customs"),
    "forwarded": ("转投", "Forwarded"),
    "out_for_delivery": ("派送中", "Out for delivery"),
    "delivered": ("已签收", "Delivered"),
    "exception": ("异常", "Exception"),
    "refused": ("拒签", "Refused"),
    "returning": ("退回中", "Returning"),
    "returned": ("已退回", "Returned"),
    "cancelled": ("已销单", "Cancelled"),
}
NOT_YET_ACCEPTED = frozenset({"ordered", "awaiting_pickup", "cancelled"})
CARRIER_ACCEPTED = frozenset(TRACKING_STATUSES) - NOT_YET_ACCEPTED


def status_words(status: str) -> tuple[str, str]:
    """(中文, English) for a state; a state this version does not know is shown as it came."""
    return STATUS_WORDS.get(status, (status, status))
