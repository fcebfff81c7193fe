"""Server migration 5 (docs/architecture.md §3.4): the audit chain head each station's pushes carried
(`server.audit_heads`).

The station row keeps the last head accepted; heads refused (went back, changed a kept hash, did not
link to it) are kept in `audit_head_conflict` for a supervisor, never dropped. `$bigint` and `$pk`
are substituted per dialect by `server.migrations`.
"""

from __future__ import annotations

AUDIT_HEADS: tuple[str, ...] = (
    # The last audit chain head each station's pushes carried and the server accepted (server.audit_heads).
    """ALTER TABLE "station" ADD COLUMN "audit_seq" $bigint""",
    """ALTER TABLE "station" ADD COLUMN "audit_hash" TEXT""",
    """ALTER TABLE "station" ADD COLUMN "audit_at" TEXT""",
    # Heads refused (went back, changed a kept hash, did not link): kept for a supervisor, never dropped.
    """CREATE TABLE "audit_head_conflict" (
        "id" $pk,
        "station_id" TEXT NOT NULL,
        "at" TEXT NOT NULL,
        "kept_seq" $bigint NOT NULL,
        "kept_hash" TEXT NOT NULL,
        "offered_seq" $bigint NOT NULL,
        "offered_hash" TEXT NOT NULL,
        "reason" TEXT NOT NULL
    )""",
    """CREATE INDEX "audit_head_conflict_station_at" ON "audit_head_conflict" ("station_id", "at")""",
)
