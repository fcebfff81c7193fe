"""Shared helpers for the benchmarks: big stores built fast and cached, timing statistics, output.

A store of N orders is built once with raw sqlite3 `executemany` in one large transaction (the
migrated schema comes from `open_store`, so it is exactly the app's; secondary indexes are dropped
for the load and re-created from their own DDL afterwards) and cached under
`bench/out/stores/n{N}-s{schema}-f{fixture}/`. A benchmark that writes works on a copy
(`copy_store`); one that only reads may open the cached file itself.

What a store of N orders holds (deterministic, seed fixed):
- 20,000 products, each with an EAN-13 (`690…`), one in ten also with a UPC-A (`4…`);
- N orders, one third each Taobao-like (`TB…`), PDD-like (`PDD2026-…`) and Shopify-like (`#…`);
  20 % shipped (each with its pack session, shipment and a done print job), 2 % cancelled, 2 % on
  hold, the rest paid; every second order has a waybill bound (`Order.tracking_no`: SF, YTO or ZTO);
- 1 to 3 lines per order (2 on average, so ~2×N order lines), qty 1 or 2;
- the demo operators plus `bench-line` (role line, badge L-0001); 100,000 free SF waybill numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.barcodes import gtin_check_digit, gtin_key
from app.clock import FakeClock
from app.demo import OPERATORS
from app.pack.weights import items_key
from app.store import open_store, store_path
from app.store.migrations import LATEST_VERSION

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "out"
STORES = OUT / "stores"
FIXTURE_VERSION = 2  # 2: rows marked as predating migration 6 coverage
SEED = 20261125

PRODUCTS = 20_000
FREE_WAYBILLS = 100_000
BOX_TARE_G = 60  # FlowConfig's default: shipped history weighs what the flow would expect
LINE_OPERATOR = ("bench-line", "line", "L-0001")
CHUNK = 50_000

_NAMES = ("张伟", "王芳", "李娜", "Li Na", "James Carter", "刘洋", "陈静", "Zhao Min")
_ADDRESSES = (
    "浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢",
    "上海市浦东新区世纪大道 100 号 环球金融中心 18 楼",
    "广东省深圳市南山区科技园南区 深南大道 9988 号",
    "北京市朝阳区建国路 87 号 SKP 写字楼 A 座",
    "四川省成都市锦江区春熙路 1 号 菜鸟驿站代收",
)


# ----- the keys a store of N orders holds (so benchmarks can pick existing codes without a query) -----

def order_id(i: int) -> str:
    kind = i % 3
    if kind == 0:
        return f"TB{2026000000000 + i}"
    if kind == 1:
        return f"PDD2026-{i:08d}"
    return f"#{100000 + i}"


def order_platform(i: int) -> str:
    return ("taobao", "pdd", "shopify")[i % 3]


def order_status(i: int) -> str:
    r = i % 50
    if r < 10:
        return "shipped"
    if r == 10:
        return "cancelled"
    if r == 11:
        return "on_hold"
    return "paid"


def tracking_no(i: int) -> str | None:
    """The waybill bound to order i (every second order), as printed on the waybill."""
    if i % 2:
        return None
    carrier = (i // 2) % 3
    if carrier == 0:
        return f"SF{1_000_000_000_000 + i}"
    if carrier == 1:
        return f"YT{1_000_000_000_000 + i}"
    return f"73{i:012d}"  # ZTO: 14 digits (one in ten also has a valid GTIN check digit)


def tracking_carrier(i: int) -> str:
    return ("SF", "YTO", "ZTO")[(i // 2) % 3] if i % 2 == 0 else ""


def product_sku(j: int) -> str:
    return f"SKU-{j:06d}"


def product_weight_g(j: int) -> int:
    return 20 + (j * 37) % 1480


def product_gtin(j: int) -> str:
    """The EAN-13 printed on product j."""
    body = f"690{j:09d}"
    return body + str(gtin_check_digit(body))


def product_upc(j: int) -> str | None:
    """The UPC-A also printed on one product in ten."""
    if j % 10:
        return None
    body = f"4{j:010d}"
    return body + str(gtin_check_digit(body))


def free_waybill(k: int) -> str:
    return f"SF{2_000_000_000_000 + k}"


def _history_tracking(i: int) -> str:
    return tracking_no(i) or f"SF{3_000_000_000_000 + i}"


def _stamp(i: int) -> str:
    """A deterministic UTC time in 2026 for row i, in the store's ISO format."""
    day = i % 300
    month, mday = 1 + day // 28, 1 + day % 28
    sec = (i * 7) % 86400
    return f"2026-{month:02d}-{mday:02d}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.000Z"


# ----- building and caching -----

def store_key(n: int) -> str:
    return f"n{n}-s{LATEST_VERSION}-f{FIXTURE_VERSION}"


def _rows(start: int, stop: int, rnd: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    orders: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    sessions: list[tuple[Any, ...]] = []
    shipments: list[tuple[Any, ...]] = []
    jobs: list[tuple[Any, ...]] = []
    rand = rnd.random
    for i in range(start, stop):
        pk = i + 1
        stamp = _stamp(i)
        k = 1 + int(rand() * 3)
        picked: set[int] = set()
        while len(picked) < k:
            picked.add(int(rand() * PRODUCTS))
        counts: dict[str, int] = {}
        weight = BOX_TARE_G
        total = 0
        for line_no, j in enumerate(sorted(picked), start=1):
            qty = 2 if rand() < 0.2 else 1
            price = 990 + (j % 50) * 100
            sku = product_sku(j)
            lines.append((pk * 4 + line_no, pk, line_no, sku, f"商品 {j:05d} Product", qty, price))
            counts[sku] = qty
            weight += product_weight_g(j) * qty
            total += price * qty
        status = order_status(i)
        name = _NAMES[i % len(_NAMES)]
        orders.append((
            pk, order_id(i), order_platform(i), f"{order_platform(i)}-shop-{i % 7}", status, name, name,
            f"138{i:08d}", f"{_ADDRESSES[i % len(_ADDRESSES)]} {i % 997} 室", total, total, stamp, stamp, stamp,
            tracking_carrier(i), tracking_no(i), "", stamp,
        ))
        if status == "shipped":
            actual = weight + int((rand() - 0.5) * 0.04 * weight)  # ±2 %: history stays plausible
            sessions.append((pk, pk, 1, "BENCH-0", stamp, stamp, "completed", weight, actual,
                             json.dumps(counts, sort_keys=True)))
            shipments.append((pk, pk, pk, tracking_carrier(i) or "SF", "standard", _history_tracking(i), actual,
                              items_key(counts), None, 0, stamp))
            jobs.append((pk, pk, "sim", "pdf", "", "done", 1, 0, "", stamp, stamp))
    return {"order": orders, "order_line": lines, "pack_session": sessions, "shipment": shipments,
            "print_job": jobs}


_INSERT = {
    # Named columns: later migrations add columns with defaults (discount_cents, shipping_cents).
    "order": 'INSERT INTO "order" ("id", "order_id", "platform", "shop", "status", "buyer", "receiver_name", '
             '"receiver_phone", "receiver_address", "total_cents", "paid_cents", "created_at", "paid_at", "ship_by", '
             '"carrier", "tracking_no", "note", "updated_at") VALUES (' + ",".join("?" * 18) + ")",
    "order_line": 'INSERT INTO "order_line" VALUES (?,?,?,?,?,?,?)',
    "pack_session": 'INSERT INTO "pack_session" VALUES (?,?,?,?,?,?,?,?,?,?)',
    "shipment": 'INSERT INTO "shipment" VALUES (?,?,?,?,?,?,?,?,?,?,?)',
    "print_job": 'INSERT INTO "print_job" VALUES (?,?,?,?,?,?,?,?,?,?,?)',
}


def build_store(n: int, data_dir: Path, log: bool = True) -> dict[str, Any]:
    """Create the app's store in `data_dir` and fill it with N orders (see the module docstring)."""
    t0 = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    clock = FakeClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    open_store(data_dir, clock).close()  # the migrated schema, exactly as the app creates it
    path = store_path(data_dir)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")  # a half-built file is thrown away, never used
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-262144")
        tables = ("product", "product_barcode", "order", "order_line", "pack_session", "shipment", "print_job",
                  "waybill_pool", "operator")
        marks = ",".join("?" * len(tables))
        indexes = con.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            tables).fetchall()
        con.execute("BEGIN")
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        stamp = "2026-11-25T02:00:00.000Z"
        con.executemany('INSERT INTO "operator" (name, role, badge, pin_hash, active, created_at) VALUES (?,?,?,?,?,?)',
                        [(name, role, badge, None, 1, stamp) for name, role, badge in [*OPERATORS, LINE_OPERATOR]])
        con.executemany('INSERT INTO "product" VALUES (?,?,?,?,?,?)',
                        ((j + 1, product_sku(j), f"商品 {j:05d} Product", product_weight_g(j), 100, stamp)
                         for j in range(PRODUCTS)))
        codes: list[tuple[Any, ...]] = []
        for j in range(PRODUCTS):
            for code in (product_gtin(j), product_upc(j)):
                if code:
                    codes.append((gtin_key(code), code, j + 1))
        con.executemany('INSERT INTO "product_barcode" (key, raw, product_id) VALUES (?,?,?)', codes)
        con.executemany('INSERT INTO "waybill_pool" (carrier, number, state, order_id, used_at) VALUES (?,?,?,?,?)',
                        (("SF", free_waybill(k), "free", None, None) for k in range(FREE_WAYBILLS)))
        rnd = random.Random(SEED)
        counts = dict.fromkeys(_INSERT, 0)
        for start in range(0, n, CHUNK):
            rows = _rows(start, min(n, start + CHUNK), rnd)
            for table, batch in rows.items():
                con.executemany(_INSERT[table], batch)
                counts[table] += len(batch)
            if log and start and start % (10 * CHUNK) == 0:
                print(f"  … {start:,} orders ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        # The fixture's rows predate migration 6's row coverage, as a store upgraded to it would.
        for table in tables:
            con.execute('UPDATE "meta" SET "value" = (SELECT CAST(COALESCE(MAX("id"), 0) AS TEXT) FROM '
                        f'"{table}") WHERE "key" = ?', (f"audit.last_uncovered_id.{table}",))
        t_rows = time.perf_counter()
        for _, sql in indexes:
            con.execute(sql)
        con.execute("COMMIT")
        t_index = time.perf_counter()
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()
    info = {
        "orders": n, "products": PRODUCTS, "barcodes": len(codes), "free_waybills": FREE_WAYBILLS,
        "rows": counts, "seconds_rows": round(t_rows - t0, 1), "seconds_indexes": round(t_index - t_rows, 1),
        "seconds_total": round(time.perf_counter() - t0, 1), "bytes": path.stat().st_size,
        "schema_version": LATEST_VERSION, "fixture_version": FIXTURE_VERSION, "built": datetime.now(UTC).isoformat(),
    }
    (data_dir / "fixture.json").write_text(json.dumps(info, indent=2))
    return info


def cached_store(n: int, rebuild: bool = False) -> Path:
    """The data dir of the cached store of N orders, built on first use. Treat it as read-only."""
    final = STORES / store_key(n)
    if final.exists() and not rebuild and (final / "fixture.json").exists():
        return final
    if final.exists():
        shutil.rmtree(final)
    for stale in STORES.glob(f"n{n}-s*-f*"):  # built for another schema or fixture version
        shutil.rmtree(stale, ignore_errors=True)
    tmp = STORES / f".building-{store_key(n)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    print(f"building a store of {n:,} orders (cached in {final.relative_to(BENCH_DIR.parent)}) …",
          file=sys.stderr, flush=True)
    info = build_store(n, tmp)
    try:
        tmp.rename(final)
    except OSError:  # another process built the same store meanwhile: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not (final / "fixture.json").exists():
            raise
    print(f"  built in {info['seconds_total']} s ({info['seconds_indexes']} s of it indexes), "
          f"{info['bytes'] / 1e6:.0f} MB", file=sys.stderr, flush=True)
    return final


def store_info(data_dir: Path) -> dict[str, Any]:
    return dict(json.loads((data_dir / "fixture.json").read_text()))


def copy_store(n: int, dest: Path, rebuild: bool = False) -> Path:
    """A private copy of the cached store of N orders in `dest` (a data dir) for a run that writes."""
    src = cached_store(n, rebuild)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(store_path(src), store_path(dest))
    shutil.copyfile(src / "fixture.json", dest / "fixture.json")
    # Written through now: else the first WAL checkpoint of the run (whose fsync of the database file
    # synchronous=FULL asks for) pays for flushing the whole copy, a ~300 ms stall no station sees.
    fd = os.open(store_path(dest), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return dest


def remove_store(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)


def evict_page_cache(data_dir: Path) -> None:
    """Drop the store's pages from the OS page cache (POSIX_FADV_DONTNEED on this file only), so the
    next open reads from disk as after a reboot. Touches nothing but this store's cached pages."""
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(store_path(data_dir)) + suffix)
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            if suffix != "-shm":
                os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def warm_page_cache(data_dir: Path) -> None:
    """Read the whole store file once, so every page is in the OS page cache (a station that has run
    for a while; the look-ups then pay a pread, not a disk read)."""
    with open(store_path(data_dir), "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def quiet_gc() -> None:
    """Collect, then freeze what the benchmark itself built (sample codes, plans, result lists) so the
    collector's passes over it are not charged to the code being timed. The app's own garbage is
    collected as usual."""
    gc.collect()
    gc.freeze()


# ----- statistics and output -----

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def summarize_ns(samples_ns: Iterable[int]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds of nanosecond samples."""
    values = sorted(v / 1e6 for v in samples_ns)
    if not values:
        return {"n": 0}
    return {
        "n": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90),
        "p99": percentile(values, 99), "max": values[-1], "mean": statistics.fmean(values),
    }


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} µs"
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


class Contention:
    """How much CPU other processes took while a benchmark ran (this machine is shared: other
    engineers' test runs land in the tail latencies). Use as a context manager; `.result` then holds
    cores used by others and by this process (and its waited-for children) on average, and VM steal."""

    def __init__(self) -> None:
        self.result: dict[str, float] = {}

    @staticmethod
    def _stat() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system, irq softirq steal
        return busy, fields[7] if len(fields) > 7 else 0

    @staticmethod
    def _own() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def __enter__(self) -> Contention:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Contention:
        self._t, (self._busy, self._steal), self._cpu = time.monotonic(), self._stat(), self._own()
        return self

    def stop(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._t, 1e-9)
        busy, steal = self._stat()
        hz = os.sysconf("SC_CLK_TCK")
        own = (self._own() - self._cpu) / elapsed
        total = (busy - self._busy) / hz / elapsed
        self.result = {"other_cores": round(max(total - own, 0.0), 2), "own_cores": round(own, 2),
                       "steal_cores": round((steal - self._steal) / hz / elapsed, 3), "seconds": round(elapsed, 1)}
        return self.result

    def line(self) -> str:
        return self.describe(self.result)

    @staticmethod
    def describe(r: dict[str, float]) -> str:
        return (f"other processes used {r['other_cores']:.2f} of {os.cpu_count()} cores on average during the run "
                f"(this benchmark {r['own_cores']:.2f}, VM steal {r['steal_cores']:.2f})")


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
    }


def write_json(name: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    return path


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run (smoke test)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached store(s) first")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/out/NAME.json")
    return parser


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
