"""Draining 100,000 queued outbox events to the server: batched (500 per request) vs one request per
event. Budget (docs/architecture.md §12): under 30 s, and at least 50× faster than one request per event.

The server is the reference server (server/) in its own process on 127.0.0.1 (SQLite, or
`--database-url postgresql://…`). The events are `scan` facts shaped like the pack flow's, queued with
one executemany before timing. The batched drain is `sync.outbox.push_outbox` exactly as the worker
runs it (read, sign, POST, mark the answers in one transaction per batch) and is timed over all N
events. One request per event is the same code with `batch_size=1`, timed on a SAMPLE of events
(default 2,000) and extrapolated linearly to N — stated as such in the output.

    .venv/bin/python -m bench.sync_drain                 # 100,000 events, sample 2,000, SQLite
    .venv/bin/python -m bench.sync_drain --quick         # 10,000 events, sample 500
    .venv/bin/python -m bench.sync_drain --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from app.clock import SystemClock
from app.store import open_store
from bench import _fixtures as fx
from bench.sync_harness import ServerProcess, queue_scan_events
from sync.outbox import outbox_depth, push_outbox

BUDGET_S = 30.0
BUDGET_RATIO = 50.0


def main() -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000, help="events sent one per request (extrapolated)")
    parser.add_argument("--database-url", default=None, help="server database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    n, sample = (10_000, 500) if args.quick else (args.events, args.sample)
    clock = SystemClock()
    with tempfile.TemporaryDirectory(prefix="pb-drain-") as tmp:
        work = Path(tmp)
        server = ServerProcess(work, args.database_url)
        server.start()
        store = open_store(work / "station")
        client = server.enrolled_client(work / "station")
        try:
            queue_scan_events(store, n)
            print(f"server: {server.kind}, separate process; {n:,} events queued", flush=True)
            progress = {"last": time.perf_counter()}

            def tick(report: object) -> None:
                if time.perf_counter() - progress["last"] > 5:
                    progress["last"] = time.perf_counter()
                    print(f"  … {getattr(report, 'sent', 0):,} sent", flush=True)

            started = time.perf_counter()
            batched = push_outbox(store, client, clock, on_batch=tick)
            batched_s = time.perf_counter() - started
            held = server.count('SELECT COUNT(*) FROM "station_event"')
            assert batched.accepted == n and held == n and outbox_depth() == 0, (batched, held)

            queue_scan_events(store, sample, start=n)
            started = time.perf_counter()
            single = push_outbox(store, client, clock, batch_size=1)
            single_s = time.perf_counter() - started
            assert single.accepted == sample and single.batches == sample
            held = server.count('SELECT COUNT(*) FROM "station_event"')
            assert held == n + sample
        finally:
            client.close()
            store.close()
            server.close()
    per_event_single = single_s / sample
    extrapolated = per_event_single * n
    ratio = extrapolated / batched_s
    result = {
        "events": n, "server_db": server.kind, "batch": 500, "batches": batched.batches,
        "batched_s": round(batched_s, 2), "batched_events_per_s": round(n / batched_s),
        "single_sample": sample, "single_sample_s": round(single_s, 2),
        "single_ms_per_event": round(per_event_single * 1000, 2),
        "single_extrapolated_s": round(extrapolated, 1), "ratio": round(ratio, 1),
        "budget_s": BUDGET_S, "budget_ratio": BUDGET_RATIO,
        "within_budget": batched_s < BUDGET_S and ratio >= BUDGET_RATIO, "machine": fx.machine(),
    }
    print(f"batched: {n:,} events in {batched_s:.2f} s ({n / batched_s:,.0f} events/s, {batched.batches} requests)")
    print(f"one per request: {sample:,} events in {single_s:.2f} s ({per_event_single * 1000:.2f} ms each) "
          f"→ extrapolated to {n:,}: {extrapolated:,.0f} s")
    print(f"ratio {ratio:.0f}× (budget ≥ {BUDGET_RATIO:.0f}×); batched {batched_s:.1f} s (budget < {BUDGET_S:.0f} s): "
          f"{'OK' if result['within_budget'] else 'OVER BUDGET'}")
    if not args.no_json:
        print(f"written {fx.write_json('sync_drain', result)}")
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
