"""Full re-evaluation of the default exception rules over 10^5 orders (docs/architecture.md §9.1; issue: "Rules over
10^5 orders (full re-evaluation time)").

The store is a private copy (in a temp dir) of the cached benchmark store of N orders (bench/_fixtures:
built once with raw sqlite3 `executemany`; 20 % shipped with parcels, 1/5 of addresses a pickup
point), to which this benchmark adds, again with raw `executemany`: a carrier trail for every parcel
(picked up, in transit, out for delivery, delivered — 10 % stalled in transit, 5 % stuck out for
delivery, 5 % returned after delivery), a closed handover batch for 95 % of parcels, 200 products
with stock under 5, and 1 % of open orders each with a 10-digit phone and a paid amount that differs
from the lines. The clock is a FakeClock at 2026-11-25 02:00 UTC.

Timed, with every default rule ("all": what runs after the rules themselves change):
1. `evaluate`: load the contexts and evaluate, no writes (best and median of --repeat);
   split into loading the contexts (the same queries, no rule run) and evaluating;
2. `run_rules` on a store without cases: evaluates and opens every case (one transaction per batch);
3. `run_rules` again: the steady state, every hit already has a live case;
4. `run_rules(trigger="timer")` over every order, and with `since` = 30 days (what the timer should run);
5. `blocking_rules` for one paid order, as the pack flow would call it when an order is scanned (p50/p99).

    .venv/bin/python -m bench.rules_eval            # 10^5 orders
    .venv/bin/python -m bench.rules_eval --quick    # 10^4 orders
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.clock import FakeClock, iso, parse_iso
from app.rules import RuleBook, blocking_rules, evaluate, run_rules
from app.rules.context import contexts, needs_of, order_pks, window_metrics
from app.store import Store, open_store, store_path
from app.store.models import Order
from bench import _fixtures as fx

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _trail(k: int, packed: datetime) -> list[tuple[str, float]]:
    """(status, hours after packing) of parcel k's tracking events."""
    full = [("picked_up", 2), ("in_transit", 9), ("out_for_delivery", 30), ("delivered", 34)]
    kind = k % 20
    if kind in (0, 1):
        return full[:2]  # stalled in transit
    if kind == 2:
        return full[:3]  # out for delivery, never signed
    if kind == 3:
        return [*full, ("returned", 60)]  # delivered, then sent back
    return full


def add_rule_data(path: Path) -> dict[str, int]:
    """Tracking events, handovers, low stock and a few bad orders, with raw executemany."""
    import sqlite3

    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        parcels = con.execute(
            'SELECT "id", "tracking_no", "carrier", "created_at" FROM "shipment" ORDER BY "id"').fetchall()
        events: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        batches: list[tuple[Any, ...]] = []
        for k, (pk, waybill, carrier, created) in enumerate(parcels):
            packed = parse_iso(created)
            for status, hours in _trail(k, packed):
                at = iso(packed + timedelta(hours=hours))
                events.append((len(events) + 1, carrier, waybill, status, status, at, "杭州转运中心", "", status,
                               "bench", at))
            if k % 20 != 19:  # 5 % never handed over
                if k % 500 == 0:
                    batches.append((len(batches) + 1, f"HO-BENCH-{len(batches) + 1:05d}", carrier, "BENCH-0", "closed",
                                    created, "bench", created, "bench", ""))
                handed = iso(packed + timedelta(hours=3))
                items.append((len(batches), pk, waybill, handed, "bench", handed))
        con.executemany('INSERT INTO "tracking_event" ("server_id", "carrier", "tracking_no", "status", '
                        '"carrier_status", "time", "site", "courier", "context", "source", "received_at") '
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?)", events)
        con.executemany('INSERT INTO "handover" ("id", "batch_id", "carrier", "station", "state", "opened_at", '
                        '"opened_by", "closed_at", "closed_by", "courier") VALUES (?,?,?,?,?,?,?,?,?,?)', batches)
        con.executemany('INSERT INTO "handover_item" ("handover_id", "shipment_id", "tracking_no", "scanned_at", '
                        '"scanned_by", "handed_over_at") VALUES (?,?,?,?,?,?)', items)
        con.executemany('UPDATE "product" SET "stock" = ? WHERE "id" = ?', [(j % 5, j) for j in range(1, 20001, 100)])
        open_orders = [pk for (pk,) in con.execute(
            'SELECT "id" FROM "order" WHERE "status" = \'paid\' AND "id" % 100 = 37')]
        con.executemany('UPDATE "order" SET "receiver_phone" = ?, "paid_cents" = "paid_cents" - 500 WHERE "id" = ?',
                        [(f"138{pk % 10**7:07d}", pk) for pk in open_orders])
        con.execute("COMMIT")
    finally:
        con.close()
    return {"tracking_events": len(events), "handover_items": len(items), "low_stock_products": 200,
            "bad_open_orders": len(open_orders)}


class Step:
    """Wall and CPU seconds of one call (CPU: this process; the machine is shared, see Contention)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.result = fn()
        self.wall = time.perf_counter() - wall
        self.cpu = time.process_time() - cpu

    def row(self, what: str, orders: int, notes: str = "") -> list[str]:
        return [what, f"{self.wall:.2f}", f"{self.cpu:.2f}", f"{orders / self.wall:,.0f}", f"{orders / self.cpu:,.0f}",
                notes]

    def json(self) -> dict[str, float]:
        return {"wall_s": round(self.wall, 3), "cpu_s": round(self.cpu, 3)}


def _count_queries(store: Store) -> Callable[[], int]:
    """Count the statements the store runs from now on (wraps its execute_sql)."""
    db: Any = store.db
    original = db.execute_sql
    seen = [0]

    def counting(sql: str, params: Any = None, *args: Any, **kw: Any) -> Any:
        seen[0] += 1
        return original(sql, params, *args, **kw)
    db.execute_sql = counting
    return lambda: seen[0]


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=None, help="orders in the store (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="evaluate-only repetitions")
    args = parser.parse_args(argv)
    n = args.orders or (10_000 if args.quick else 100_000)
    work = Path(tempfile.mkdtemp(prefix="rules_eval-"))
    try:
        fx.copy_store(n, work, rebuild=args.rebuild)
        extra = add_rule_data(store_path(work))
        clock = FakeClock(NOW)
        store = open_store(work, clock)
        queries = _count_queries(store)
        ruleset = RuleBook().defaults
        rules = ruleset.active()
        print(f"{n:,} orders, {len(rules)} default rules; added {extra}", flush=True)
        report: dict[str, Any] = {"orders": n, "rules": len(rules), "added": extra, "machine": fx.machine()}
        with fx.Contention() as contention:
            needs = needs_of({f for r in rules for f in r.condition.analysis.fields},
                             {w for r in rules for w in r.condition.analysis.windows})

            def load_only() -> int:
                now = clock.now().timestamp()
                metrics = window_metrics(store, now, needs.windows)
                return sum(len(b) for b in contexts(store, order_pks(store, None), now, needs, metrics, True))

            def evaluate_all() -> Counter[str]:
                return Counter(rule.id for hits in evaluate(store, clock, rules) for rule, _ in hits)

            loads = [Step(load_only) for _ in range(args.repeat)]
            before = queries()
            runs = [Step(evaluate_all) for _ in range(args.repeat)]
            eval_queries = (queries() - before) // args.repeat
            hits: Counter[str] = runs[0].result
            best, load = min(runs, key=lambda r: r.wall), min(loads, key=lambda r: r.wall)
            first = Step(lambda: run_rules(store, clock, ruleset, "all"))
            before = queries()
            again = Step(lambda: run_rules(store, clock, ruleset, "all"))
            again_queries = queries() - before
            timer = Step(lambda: run_rules(store, clock, ruleset, "timer"))
            since = clock.now() - timedelta(days=30)
            recent = Order.select().where((Order.created_at >= iso(since)) | (Order.updated_at >= iso(since))).count()
            timer30 = Step(lambda: run_rules(store, clock, ruleset, "timer", since=since))
            paid = list(Order.select().where(Order.status == "paid").order_by(Order.id).limit(300))
            samples = []
            for row in paid:
                t0 = time.perf_counter_ns()
                blocking_rules(store, clock, ruleset, row)
                samples.append(time.perf_counter_ns() - t0)
            gate = fx.summarize_ns(samples[50:])
        store.close()
        report.update({
            "evaluate": best.json(), "evaluate_median_wall_s": round(statistics.median(r.wall for r in runs), 3),
            "load_contexts": load.json(), "evaluate_queries": eval_queries, "orders_per_s_wall": round(n / best.wall),
            "orders_per_s_cpu": round(n / best.cpu), "hits": dict(hits), "first_run": first.json(),
            "cases_opened": len(first.result), "rerun": again.json(), "rerun_cases": len(again.result),
            "rerun_queries": again_queries, "timer_all": timer.json(), "timer_30d": timer30.json(),
            "timer_30d_orders": recent, "blocking_check_ms": gate, "contention": contention.result,
        })
        print("\nhits per rule:", ", ".join(f"{k} {v:,}" for k, v in sorted(hits.items())))
        fx.print_table(["what", "wall s", "cpu s", "orders/s wall", "orders/s cpu", "notes"], [
            best.row("evaluate (load + rules, no writes)", n,
                     f"best of {args.repeat}, median {report['evaluate_median_wall_s']} s; {eval_queries} queries"),
            load.row("  of which loading the contexts", n),
            first.row("run_rules, empty case table", n, f"{len(first.result):,} cases opened"),
            again.row("run_rules again (steady state)", n, f"{len(again.result)} new cases; {again_queries} queries"),
            timer.row("run_rules, trigger timer", n, "every order"),
            timer30.row("run_rules, timer, since 30 days", recent, f"{recent:,} orders created/changed in 30 days"),
        ])
        print(f"\nblocking_rules (the pack-flow check) for one order: p50 {fx.fmt_ms(gate['p50'])}, "
              f"p99 {fx.fmt_ms(gate['p99'])}, max {fx.fmt_ms(gate['max'])}")
        print(f"\n{contention.line()}")
        if not args.no_json:
            print(f"wrote {fx.write_json('rules_eval', report)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
