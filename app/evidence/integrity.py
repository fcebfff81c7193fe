"""What the audit chain says about exactly the rows one evidence pack prints.

`collect` notes every covered row it reads (the order, its lines, sessions, scan events, parcels, print
jobs, handover items, cases); `verify_rows` judges them against the last audit entry that wrote each
(`app.audit_rows`), and the pack prints the result per kind ("scan events 12/12 verified") or names
each row that fails — so a forged weight never appears under "chain intact" alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.audit_rows import BEFORE_MIGRATION, RowCheck, describe

_LABELS = {
    "order": "order", "order_line": "order lines", "pack_session": "packing sessions", "scan_event": "scan events",
    "shipment": "shipment", "print_job": "print jobs", "handover_item": "handover", "exception_case": "cases",
}


@dataclass(frozen=True)
class RowsVerdict:
    ok: bool
    text: str  # "order verified; scan events 12/12 verified; …"
    problems: tuple[str, ...] = ()  # one line per row that fails: "shipment row 3: edited after audit entry 57 …"


def row_verdict(refs: Sequence[tuple[str, int]], checks: Mapping[tuple[str, int], RowCheck]) -> RowsVerdict:
    parts: list[str] = []
    problems: list[str] = []
    for table, label in _LABELS.items():
        mine = [checks[ref] for ref in refs if ref[0] == table and ref in checks]
        if not mine:
            continue
        verified = sum(c.state == "verified" for c in mine)
        old = sum(c.state == "before_migration" for c in mine)
        judged = len(mine) - old
        if judged:
            parts.append(f"{label} verified" if judged == verified == 1 else f"{label} {verified}/{judged} verified")
        if old:
            parts.append(f"{label} {old} {BEFORE_MIGRATION}")
        problems += [f"{c.table} row {c.row_id}: {describe(c)}" for c in mine if not c.ok]
    return RowsVerdict(not problems, "; ".join(parts) or "no covered rows", tuple(problems))
