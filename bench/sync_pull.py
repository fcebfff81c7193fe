"""Pulling 100,000 orders from the server into an empty station (docs/architecture.md §10.3; §12 sets no budget for it:
the figures show what a new bench costs on its first sync and how long each page holds the store).

The server is the reference server in its own process (SQLite, or `--database-url postgresql://…`),
its orders imported from one canonical CSV (1 to 3 lines each) before timing. The station pulls with
`sync.pull.pull_feed(..., "orders")` exactly as the worker does: pages of 500 (`sync.pull.PAGE`;
`--limit 1000` for the protocol's maximum), each applied through `app.importers.apply_orders` and
committed with its cursor in one transaction. Reported: the total, orders per second, and per page
the time waiting for the server and the time the page's transaction holds the station's write lock
(what a packer scanning meanwhile could wait, at most).

    .venv/bin/python -m bench.sync_pull             # 100,000 orders
    .venv/bin/python -m bench.sync_pull --quick     # 10,000 orders
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.clock import SystemClock
from app.store import open_store
from app.store.models import Order, OrderLine
from bench import _fixtures as fx
from bench.sync_harness import WAREHOUSE, ServerProcess
from server.intake import import_orders
from sync.pull import PAGE, pull_feed

COLUMNS = ("order_id", "platform", "shop", "status", "buyer", "receiver_name", "receiver_phone", "receiver_address",
           "created_at", "paid_at", "ship_by", "total", "paid", "carrier", "tracking_no", "note", "line_no", "sku",
           "name", "qty", "unit_price")


def write_orders(path: Path, n: int) -> int:
    lines = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in range(n):
            oid = f"TB2026{i:09d}"
            for line_no in range(1, 2 + i % 3):
                writer.writerow((oid, "taobao", "小白杂货铺", "cancelled" if i % 50 == 0 else "paid", f"tb_{i}",
                                 "张伟", f"138{i % 100000000:08d}", f"浙江省杭州市西湖区文三路 {i % 999} 号",
                                 "2026-11-25T01:00:00Z", "2026-11-25T01:05:00Z", "2026-11-27T12:00:00Z", "89.00",
                                 "89.00", "SF", "", "", line_no, fx.product_sku((i + line_no) % fx.PRODUCTS),
                                 f"商品 {line_no}", 1 + line_no % 2, "29.90"))
                lines += 1
    return lines


def main() -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="server database (default: SQLite in a temp dir)")
    parser.add_argument("--limit", type=int, default=PAGE, help="orders per page")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.orders
    clock = SystemClock()
    with tempfile.TemporaryDirectory(prefix="pb-pull-") as tmp:
        work = Path(tmp)
        server = ServerProcess(work, args.database_url)
        lines = write_orders(work / "orders.csv", n)
        started = time.perf_counter()
        import_orders(server.sdb, work / "orders.csv", "canonical", WAREHOUSE, clock, ZoneInfo("Asia/Shanghai"))
        print(f"server: {server.kind}, separate process; {n:,} orders ({lines:,} lines) imported in "
              f"{time.perf_counter() - started:.1f} s (setup)", flush=True)
        server.start()
        store = open_store(work / "station")
        client = server.enrolled_client(work / "station")
        fetch_s: list[float] = []
        commit_s: list[float] = []  # each page's whole transaction: BEGIN IMMEDIATE … COMMIT
        real_fetch, real_atomic = client.orders, store.atomic

        def timed_fetch(cursor: str | None, limit: int = PAGE) -> Any:
            t = time.perf_counter()
            try:
                return real_fetch(cursor, limit)
            finally:
                fetch_s.append(time.perf_counter() - t)

        depth = [0]

        @contextmanager
        def timed_atomic() -> Iterator[None]:
            t = time.perf_counter()
            depth[0] += 1
            try:
                with real_atomic():
                    yield
            finally:
                depth[0] -= 1
            if depth[0] == 0:  # the page's own transaction, not the importer's savepoint in it
                commit_s.append(time.perf_counter() - t)

        client.orders = timed_fetch  # type: ignore[method-assign]
        store.atomic = timed_atomic  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            report = pull_feed(store, client, clock, "orders", limit=args.limit)
            total_s = time.perf_counter() - started
            assert report.items == n and Order.select().count() == n, report
            stored_lines = OrderLine.select().count()
            assert stored_lines == lines
        finally:
            client.close()
            store.close()
            server.close()
    fetch_sorted, apply_sorted = sorted(fetch_s), sorted(commit_s)
    result = {
        "orders": n, "lines": lines, "pages": report.pages, "page_limit": args.limit, "server_db": server.kind,
        "total_s": round(total_s, 2),
        "orders_per_s": round(n / total_s), "fetch_s_total": round(sum(fetch_s), 2),
        "apply_s_total": round(sum(commit_s), 2),
        "page_fetch_ms": {"p50": round(statistics.median(fetch_sorted) * 1000, 1),
                          "max": round(fetch_sorted[-1] * 1000, 1)},
        "page_apply_ms": {"p50": round(statistics.median(apply_sorted) * 1000, 1),
                          "p99": round(fx.percentile(apply_sorted, 99) * 1000, 1),
                          "max": round(apply_sorted[-1] * 1000, 1)},
        "machine": fx.machine(),
    }
    print(f"pulled {n:,} orders ({lines:,} lines) in {report.pages} pages: {total_s:.2f} s "
          f"({n / total_s:,.0f} orders/s)")
    print(f"  waiting for the server: {sum(fetch_s):.2f} s (page p50 {result['page_fetch_ms']['p50']} ms); "
          f"applying + committing: {sum(commit_s):.2f} s")
    print(f"  write lock held per page (its whole transaction): p50 {result['page_apply_ms']['p50']} ms, "
          f"p99 {result['page_apply_ms']['p99']} ms, max {result['page_apply_ms']['max']} ms")
    if not args.no_json:
        print(f"written {fx.write_json('sync_pull', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
