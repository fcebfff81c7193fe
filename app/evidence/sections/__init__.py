"""The sections of one order's evidence pack, one module per part of the parcel's story.

    order     the summary box, the order and its lines, its exception cases
    packing   at the bench: the scans one by one, the weight against the expected, the packing photo
    parcel    the label as printed (and every reprint), the handover to the carrier, the passport
    tracking  the carrier's raw trail and the SLA analysis built on it
    audit     the audit chain's verdict on itself and on the rows this pack prints

Every section takes the pack's item, the document context (whose `words` put every text in the
document's language, docs/architecture.md §7) and the document's local time.
"""

from __future__ import annotations

from typing import Any

from app.evidence.layout import LocalTime
from app.evidence.model import DocumentContext, EvidenceItem
from app.evidence.sections.audit import audit_section
from app.evidence.sections.order import cases_section, order_section, summary
from app.evidence.sections.packing import photo_section, scans_section, weight_section
from app.evidence.sections.parcel import handover_section, label_section, passport_section
from app.evidence.sections.tracking import sla_section, tracking_section

# The order of docs/architecture.md §9.2: what was ordered, packed, shipped, carried, and whether to trust it.
SECTIONS = (summary, order_section, scans_section, weight_section, label_section, handover_section,
            tracking_section, sla_section, passport_section, photo_section, cases_section, audit_section)


def order_story(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    """The flowables of one order's pack."""
    return [flowable for section in SECTIONS for flowable in section(item, ctx, when)]
