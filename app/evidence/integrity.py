"""What the audit chain says about exactly the rows one evidence pack prints.

`collect` notes every covered row it reads (the order, its lines, sessions, scan events, parcels, print
jobs, handover items, cases); `verify_rows` judges them against the last audit entry that wrote each
(`app.audit_rows`), and the pack prints the result per kind ("scan events 12/12 verified", worded in
the document's language) or names each row that fails — so a forged weight never appears under
"chain intact" alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.audit_rows import ROW_PROBLEM, RowCheck, describe
from app.i18n import N_, Phrase
from app.store.migration_0006 import MIGRATION_6_VERSION

_LABELS = {
    "order": N_("order"), "order_line": N_("order lines"), "pack_session": N_("packing sessions"),
    "scan_event": N_("scan events"), "shipment": N_("shipment"), "print_job": N_("print jobs"),
    "handover_item": N_("handover"), "exception_case": N_("cases"),
}


@dataclass(frozen=True)
class RowsVerdict:
    ok: bool
    parts: tuple[Phrase, ...]  # "order verified", "scan events 12/12 verified", …
    problems: tuple[Phrase, ...] = ()  # one line per row that fails: "shipment row 3: edited after audit entry 57 …"


def row_verdict(refs: Sequence[tuple[str, int]], checks: Mapping[tuple[str, int], RowCheck]) -> RowsVerdict:
    parts: list[Phrase] = []
    problems: list[Phrase] = []
    for table, label in _LABELS.items():
        mine = [checks[ref] for ref in refs if ref[0] == table and ref in checks]
        if not mine:
            continue
        verified = sum(c.state == "verified" for c in mine)
        old = sum(c.state == "before_migration" for c in mine)
        judged = len(mine) - old
        name = Phrase(label)
        if judged == verified == 1:
            parts.append(Phrase(N_("{rows} verified"), {"rows": name}))
        elif judged:
            parts.append(Phrase(N_("{rows} {verified}/{judged} verified"),
                                {"rows": name, "verified": verified, "judged": judged}))
        if old:
            parts.append(Phrase(N_("{rows} {count} not covering rows (before migration {version})"),
                                {"rows": name, "count": old, "version": MIGRATION_6_VERSION}))
        problems += [Phrase(ROW_PROBLEM, {"table": c.table, "row": c.row_id, "what": describe(c)})
                     for c in mine if not c.ok]
    return RowsVerdict(not problems, tuple(parts) or (Phrase(N_("no covered rows")),), tuple(problems))
