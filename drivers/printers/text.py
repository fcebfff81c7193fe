"""A plain-text rendering of a label: the file connector's fallback and a readable test artefact."""

from __future__ import annotations

from app.labels import Label


def render_text(label: Label) -> str:
    lines = [
        f"{label.carrier} {label.service}" + (f"   *** {label.reprint_mark} ***" if label.reprint_mark else ""),
        f"TRACKING {label.tracking_no}",
        f"TO   {label.receiver.name} {label.receiver.phone_masked}",
        f"     {label.receiver.address}",
        f"FROM {label.sender.name} {label.sender.phone_masked}",
        f"     {label.sender.address}",
        f"ORDER {label.order_id}  ITEMS {label.item_count}  WEIGHT {label.weight_g / 1000:.3f} kg",
        f"PACKED {label.packed_at_local}  STATION {label.station}",
    ]
    if label.passport_url:
        lines.append(f"PASSPORT {label.passport_url}")
    return "\n".join(lines) + "\n\f\n"
