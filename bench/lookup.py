"""Order lookup by barcode at 10^4, 10^5 and 10^6 orders (p50, p99).
Budget (docs/architecture.md §12): p99 < 1 ms at 10^6.

Times exactly what the scan path does with a code, in the app's own functions and store:
`app.barcodes.interpret(raw, is_badge=lookup.is_badge)` (the badge check is a store query on
every scan), then `app.pack.lookup.find_order` for order numbers and waybills (as
`PackFlow._open_order` does) or `find_product` for product GTINs (as `PackFlow._on_item` does).
`unknown` is a well-formed order number that does not exist, scanned at an idle bench: find_order
misses three ways, then find_product (the `order_not_found` path). Kinds are interleaved at random
over random existing rows, after a warm-up, with the store file in the OS page cache; `raw SQL` is
the same indexed query through sqlite3 alone, to show how much of a look-up is Python around SQLite
(the scan path's queries run prepared SQL, app/store/prepared.py, rows made into models). The `cold`
rows are the first look-ups after the store file was evicted from the OS page cache
(POSIX_FADV_DONTNEED), as right after a reboot.

    .venv/bin/python -m bench.lookup            # 10^4, 10^5, 10^6; 20,000 look-ups per kind and size
    .venv/bin/python -m bench.lookup --quick    # 10^4 and 10^5, 2,000 per kind
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from app.barcodes import interpret
from app.pack import lookup
from app.store import open_store
from bench import _fixtures as fx

KINDS = ("order_id", "waybill", "gtin", "unknown")
EXISTING = ("order_id", "waybill", "gtin")  # what the budget is judged on; `unknown` is reported beside it
BUDGET_P99_MS = 1.0


def _codes(n: int, kind: str, count: int, rnd: random.Random) -> list[tuple[str, str, str]]:
    """(kind, code scanned, what it must find) for `count` random existing rows of the store of N orders."""
    out: list[tuple[str, str, str]] = []
    while len(out) < count:
        if kind == "order_id":
            i = rnd.randrange(n)
            out.append((kind, fx.order_id(i), fx.order_id(i)))
        elif kind == "waybill":
            i = rnd.randrange(0, n, 2)  # every second order has one bound
            out.append((kind, fx.tracking_no(i) or "", fx.order_id(i)))
        elif kind == "gtin":
            j = rnd.randrange(fx.PRODUCTS)
            out.append((kind, fx.product_gtin(j), fx.product_sku(j)))
        else:
            out.append((kind, f"TB{9026000000000 + rnd.randrange(10**9)}", ""))
    return out


def _find(kind: str) -> Callable[[Any], Any]:
    if kind == "gtin":
        return lookup.find_product

    def order_then_product(parsed: Any) -> Any:
        order, _shipment = lookup.find_order(parsed)
        if order is None:  # PackFlow._open_order: a product scanned at an idle bench is told apart
            return lookup.find_product(parsed)
        return order

    return order_then_product


def _check(kind: str, found: Any, expect: str) -> None:
    got = "" if found is None else (found.sku if kind == "gtin" else found.order_id)
    if got != expect:
        raise AssertionError(f"{kind}: expected {expect!r}, found {got!r}")


def _run(codes: list[tuple[str, str, str]], check: bool = True) -> dict[str, dict[str, list[int]]]:
    samples: dict[str, dict[str, list[int]]] = {k: {"interpret": [], "lookup": [], "total": []} for k in KINDS}
    finders = {k: _find(k) for k in KINDS}
    clock = time.perf_counter_ns
    for kind, code, expect in codes:
        raw = code.encode()
        t0 = clock()
        parsed = interpret(raw, is_badge=lookup.is_badge)
        t1 = clock()
        found = finders[kind](parsed)
        t2 = clock()
        s = samples[kind]
        s["interpret"].append(t1 - t0)
        s["lookup"].append(t2 - t1)
        s["total"].append(t2 - t0)
        if check:
            _check(kind, found, expect)
    return samples


_RAW_SQL = {
    "order_id": 'SELECT * FROM "order" WHERE "order_id" = ? LIMIT 1',
    "waybill": 'SELECT * FROM "order" WHERE "tracking_no" = ? LIMIT 1',
    "gtin": 'SELECT p.* FROM "product" p JOIN "product_barcode" b ON b."product_id" = p."id" WHERE b."key" IN (?, ?) '
            "LIMIT 1",
}


def _raw_sql(con: Any, codes: list[tuple[str, str, str]]) -> dict[str, list[int]]:
    """The same indexed query through sqlite3 alone (one statement; no ORM, no interpret)."""
    out: dict[str, list[int]] = {k: [] for k in _RAW_SQL}
    clock = time.perf_counter_ns
    for kind, code, _ in codes:
        if kind not in _RAW_SQL:
            continue
        args = (code.zfill(14), code) if kind == "gtin" else (code,)
        t0 = clock()
        con.execute(_RAW_SQL[kind], args).fetchall()
        out[kind].append(clock() - t0)
    return out


def bench_size(n: int, per_kind: int, cold_count: int, rnd: random.Random, rebuild: bool) -> dict[str, Any]:
    data_dir = fx.cached_store(n, rebuild)
    result: dict[str, Any] = {"orders": n, "store_bytes": fx.store_info(data_dir)["bytes"]}

    # Cold: the first look-ups after the file left the page cache (a fresh process after a reboot).
    fx.evict_page_cache(data_dir)
    store = open_store(data_dir)
    try:
        cold_codes = [c for k in KINDS for c in _codes(n, k, cold_count, rnd)]
        rnd.shuffle(cold_codes)
        fx.quiet_gc()
        cold = _run(cold_codes)
        result["cold"] = {k: fx.summarize_ns(cold[k]["total"]) for k in KINDS}
        result["cold_all"] = fx.summarize_ns([v for k in KINDS for v in cold[k]["total"]])

        fx.warm_page_cache(data_dir)
        warm_up = [c for k in KINDS for c in _codes(n, k, min(per_kind, 2000), rnd)]
        _run(warm_up)
        codes = [c for k in KINDS for c in _codes(n, k, per_kind, rnd)]
        rnd.shuffle(codes)
        fx.quiet_gc()
        warm = _run(codes)
        result["warm"] = {k: {part: fx.summarize_ns(v) for part, v in warm[k].items()} for k in KINDS}
        raw = _raw_sql(store.db.connection(), codes)
        result["raw_sql"] = {k: fx.summarize_ns(v) for k, v in raw.items()}
    finally:
        store.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                        help="comma-separated order counts (default 1e4,1e5,1e6; --quick: 1e4,1e5)")
    parser.add_argument("--per-kind", type=int, help="timed look-ups per kind and size (default 20000)")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    per_kind = args.per_kind or (2_000 if args.quick else 20_000)
    cold_count = 100 if args.quick else 250
    rnd = random.Random(fx.SEED)
    report: dict[str, Any] = {"benchmark": "lookup", "machine": fx.machine(), "per_kind": per_kind, "sizes": {}}
    t0 = time.perf_counter()
    for n in sizes:
        print(f"orders={n:,}: {per_kind:,} look-ups per kind …", flush=True)
        with fx.Contention() as contention:
            report["sizes"][str(n)] = bench_size(n, per_kind, cold_count, rnd, args.rebuild)
        report["sizes"][str(n)]["contention"] = contention.result
        print(f"  {contention.line()}", flush=True)
    report["seconds"] = round(time.perf_counter() - t0, 1)

    print("\nWarm look-ups (interpret incl. is_badge query → find_order / find_product), random existing rows:")
    rows = []
    for n_text, res in report["sizes"].items():
        for kind in KINDS:
            w = res["warm"][kind]
            raw = res["raw_sql"].get(kind)
            rows.append([f"{int(n_text):,}", kind, fx.fmt_ms(w["interpret"]["p50"]), fx.fmt_ms(w["lookup"]["p50"]),
                         fx.fmt_ms(w["total"]["p50"]), fx.fmt_ms(w["total"]["p99"]), fx.fmt_ms(w["total"]["max"]),
                         fx.fmt_ms(raw["p50"]) if raw else "-", fx.fmt_ms(res["cold"][kind]["p50"]),
                         fx.fmt_ms(res["cold"][kind]["p99"])])
    fx.print_table(["orders", "kind", "interp p50", "lookup p50", "total p50", "total p99", "max", "raw SQL p50",
                    "cold p50", "cold p99"], rows)
    largest = str(max(sizes))
    warm = report["sizes"][largest]["warm"]
    worst = max(warm[k]["total"]["p99"] for k in EXISTING)
    verdict = "PASS" if worst < BUDGET_P99_MS else "FAIL"
    report["budget"] = {"orders": int(largest), "kinds": EXISTING, "worst_p99_ms": worst,
                        "budget_p99_ms": BUDGET_P99_MS, "verdict": verdict,
                        "unknown_p99_ms": warm["unknown"]["total"]["p99"]}
    print(f"\nbudget: p99 < {BUDGET_P99_MS} ms at {int(largest):,} orders for existing codes — worst kind p99 "
          f"{fx.fmt_ms(worst)}: {verdict} (unknown code: p99 {fx.fmt_ms(warm['unknown']['total']['p99'])})  "
          f"({report['seconds']} s)")
    if not args.no_json:
        print(f"wrote {fx.write_json('lookup', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
