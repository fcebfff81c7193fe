"""Migration 5: index print jobs by state.

The runtime looks for waiting labels every few seconds and at start; without this index each look
read the whole print_job table (15–35 ms at 200,000 jobs, on the thread that takes scans).
SQLite does not use a partial index (`WHERE state <> 'done'`) for `state = ?`, so it is a plain one.
"""

from __future__ import annotations

MIGRATION_5_NAME = "print job state index"

MIGRATION_5: tuple[str, ...] = (
    """CREATE INDEX "print_job_state" ON "print_job" ("state")""",
)
