"""The states the server's own tables keep as text, as `StrEnum`s (the station's, shared with the
server's order and case tables, are in `app.store.states`).

The values are what the rows hold and what SQL in the modules that own these tables spells out:
they never change. A row read back gives the plain string, which compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class WaybillState(StrEnum):
    """`waybill.state`: a number of the server's pool."""

    FREE = "free"
    ALLOCATED = "allocated"


class EventStatus(StrEnum):
    """`station_event.status`: what became of an event a station pushed."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class JobState(StrEnum):
    """`carrier_job.state` (server.kuaidi100.jobs): `dead` jobs are the dead letters an admin lists."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class DeliveryStatus(StrEnum):
    """`alert_delivery.status` (server.alerts.store)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class SubscriptionState(StrEnum):
    """`tracking_subscription.state` (server.kuaidi100.subscriptions)."""

    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    WAITING = "waiting"
    DONE = "done"
    ABORTED = "aborted"
