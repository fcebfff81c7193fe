"""Peewee models of the handover tables (created by `migration_0002.MIGRATION_2`)."""

from __future__ import annotations

import peewee as pw

from app.store.models import BaseModel, Shipment
from app.store.states import HandoverState


class Handover(BaseModel):
    """One batch of parcels scanned out to a carrier's courier."""

    batch_id = pw.TextField(unique=True)  # "HO-20261125-BENCH-1-SF-001": printed as Code 128 on the manifest
    carrier = pw.TextField()
    station = pw.TextField()
    state = pw.TextField(default=HandoverState.OPEN)
    opened_at = pw.TextField()
    opened_by = pw.TextField()
    closed_at = pw.TextField(null=True)
    closed_by = pw.TextField(null=True)
    courier = pw.TextField(default="")


class HandoverItem(BaseModel):
    """One parcel in a batch; a shipment is in at most one batch."""

    handover = pw.ForeignKeyField(Handover, backref="items")
    shipment = pw.ForeignKeyField(Shipment, unique=True, backref="handover_items")
    tracking_no = pw.TextField()
    scanned_at = pw.TextField()
    scanned_by = pw.TextField()
    handed_over_at = pw.TextField(null=True)  # set when the batch closes


HANDOVER_MODELS: list[type[BaseModel]] = [Handover, HandoverItem]
