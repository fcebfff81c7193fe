"""Migration 9: an operator's own language (zh_CN or en; '' follows the station's).

After that operator's badge login the bench speaks their language: outcomes on the screen and the
headless line's `message`s. The column is not among the audit-covered ones frozen in migration 6
(docs/architecture.md §3.5): rows sealed before keep their image, and a change of language is an
audit fact of its own (`operator.language`).
"""

from __future__ import annotations

MIGRATION_9_NAME = "operator language"

MIGRATION_9: tuple[str, ...] = (
    """ALTER TABLE "operator" ADD COLUMN "language" TEXT NOT NULL DEFAULT ''""",
)
