"""The audit chain's anchor outside the file: the head the central server acknowledged.

Each push carries the chain head (`sync.outbox`); the server keeps the last one it accepted and says
so. This module records that acknowledgement in the store and judges the chain against it: the
acknowledged entry must still be in the chain with the same hash. Cutting entries off the end, or
re-hashing the chain after editing an entry or a row, leaves a chain that verifies on its own but no
longer holds the acknowledged entry — or holds it with another hash.

The record itself sits in the store, where someone editing the file could lower it; the server keeps
the first head it accepted and refuses one that goes back or does not link to it, so such an edit is
flagged there at the next push (`server.audit_heads`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from app.audit import ChainReport
from app.clock import iso
from app.store import Store
from app.store.models import AuditEntry, Meta
from app.store.prepared import execute

log = logging.getLogger(__name__)

ACK_KEY = "audit.anchor"  # {"seq", "hash", "at"}: the head the server acknowledged, and when
SENT_KEY = "audit.anchor_sent"  # [seq, ...]: heads sent lately, whose answers may have been lost
REFUSED_KEY = "audit.anchor_refused"  # {"at", "reason"}: the server's last refusal of this station's head
KEEP_SENT = 3


@dataclass(frozen=True)
class Point:
    seq: int
    hash: str


@dataclass(frozen=True)
class Acknowledged:
    seq: int
    hash: str
    at: str  # when the server acknowledged it (server time, ISO)


def head() -> Point | None:
    row = execute(AuditEntry, 'SELECT "seq", "hash" FROM "audit_entry" ORDER BY "seq" DESC LIMIT 1').fetchone()
    return Point(int(row[0]), str(row[1])) if row else None


def hash_at(seq: int) -> str | None:
    row = execute(AuditEntry, 'SELECT "hash" FROM "audit_entry" WHERE "seq" = ?', (seq,)).fetchone()
    return str(row[0]) if row else None


def _meta_json(key: str) -> object:
    row = Meta.get_or_none(Meta.key == key)
    if row is None:
        return None
    try:
        return json.loads(row.value)
    except ValueError:
        return None


def acknowledged() -> Acknowledged | None:
    value = _meta_json(ACK_KEY)
    if not isinstance(value, dict):
        return None
    try:
        return Acknowledged(int(value["seq"]), str(value["hash"]), str(value["at"]))
    except (KeyError, TypeError, ValueError):
        return None


def claim() -> tuple[Point, list[Point]] | None:
    """What the next push carries: the head, and this chain's own entries at the seqs the server may
    hold as its head (the acknowledged one and the ones sent since, whose answers may have been lost)."""
    current = head()
    if current is None:
        return None
    ack = acknowledged()
    sent = _meta_json(SENT_KEY)
    seqs = [ack.seq] if ack else []
    seqs += [s for s in sent if isinstance(s, int) and s not in seqs] if isinstance(sent, list) else []
    links = [Point(seq, digest) for seq in seqs[:4] if seq != current.seq and (digest := hash_at(seq))]
    return current, links


def note_sent(store: Store, seq: int) -> None:
    """Before a head goes out: if its answer is lost, the next push still links to it."""
    sent = _meta_json(SENT_KEY)
    seqs = [s for s in sent if isinstance(s, int)] if isinstance(sent, list) else []
    if seqs and seqs[-1] == seq:
        return
    with store.atomic():
        store.set_meta(SENT_KEY, json.dumps([*seqs, seq][-KEEP_SENT:]))


def record_ack(store: Store, status: str, seq: int, digest: str, at: datetime, reason: str | None) -> None:
    """The server's answer about the head: the head it keeps is what `verify` holds the chain to."""
    with store.atomic():
        store.set_meta(ACK_KEY, json.dumps({"seq": seq, "hash": digest, "at": iso(at)}))
        if status == "refused":
            log.warning("the server refused this station's audit chain head and keeps entry %s: %s", seq, reason)
            store.set_meta(REFUSED_KEY, json.dumps({"at": iso(at), "reason": reason or ""}, ensure_ascii=False))


@dataclass(frozen=True)
class AnchorVerdict:
    ok: bool
    text: str


def judge(chain: ChainReport) -> AnchorVerdict:
    """The chain against the head the server acknowledged."""
    ack = acknowledged()
    if ack is None:
        return AnchorVerdict(True, "not anchored since the store was created: never acknowledged by a server "
                                   "(not enrolled, or never synced); a truncated or re-hashed chain cannot be "
                                   "told from a true one here")
    refused = _meta_json(REFUSED_KEY)
    note = ""
    if isinstance(refused, dict):
        note = f"; the server refused this station's head at {refused.get('at')}: {refused.get('reason')}"
    digest = hash_at(ack.seq)
    if digest is None:
        return AnchorVerdict(False, f"TRUNCATED: the server acknowledged entry {ack.seq} at {ack.at}, but the chain "
                                    f"ends at entry {chain.head_seq}{note}")
    if digest != ack.hash:
        return AnchorVerdict(False, f"REWRITTEN: entry {ack.seq} does not have the hash the server acknowledged at "
                                    f"{ack.at} ({ack.hash[:16]}…, now {digest[:16]}…){note}")
    later = chain.head_seq - ack.seq
    if later > 0:
        return AnchorVerdict(True, f"entry {ack.seq} acknowledged by the server at {ack.at}; {later} later entries "
                                   f"not anchored since {ack.at}{note}")
    return AnchorVerdict(True, f"head entry {ack.seq} acknowledged by the server at {ack.at}{note}")
