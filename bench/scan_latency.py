"""Scan-to-outcome latency through the headless flow at 10^6 orders.

Budget (design §10): scan to label bytes at the printer p99 < 50 ms with 10^6 orders in the store.
The label printer part comes later; here the printer is drivers.printers.simulated.SimulatedPrinter
and "label bytes" is the moment `print_label` returned (the runtime's `printed` listener).

On a private copy of the cached 10^6-order store, opened with the app's own `open_store` (WAL,
synchronous=FULL: every outcome is a committed, fsynced transaction), the station is composed as
`packbench pack` composes it — `app.station.build_runtime` (PackFlow, passports, chores) with a
SimulatedScale (polled: weighed as soon as the items are complete) and a SimulatedPrinter — and
whole random paid orders are packed: opened by order number or by their bound waybill, every item
scanned by its GTIN, weighed, labelled. Three ways, each on orders not packed before:

1. `inline`: `runtime.submit_scan` then `runtime.run_pending()` on this thread (no thread hop):
   the flow's and the print path's own cost;
2. `runtime`: the runtime's own thread; timed from `submit_scan` to the outcome listener firing;
3. `pty`: as 2, but the scan is bytes (code + CR) written to the master of a real pseudo-terminal
   whose slave a SerialScanner reads (tests/ptypair.py), timed from the write. The scanner's
   double-read filter is set to 0 ms: scans follow each other far faster than a packer's.

Reported: `scan` (every scan to its outcome; split into `open`, `item`, `last item`), `weigh`
(items_complete → label_queued), `print` (label_queued → label_printed: passport, mark_sent, the
printer, print_result), `last scan → label bytes` and `last scan → label printed`. Every figure also
says how much of it was COMMIT (the fsync that synchronous=FULL asks for; timed by wrapping the
store's `db.commit`), the rest being Python and SQLite work. Scans are sent one at a time, each
after the previous outcome (no think time); the runtime's timers (label retry every 5 s) run in 2
and 3 as they do at a bench.

Also: what the label-retry timer and start-up cost (their print_job queries scan the whole table)
with and without an index on print_job.state; and with `--what-if`, a 4th variant `inline+cached
SQL` with bench/_whatif.py's fix applied (the recommended change, in this process only).

    .venv/bin/python -m bench.scan_latency             # 10^6 orders; 2,000 / 1,000 / 1,000 orders packed
    .venv/bin/python -m bench.scan_latency --what-if   # … and 1,000 more with the cached-SQL fix
    .venv/bin/python -m bench.scan_latency --quick     # 10^5 orders; 100 / 50 / 50
"""

from __future__ import annotations

import os
import queue
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.clock import SystemClock
from app.devices import DeviceState, Scan
from app.labels import Label, Party
from app.pack.outcomes import Outcome
from app.station import StationRuntime
from app.store import Store, open_store, store_path
from bench import _fixtures as fx
from drivers.printers.simulated import SimulatedPrinter
from drivers.scales import SimulatedScale
from drivers.scanners import SerialScanner

BUDGET_P99_MS = 50.0
SENDER = Party("PackBench Bench Warehouse", "0571****6666", "浙江省杭州市余杭区仓前街道 1 号仓")
KEYS = ("scan", "open", "item", "last_item", "weigh", "print", "last_scan_to_label_bytes",
        "last_scan_to_label_printed")


@dataclass(frozen=True)
class Plan:
    index: int
    order_id: str
    open_code: str  # the order number or the bound waybill
    items: tuple[str, ...]  # GTINs in scan order, one per unit


def plans(n: int, data_dir: Any, count: int, rnd: random.Random) -> list[Plan]:
    """`count` distinct random paid orders of the store, with the GTIN of every unit to scan."""
    picked: set[int] = set()
    while len(picked) < count:
        i = rnd.randrange(n)
        if fx.order_status(i) == "paid":
            picked.add(i)
    con = sqlite3.connect(f"file:{store_path(data_dir)}?mode=ro", uri=True)
    try:
        out = []
        for i in sorted(picked, key=lambda _: rnd.random()):
            rows = con.execute(
                'SELECT ol.sku, ol.qty, (SELECT b.raw FROM product_barcode b JOIN product p ON p.id = b.product_id '
                'WHERE p.sku = ol.sku ORDER BY b.id LIMIT 1) FROM order_line ol WHERE ol.order_id = ? '
                'ORDER BY ol.line_no', (i + 1,)).fetchall()
            items = [code for _sku, qty, code in rows for _ in range(qty)]
            rnd.shuffle(items)
            tracking = fx.tracking_no(i)
            open_code = tracking if tracking and rnd.random() < 0.5 else fx.order_id(i)
            out.append(Plan(i, fx.order_id(i), open_code, tuple(items)))
        return out
    finally:
        con.close()


class CommitTimer:
    """Wraps the store's `db.commit` (what peewee's atomic() calls at the end of a transaction) and
    adds up the time spent in it: with synchronous=FULL that is, in WAL mode, the fsync of the WAL."""

    def __init__(self, store: Store) -> None:
        self.total_ns = 0
        db = store.db
        real = db.commit

        def commit(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter_ns()
            try:
                return real(*args, **kwargs)
            finally:
                self.total_ns += time.perf_counter_ns() - t0

        db.commit = commit


class Samples:
    """Latency and, for each, the part of it spent in COMMIT."""

    def __init__(self) -> None:
        self.total: dict[str, list[int]] = {k: [] for k in KEYS}
        self.commit: dict[str, list[int]] = {k: [] for k in KEYS}

    def add(self, key: str, start: tuple[int, int], end: tuple[int, int]) -> None:
        """`start` and `end` are (perf_counter_ns, commit ns so far)."""
        self.total[key].append(end[0] - start[0])
        self.commit[key].append(end[1] - start[1])

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in KEYS:
            if not self.total[k]:
                continue
            rest = [t - c for t, c in zip(self.total[k], self.commit[k], strict=True)]
            out[k] = {**fx.summarize_ns(self.total[k]), "commit_p50": fx.summarize_ns(self.commit[k])["p50"],
                      "non_commit_p50": fx.summarize_ns(rest)["p50"], "non_commit_p99": fx.summarize_ns(rest)["p99"]}
            worst = sorted(zip(self.total[k], self.commit[k], strict=True), reverse=True)[:5]
            out[k]["worst_ms_and_commit_ms"] = [[round(t / 1e6, 2), round(c / 1e6, 2)] for t, c in worst]
        return out


class Recorder:
    """Outcome and printed listeners: (perf_counter_ns, commit ns so far, event) into a queue."""

    def __init__(self, runtime: StationRuntime, commits: CommitTimer) -> None:
        self.commits = commits
        self.events: queue.Queue[tuple[int, int, str]] = queue.Queue()
        runtime.listeners.outcome.append(self.on_outcome)
        runtime.listeners.printed.append(self.on_printed)
        runtime.listeners.error.append(lambda message: self._put(f"error: {message}"))

    def now(self) -> tuple[int, int]:
        return time.perf_counter_ns(), self.commits.total_ns

    def _put(self, event: str) -> None:
        self.events.put((time.perf_counter_ns(), self.commits.total_ns, event))

    def on_outcome(self, outcome: Outcome) -> None:
        self._put(outcome.event)

    def on_printed(self, label: Label) -> None:
        self._put("printed")

    def wait_for(self, event: str, timeout: float = 10.0) -> tuple[int, int]:
        """When `event` fired (and the commit total then); any other event on the way is an error."""
        t, c, got = self.events.get(timeout=timeout)
        if got != event:
            raise AssertionError(f"waiting for {event}, got {got}")
        return t, c


def pack(recorder: Recorder, todo: list[Plan], send: Any, settle: Any) -> Samples:
    """Pack each order: `send(code)` delivers one scan and returns (time, commits) at its start;
    `settle()` waits until the runtime has nothing left to do."""
    s = Samples()
    for plan in todo:
        t0 = send(plan.open_code)
        t1 = recorder.wait_for("order_opened")
        s.add("open", t0, t1)
        s.add("scan", t0, t1)
        for k, code in enumerate(plan.items):
            last = k == len(plan.items) - 1
            t0 = send(code)
            t1 = recorder.wait_for("items_complete" if last else "item_ok")
            s.add("last_item" if last else "item", t0, t1)
            s.add("scan", t0, t1)
        queued = recorder.wait_for("label_queued")
        printed = recorder.wait_for("printed")
        done = recorder.wait_for("label_printed")
        s.add("weigh", t1, queued)
        s.add("print", queued, done)
        s.add("last_scan_to_label_bytes", t0, printed)
        s.add("last_scan_to_label_printed", t0, done)
        settle()
    return s


def make_runtime(store: Store, data_dir: Path, clock: SystemClock, scanner: Any = None) -> StationRuntime:
    """The runtime as `packbench pack` builds it (app.station.build_runtime), with simulated scale
    and printer; a plain StationRuntime where build_runtime does not exist."""
    from app import station

    scale, printer = SimulatedScale(clock), SimulatedPrinter()
    if hasattr(station, "build_runtime"):
        from app.config import load_config

        return station.build_runtime(store, data_dir, load_config(data_dir), clock, printer, scanner, scale)
    from app.pack.flow import FlowConfig, PackFlow

    return StationRuntime(PackFlow(store, clock, FlowConfig()), clock, printer, SENDER, scanner=scanner, scale=scale)


def login(runtime: StationRuntime) -> None:
    runtime.call(lambda: runtime.flow.login(fx.LINE_OPERATOR[0]))


def run_inline(store: Store, data_dir: Path, clock: SystemClock, todo: list[Plan], commits: CommitTimer) -> Samples:
    runtime = make_runtime(store, data_dir, clock)
    recorder = Recorder(runtime, commits)
    login(runtime)
    runtime.run_pending()
    recorder.wait_for("login")

    def send(code: str) -> tuple[int, int]:
        start = recorder.now()
        runtime.submit_scan(Scan(code.encode(), "bench", clock.now()))
        runtime.run_pending()
        return start

    return pack(recorder, todo, send, lambda: None)


def run_threaded(store: Store, data_dir: Path, clock: SystemClock, todo: list[Plan], commits: CommitTimer,
                 use_pty: bool) -> Samples:
    master = -1
    scanner = None
    if use_pty:
        from tests.ptypair import open_pty_pair

        master, slave = open_pty_pair()
        scanner = SerialScanner(slave, clock=clock, dedupe_ms=0)
    runtime = make_runtime(store, data_dir, clock, scanner)
    recorder = Recorder(runtime, commits)
    connected = threading.Event()
    runtime.listeners.status.append(
        lambda st: connected.set() if st.device == "scanner" and st.state is DeviceState.CONNECTED else None)
    login(runtime)
    runtime.start()
    try:
        recorder.wait_for("login")
        if use_pty and not connected.wait(5):
            raise RuntimeError("the SerialScanner never opened the pty")
        runtime.wait_idle(10)

        def submit(code: str) -> tuple[int, int]:
            start = recorder.now()
            runtime.submit_scan(Scan(code.encode(), "bench", clock.now()))
            return start

        def write(code: str) -> tuple[int, int]:
            start = recorder.now()
            os.write(master, code.encode() + b"\r")
            return start

        return pack(recorder, todo, write if use_pty else submit, lambda: runtime.wait_idle(5))
    finally:
        runtime.stop()
        if use_pty:
            os.close(master)


def retry_timer_cost(store: Store, data_dir: Path, clock: SystemClock, repeat: int = 5) -> dict[str, Any]:
    """What the runtime thread does on its label-retry timer (every `retry_seconds`, also while scans
    come in) and at start: a scan arriving meanwhile waits for it. Then the same with an index on
    print_job.state, created on this throw-away copy of the store."""
    runtime = make_runtime(store, data_dir, clock)
    db = store.db

    def measure() -> dict[str, float]:
        out: dict[str, float] = {}
        for name in ("_retry_waiting_jobs", "_retry_failed_jobs", "_resume_print_jobs"):
            step = getattr(runtime, name, None)
            if step is None:  # the runtime's names change as it grows: time whichever exist
                continue
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter_ns()
                step()
                times.append(time.perf_counter_ns() - t0)
            out[name] = fx.summarize_ns(times)["p50"]
        return out

    sql = 'SELECT "id" FROM "print_job" WHERE "state" = ? ORDER BY "id"'

    def plan() -> str:
        return " / ".join(r[-1] for r in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", ("queued",)).fetchall())

    result: dict[str, Any] = {"retry_seconds": runtime.retry_seconds,
                              "print_job_rows": db.execute_sql('SELECT COUNT(*) FROM "print_job"').fetchone()[0],
                              "plan": plan(), "ms": measure()}
    db.execute_sql('CREATE INDEX IF NOT EXISTS "bench_print_job_state" ON "print_job" ("state")')
    result["plan_with_index"] = plan()
    result["ms_with_index"] = measure()
    db.execute_sql('DROP INDEX "bench_print_job_state"')
    return result


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--orders", type=lambda s: int(float(s)), help="orders in the store (default 1e6; quick 1e5)")
    parser.add_argument("--inline", type=int, help="orders packed inline, run_pending (default 2000)")
    parser.add_argument("--runtime", type=int, help="orders packed through the runtime thread (default 1000)")
    parser.add_argument("--pty", type=int, help="orders packed through a SerialScanner on a pty (default 1000)")
    parser.add_argument("--what-if", action="store_true",
                        help="also pack orders inline with bench/_whatif.py's cached-SQL fix applied")
    parser.add_argument("--keep", action="store_true", help="keep the store copy under bench/out/run/")
    args = parser.parse_args(argv)
    n = args.orders or (100_000 if args.quick else 1_000_000)
    counts = {"inline": args.inline if args.inline is not None else (100 if args.quick else 2000),
              "runtime": args.runtime if args.runtime is not None else (50 if args.quick else 1000),
              "pty": args.pty if args.pty is not None else (50 if args.quick else 1000)}
    if args.what_if:
        counts["inline+cached SQL"] = counts["runtime"]
    rnd = random.Random(fx.SEED + 1)

    data_dir = fx.copy_store(n, fx.OUT / "run" / "scan_latency", args.rebuild)
    todo = plans(n, data_dir, sum(counts.values()), rnd)
    batches: dict[str, list[Plan]] = {}
    start = 0
    for name, k in counts.items():
        batches[name], start = todo[start:start + k], start + k
    report: dict[str, Any] = {"benchmark": "scan_latency", "machine": fx.machine(), "orders_in_store": n,
                              "store": fx.store_info(data_dir), "variants": {}}
    t_start = time.perf_counter()
    contention = fx.Contention().start()
    clock = SystemClock()
    store = open_store(data_dir, clock)
    commits = CommitTimer(store)
    report["pragmas"] = {p: store.db.execute_sql(f"PRAGMA {p}").fetchone()[0]
                         for p in ("journal_mode", "synchronous", "foreign_keys", "cache_size")}
    runs = {
        "inline": lambda: run_inline(store, data_dir, clock, batches["inline"], commits),
        "runtime": lambda: run_threaded(store, data_dir, clock, batches["runtime"], commits, use_pty=False),
        "pty": lambda: run_threaded(store, data_dir, clock, batches["pty"], commits, use_pty=True),
        "inline+cached SQL": lambda: run_inline(store, data_dir, clock, batches["inline+cached SQL"], commits),
    }
    try:
        print(f"store {n:,} orders, pragmas {report['pragmas']}", flush=True)
        for k, name in enumerate(counts, start=1):
            print(f"{k}/{len(counts)} {name}: {counts[name]} orders …", flush=True)
            t0 = time.perf_counter()
            fx.quiet_gc()
            if name.endswith("cached SQL"):
                from bench import _whatif

                _whatif.install_cached_sql()
            try:
                samples = runs[name]()
            finally:
                if name.endswith("cached SQL"):
                    _whatif.uninstall()
            report["variants"][name] = {"orders": counts[name], **samples.summary(),
                                        "seconds": round(time.perf_counter() - t0, 1)}
        report["retry_timer"] = retry_timer_cost(store, data_dir, clock)
    finally:
        store.close()
        if not args.keep:
            fx.remove_store(data_dir)
    report["contention"] = contention.stop()
    report["seconds"] = round(time.perf_counter() - t_start, 1)

    rows = []
    for name, v in report["variants"].items():
        for key in KEYS:
            st = v.get(key)
            if st:
                rows.append([name, key.replace("_", " "), st["n"], fx.fmt_ms(st["p50"]), fx.fmt_ms(st["p90"]),
                             fx.fmt_ms(st["p99"]), fx.fmt_ms(st["max"]), fx.fmt_ms(st["commit_p50"]),
                             fx.fmt_ms(st["non_commit_p50"]), fx.fmt_ms(st["non_commit_p99"])])
    print(f"\nscan → outcome at {n:,} orders (synchronous=FULL, every outcome committed):")
    fx.print_table(["variant", "what", "n", "p50", "p90", "p99", "max", "COMMIT p50", "rest p50", "rest p99"], rows)
    tick = report["retry_timer"]
    print(f"\nlabel-retry timer (every {tick['retry_seconds']:g} s, also while scanning) and start-up, over "
          f"print_job of {tick['print_job_rows']:,} rows:")
    print(f"  as is ({tick['plan']}): " + ", ".join(f"{k} {fx.fmt_ms(v)}" for k, v in tick["ms"].items()))
    print(f"  with an index on print_job.state ({tick['plan_with_index']}): "
          + ", ".join(f"{k} {fx.fmt_ms(v)}" for k, v in tick["ms_with_index"].items()))
    print(fx.Contention.describe(report["contention"]))
    pty = report["variants"]["pty"]["last_scan_to_label_bytes"]
    verdict = "PASS" if pty["p99"] < BUDGET_P99_MS else "FAIL"
    report["budget"] = {"what": "pty last scan → label bytes (simulated printer)", "p99_ms": pty["p99"],
                        "budget_p99_ms": BUDGET_P99_MS, "verdict": verdict}
    print(f"budget: scan → label bytes p99 < {BUDGET_P99_MS:.0f} ms (pty, simulated printer): "
          f"{fx.fmt_ms(pty['p99'])} — {verdict}  ({report['seconds']} s)")
    if not args.no_json:
        print(f"wrote {fx.write_json('scan_latency', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
