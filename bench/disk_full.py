"""Disk-full recovery: a line stopped by a full disk, space freed, the next start → ready to scan.

    .venv/bin/python -m bench.disk_full           # 10^6 orders, 3 runs (needs root: a tmpfs)
    .venv/bin/python -m bench.disk_full --quick   # 10^5 orders, 1 run

Per run: the cached store of N orders is copied onto a tmpfs sized to it plus 16 MB; `packbench pack`
(the real entry point, simulated devices, scans on stdin) starts, takes a scan, then the rest of the
disk is filled and scans keep coming until the line stops by itself (exit 1, "disk full: …"), or
(second series) is killed with SIGKILL the moment it reports the halt, as a power cut would. The
write-ahead log left is measured, the filler removed, and `python -m bench._cold_child` (the
probe `bench.cold_start` uses: `main.main(["pack", …])` up to the runtime's start-up work done) is
timed from spawn to READY: that start opens the store, checkpoints the WAL into it and verifies it
(`Store.recover`: PRAGMA wal_checkpoint(TRUNCATE) + quick_check). The same probe on the same store
again right after, with nothing to recover, is the baseline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _fixtures as fx
from bench.cold_start import _env, _plan

REPO = fx.BENCH_DIR.parent
SPARE_MB = 16


def _mount(folder: Path, megabytes: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)], check=True,
                   capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
    with open(filler, "ab", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 512)
    return filler


def _run_until_full(data_dir: Path, disk: Path, kill: bool) -> dict[str, Any]:
    """`packbench pack` until the full disk stops it (`kill`: SIGKILL it as soon as it says so);
    its exit status and last stderr line."""
    proc = subprocess.Popen(
        [sys.executable, "main.py", "pack", "--data-dir", str(data_dir), "--scans", "-", "--scanner", "sim",
         "--scale", "sim", "--printer", "sim", "--operator", fx.LINE_OPERATOR[0]],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"NOT-A-CODE\n")
    proc.stdin.flush()
    proc.stdout.readline()  # the line took a scan: the disk fills under a running station
    filler = _fill(disk)
    scans = 0
    while scans < 100_000:
        try:
            proc.stdin.write(b"NOT-A-CODE\n")
            proc.stdin.flush()
        except BrokenPipeError:
            break
        scans += 1
        line = proc.stdout.readline()
        if not line or b'"event": "error"' in line:
            break
    if kill:  # the worst case: the process dies before its connection closes (and checkpoints)
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.startswith("packbench: ")]
    return {"exit": proc.returncode, "message": lines[-1] if lines else "", "scans_sent": scans, "filler": filler}


def _ready(data_dir: Path, plan: dict[str, str]) -> dict[str, Any]:
    t_spawn = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bench._cold_child", str(data_dir), json.dumps(plan)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    t_ready = time.monotonic()
    _, err = proc.communicate(timeout=300)
    if line.strip() != "READY" or proc.returncode != 0:
        raise RuntimeError(f"no READY after the disk was freed: {line!r} {err[-2000:]}")
    recovered = re.search(r"write-ahead log was (\w+) and the store verified in (\d+) ms", err)
    return {"ready_s": t_ready - t_spawn, "recover_ms": int(recovered.group(2)) if recovered else None}


def one_run(n: int, work: Path, kill: bool) -> dict[str, Any]:
    src = fx.cached_store(n)
    megabytes = (src / "packbench.sqlite3").stat().st_size // 2**20 + SPARE_MB
    disk = work / "disk"
    _mount(disk, megabytes)
    try:
        data_dir = fx.copy_store(n, disk / "station")
        plan = _plan(n, data_dir)
        stopped = _run_until_full(data_dir, disk, kill)
        wal = data_dir / "packbench.sqlite3-wal"
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        stopped.pop("filler").unlink()
        after = _ready(data_dir, plan)
        clean = _ready(data_dir, plan)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    return {"killed_after_halt": kill, "tmpfs_mb": megabytes, "line_exit": stopped["exit"],
            "line_message": stopped["message"],
            "scans_sent_after_fill": stopped["scans_sent"], "wal_left_bytes": wal_bytes,
            "ready_after_disk_full_s": after["ready_s"], "recover_ms": after["recover_ms"],
            "ready_clean_s": clean["ready_s"], "clean_recover_ms": clean["recover_ms"]}


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--orders", type=lambda s: int(float(s)), help="orders in the store (default 1e6; quick 1e5)")
    parser.add_argument("--runs", type=int, help="runs (default 3; quick 1)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.disk_full mounts a tmpfs: run it as root", file=sys.stderr)
        return 2
    n = args.orders or (100_000 if args.quick else 1_000_000)
    runs = args.runs or (1 if args.quick else 3)
    fx.cached_store(n, args.rebuild)
    report: dict[str, Any] = {"benchmark": "disk_full", "machine": fx.machine(), "orders_in_store": n, "runs": []}
    work = fx.OUT / "run" / "disk_full"
    contention = fx.Contention().start()
    for k in range(runs):
        for kill in (False, True):
            result = one_run(n, work, kill)
            report["runs"].append(result)
            print(f"run {k + 1}/{runs}, {'killed after the halt' if kill else 'exited by itself'}: line exit "
                  f"{result['line_exit']} ({result['line_message'][:90]}…); "
                  f"WAL left {result['wal_left_bytes'] / 1024:.0f} KB; ready after space freed "
                  f"{result['ready_after_disk_full_s']:.3f} s (recover {result['recover_ms']} ms), clean start "
                  f"{result['ready_clean_s']:.3f} s", flush=True)
    contention.stop()
    report["contention"] = contention.result
    after = [r["ready_after_disk_full_s"] for r in report["runs"]]
    clean = [r["ready_clean_s"] for r in report["runs"]]
    print(f"\n{n:,} orders: start after the disk was freed → ready to scan: median {statistics.median(after):.3f} s "
          f"(max {max(after):.3f} s); the same start with nothing to recover: median {statistics.median(clean):.3f} s")
    print(f"load average at start {fx.machine()['loadavg_at_start']}; {contention.line()}")
    if not args.no_json:
        print(f"written {fx.write_json('disk_full', report)}")
    ok = all(r["line_exit"] == 1 and r["line_message"].startswith("packbench: disk full")
             for r in report["runs"] if not r["killed_after_halt"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
