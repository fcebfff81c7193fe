"""Which audit entries concern one order, found without reading the whole chain.

Audit payloads are canonical JSON (`app.audit.canonical_json`: sorted keys, no spaces, UTF-8), so an
entry about the order holds `"order_id":"<id>"`, one of its tracking numbers as a JSON string (print
jobs, handovers), or one of its exception cases as `"case":<n>`. Those strings are searched with
`instr` only between the order's first and last known activity (plus a margin): entries are appended
in time order, so that window is found by bisecting `seq` on `at` in a few indexed lookups, and the
cost grows with the activity in the window, not with the size of the chain.

Entries outside the window are not listed here (the chain digest still covers them): activity the
store cannot date from the order's own rows, e.g. removing a parcel from an open handover batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

from app.clock import iso, parse_iso
from app.evidence.model import AuditInfo
from app.store.models import AuditEntry, database_proxy

MARGIN = timedelta(minutes=30)


def _at(seq: int) -> str | None:
    row = AuditEntry.select(AuditEntry.at).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq).first()
    return row.at if row else None


def first_seq_at_or_after(at: str) -> int:
    """The smallest seq whose time is at or after `at` (max seq + 1 when none), by bisection."""
    top = AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).scalar() or 0
    lo, hi = 1, top + 1
    while lo < hi:
        mid = (lo + hi) // 2
        when = _at(mid)
        if when is not None and when < at:
            lo = mid + 1
        else:
            hi = mid
    return lo


def patterns(order_id: str, tracking_nos: Iterable[str], case_ids: Iterable[int]) -> list[str]:
    found = ['"order_id":' + json.dumps(order_id, ensure_ascii=False)]
    found += [json.dumps(t, ensure_ascii=False) for t in sorted(set(tracking_nos)) if t]
    for case in sorted(set(case_ids)):
        found += [f'"case":{case},', f'"case":{case}}}']
    return found


def order_entries(order_id: str, tracking_nos: Iterable[str], case_ids: Iterable[int],
                  activity: Iterable[str | None]) -> tuple[AuditInfo, ...]:
    """The audit entries naming the order, its parcels or its cases, within its activity window."""
    times = sorted(t for t in activity if t)
    if not times:
        return ()
    start = iso(parse_iso(times[0]) - MARGIN)
    end = iso(parse_iso(times[-1]) + MARGIN)
    first = first_seq_at_or_after(start)
    last = first_seq_at_or_after(end)  # exclusive
    if last <= first:
        return ()
    needles = patterns(order_id, tracking_nos, case_ids)
    where = " OR ".join("instr(payload, ?) > 0" for _ in needles)
    cursor = database_proxy.execute_sql(
        f'SELECT seq, at, actor, kind, hash, payload FROM "audit_entry" WHERE seq >= ? AND seq < ? '
        f"AND ({where}) ORDER BY seq", (first, last, *needles))
    return tuple(AuditInfo(int(seq), at, actor, kind, digest, payload)
                 for seq, at, actor, kind, digest, payload in cursor.fetchall())
