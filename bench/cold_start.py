"""Cold start to ready-to-scan and resident memory at 10^6 orders. Budget (docs/architecture.md §12): < 2 s, < 300 MB.

Spawns `python -m bench._cold_child`, which runs the app's own `packbench pack` entry point
(`main.main`) with simulated scanner, scale and printer on a private copy of the cached 10^6-order
store, up to the moment the StationRuntime has started and finished its start-up work (resuming
print jobs): ready to take a scan. The wall time is measured by this process from just before the
spawn to the child's READY line. Peak resident memory is the child's VmHWM (and ru_maxrss from
wait4), at ready and after its first scans (log in, open an order, one item: their latencies are
reported too, since the first scans after a start meet a cold cache).

Two series, 5 runs each (2 with --quick): `warm` (the store file in the OS page cache, as when the
station restarts) and `cold` (the store file evicted from the page cache with POSIX_FADV_DONTNEED
before the spawn, as after a reboot; Python and the venv's files stay cached). Also times the GUI
stack's import (`import ui.app`, or `ui.qt` if there is no ui/app.py yet) in a fresh interpreter,
and lists the slowest imports of the entry point (`python -X importtime`).

    .venv/bin/python -m bench.cold_start           # 10^6 orders, 5 warm + 5 cold runs
    .venv/bin/python -m bench.cold_start --quick   # 10^5 orders, 2 + 2
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _fixtures as fx

REPO = fx.BENCH_DIR.parent
BUDGET_S = 2.0
BUDGET_MB = 300.0


def _plan(n: int, data_dir: Path) -> dict[str, str]:
    """A paid order in the middle of the store and the GTIN of its first line."""
    i = n // 2 + 12  # i % 50 == 12..49: paid
    while fx.order_status(i) != "paid":
        i += 1
    con = sqlite3.connect(f"file:{data_dir / 'packbench.sqlite3'}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT b.raw FROM order_line ol JOIN product p ON p.sku = ol.sku JOIN product_barcode b "
            "ON b.product_id = p.id WHERE ol.order_id = ? ORDER BY ol.line_no, b.id LIMIT 1", (i + 1,)).fetchone()
    finally:
        con.close()
    return {"operator": fx.LINE_OPERATOR[0], "order": fx.order_id(i), "item": row[0]}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def one_run(n: int, cold: bool, work: Path, rebuild: bool) -> dict[str, Any]:
    data_dir = fx.copy_store(n, work, rebuild)
    plan = _plan(n, data_dir)
    if cold:
        fx.evict_page_cache(data_dir)
    cmd = [sys.executable, "-m", "bench._cold_child", str(data_dir), json.dumps(plan)]
    t_spawn = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    t_ready = time.monotonic()
    if line.strip() != "READY":
        proc.wait(30)
        raise RuntimeError(f"child did not get ready: {line!r} {proc.stderr.read()[-2000:]}")
    rest = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {err[-2000:]}")
    child = json.loads(rest.strip().splitlines()[-1])
    m = child["marks"]
    return {
        "wall_s": t_ready - t_spawn,
        "phases_s": {
            "interpreter start (spawn → first line)": m["first_line"] - t_spawn,
            "import main (entry point)": m["imported_main"] - m["first_line"],
            "config, parse, drivers up to open_store": m["open_store_start"] - m["imported_main"],
            "open_store": m["open_store_end"] - m["open_store_start"],
            "devices, PackFlow, StationRuntime": m["composed"] - m["open_store_end"],
            "runtime.start + start-up work": m["ready"] - m["composed"],
        },
        "vmhwm_ready_mb": child["memory"]["vmhwm_ready_kb"] / 1024,
        "vmrss_ready_mb": child["memory"]["vmrss_ready_kb"] / 1024,
        "vmhwm_end_mb": child["memory"]["vmhwm_end_kb"] / 1024,
        "ru_maxrss_mb": usage.ru_maxrss / 1024,
        "first_scans_ms": {k: v["ms"] for k, v in child["first"].items()},
        "first_scan_events": {k: v["event"] for k, v in child["first"].items()},
        "modules": child["modules"],
    }


def gui_import(repeat: int) -> dict[str, Any]:
    module = "ui.app" if (REPO / "ui" / "app.py").exists() else "ui.qt"
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t)")
    times = []
    for _ in range(repeat):
        r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=_env(),
                           timeout=120)
        if r.returncode != 0:
            return {"module": module, "error": (r.stderr.strip().splitlines() or ["?"])[-1]}
        times.append(float(r.stdout.strip().splitlines()[-1]))
    return {"module": module, "median_s": statistics.median(times), "max_s": max(times), "runs": len(times)}


def import_profile(top: int = 12) -> list[tuple[str, float, float]]:
    """(module, cumulative s, self s) of the slowest imports of what `packbench pack` imports."""
    code = ("import main, app.pack.flow, app.station, app.headless, drivers.scanners, drivers.scales, "
            "drivers.printers.factory")
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=REPO, capture_output=True, text=True,
                       env=_env(), timeout=120)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = (p.strip() for p in line[len("import time:"):].split("|"))
        rows.append((name.strip(), int(cum_us) / 1e6, int(self_us) / 1e6))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--orders", type=lambda s: int(float(s)), help="orders in the store (default 1e6; quick 1e5)")
    parser.add_argument("--runs", type=int, help="runs per series (default 5; quick 2)")
    args = parser.parse_args(argv)
    n = args.orders or (100_000 if args.quick else 1_000_000)
    runs = args.runs or (2 if args.quick else 5)
    work = fx.OUT / "run" / "cold_start"
    fx.cached_store(n, args.rebuild)
    report: dict[str, Any] = {"benchmark": "cold_start", "machine": fx.machine(), "orders_in_store": n,
                              "store_bytes": fx.store_info(fx.cached_store(n))["bytes"], "series": {}}
    t0 = time.perf_counter()
    try:
        one_run(n, False, work, False)  # not counted: the first spawn also compiles .pyc files
        for series in ("warm", "cold"):
            results = []
            contention = fx.Contention().start()
            for k in range(runs):
                res = one_run(n, series == "cold", work, False)
                print(f"{series} run {k + 1}/{runs}: ready in {res['wall_s']:.3f} s, peak RSS "
                      f"{res['vmhwm_ready_mb']:.0f} MB at ready / {res['vmhwm_end_mb']:.0f} MB after first scans",
                      flush=True)
                results.append(res)
            walls = [r["wall_s"] for r in results]
            peaks = [max(r["vmhwm_end_mb"], r["ru_maxrss_mb"]) for r in results]
            report["series"][series] = {
                "runs": results, "wall_median_s": statistics.median(walls), "wall_max_s": max(walls),
                "peak_rss_median_mb": statistics.median(peaks), "peak_rss_max_mb": max(peaks),
                "phases_median_s": {p: statistics.median(r["phases_s"][p] for r in results)
                                    for p in results[0]["phases_s"]},
                "first_scans_median_ms": {p: statistics.median(r["first_scans_ms"][p] for r in results)
                                          for p in results[0]["first_scans_ms"]},
            }
            contention.stop()
            report["series"][series]["contention"] = contention.result
            print(f"  {contention.line()}", flush=True)
    finally:
        fx.remove_store(work)
    report["gui_import"] = gui_import(runs)
    report["import_profile"] = import_profile()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["bench_process_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\ncold start to ready-to-scan, {n:,} orders ({report['store_bytes'] / 1e6:.0f} MB store), {runs} runs:")
    fx.print_table(["series", "wall median", "wall max", "peak RSS median", "peak RSS max", "first order scan",
                    "first item scan"],
                   [[name, f"{s['wall_median_s']:.3f} s", f"{s['wall_max_s']:.3f} s",
                     f"{s['peak_rss_median_mb']:.0f} MB", f"{s['peak_rss_max_mb']:.0f} MB",
                     fx.fmt_ms(s["first_scans_median_ms"]["first_order_scan"]),
                     fx.fmt_ms(s["first_scans_median_ms"]["first_item_scan"])]
                    for name, s in report["series"].items()])
    print("\nwhere the time goes (median):")
    fx.print_table(["phase", *report["series"]],
                   [[p, *(f"{s['phases_median_s'][p] * 1000:.0f} ms" for s in report["series"].values())]
                    for p in report["series"]["warm"]["phases_median_s"]])
    gui = report["gui_import"]
    if "error" in gui:
        print(f"\nGUI import (import {gui['module']}): failed: {gui['error']}")
    else:
        print(f"\nGUI import (import {gui['module']}, fresh interpreter): median {gui['median_s']:.3f} s, "
              f"max {gui['max_s']:.3f} s")
    print("\nslowest imports of the entry point (-X importtime, cumulative / self):")
    for name, cum, own in report["import_profile"]:
        print(f"  {cum * 1000:7.1f} ms {own * 1000:6.1f} ms  {name}")
    worst_wall = max(s["wall_max_s"] for s in report["series"].values())
    worst_rss = max(s["peak_rss_max_mb"] for s in report["series"].values())
    verdict = "PASS" if worst_wall < BUDGET_S and worst_rss < BUDGET_MB else "FAIL"
    report["budget"] = {"wall_s": BUDGET_S, "rss_mb": BUDGET_MB, "worst_wall_s": worst_wall,
                        "worst_rss_mb": worst_rss, "verdict": verdict}
    print(f"\nbudget: ready < {BUDGET_S:.0f} s and RSS < {BUDGET_MB:.0f} MB — worst {worst_wall:.3f} s, "
          f"{worst_rss:.0f} MB: {verdict}  ({report['seconds']} s)")
    if not args.no_json:
        print(f"wrote {fx.write_json('cold_start', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
