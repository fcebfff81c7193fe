"""The head of each station's audit chain, kept outside the station (docs/architecture.md §3.4).

Every event batch may carry the station's chain head (seq, hash) and "links": the station's own
entries, as its chain has them now, at the seqs the server may hold as its head. The server keeps the
last head it accepted. A head is accepted when it is the first, the same as kept, or later than the
kept one and a link shows the kept entry unchanged in the station's chain. A head that goes back,
changes the hash of the kept seq, or cannot be linked to it is refused: the kept (first) head stays,
the conflict is logged and stored in `audit_head_conflict` for a supervisor, and the answer says so.
The station records the head the server acknowledged; `packbench audit verify` checks its chain still
holds it — which is how truncating the chain, or re-hashing it after an edit, is caught.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from app.clock import parse_iso
from protocol import AuditHead, AuditHeadAck, EventBatch
from server.db import ServerDb

log = logging.getLogger("server.audit_heads")

ENVELOPE = {"events", "audit_head", "audit_links"}  # the keys of a batch (protocol.EventBatch)


@dataclass(frozen=True)
class Claim:
    head: AuditHead
    links: tuple[AuditHead, ...] = ()


Status = Literal["accepted", "unchanged", "refused"]


def judge(kept: AuditHead | None, claim: Claim) -> tuple[Status, str | None]:
    """(status, reason): accepted | unchanged | refused."""
    head = claim.head
    if kept is None:
        return "accepted", None
    if head.seq == kept.seq:
        if head.hash == kept.hash:
            return "unchanged", None
        return "refused", f"entry {kept.seq} changed its hash since the server acknowledged it (chain rewritten)"
    if head.seq < kept.seq:
        return "refused", (f"the head went back from entry {kept.seq} to {head.seq} "
                           "(chain truncated, or the store restored from a backup)")
    link = next((x for x in claim.links if x.seq == kept.seq), None)
    if link is None:
        return "refused", f"the new head {head.seq} does not show entry {kept.seq} the server acknowledged"
    if link.hash != kept.hash:
        return "refused", f"entry {kept.seq} changed its hash since the server acknowledged it (chain rewritten)"
    return "accepted", None


def anchor(sdb: ServerDb, station_id: str, claim: Claim, now: str) -> AuditHeadAck:
    """Judge and keep `claim`, inside the batch's write transaction (the station row is locked)."""
    seq, digest, at = sdb.execute(
        'SELECT "audit_seq", "audit_hash", "audit_at" FROM "station" WHERE "station_id" = ?',
        (station_id,)).fetchone()
    kept = AuditHead(seq=int(seq), hash=digest) if seq is not None else None
    status, reason = judge(kept, claim)
    if status == "accepted":
        sdb.execute('UPDATE "station" SET "audit_seq" = ?, "audit_hash" = ?, "audit_at" = ? WHERE "station_id" = ?',
                    (claim.head.seq, claim.head.hash, now, station_id))
        return AuditHeadAck(status="accepted", seq=claim.head.seq, hash=claim.head.hash,
                            acknowledged_at=parse_iso(now))
    assert kept is not None
    if status == "refused":
        log.warning("station %s audit head %s/%s refused, keeping %s/%s: %s", station_id, claim.head.seq,
                    claim.head.hash[:12], kept.seq, kept.hash[:12], reason)
        sdb.execute('INSERT INTO "audit_head_conflict" ("station_id", "at", "kept_seq", "kept_hash", "offered_seq", '
                    '"offered_hash", "reason") VALUES (?, ?, ?, ?, ?, ?, ?)',
                    (station_id, now, kept.seq, kept.hash, claim.head.seq, claim.head.hash, reason))
    return AuditHeadAck(status=status, seq=kept.seq, hash=kept.hash, acknowledged_at=parse_iso(at), reason=reason)



def parse_claim(body: dict[str, object]) -> Claim | None:
    """The batch's head and links; ValueError (one line) when malformed. Call after `parse_batch`."""
    try:
        envelope = EventBatch.model_validate({**body, "events": []})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"invalid audit head: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    if envelope.audit_head is None:
        return None
    return Claim(envelope.audit_head, tuple(envelope.audit_links))
