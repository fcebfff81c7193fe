"""The station side of the central-server protocol (docs/architecture.md §10).

    credentials.py  DATA_DIR/sync.toml (mode 0600): server URL, station id, secret
    client.py       SyncClient: signed HTTP, typed answers, SyncError(reason, retryable, kind); enroll()
    outbox.py       push: unsent outbox rows in seq order, batches of ≤ 500, answers marked per batch
    pull.py         products / orders / tracking since the stored cursor, page + cursor in one transaction
    worker.py       SyncWorker: rounds on a thread, backoff with full jitter, SyncStatus to listeners
    cli.py          `packbench station enroll`, `packbench sync --once`

The wire models and request signing live in the top-level `protocol` package, which the server
imports too. Imports only `app` and `protocol` (and itself): never `ui`, `drivers` or `server`, and no Qt.
"""
