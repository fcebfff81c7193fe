"""The server under hostile clients: memory under huge bodies, a signed station's push latency while
50 slow clients and a 1 GB body are in flight, and what replayed carrier pushes store.

`packbench server` runs in its own process (SQLite in a temporary data dir; one uvicorn worker).
Loopback only; every body is generated lazily and cut off by the server at its route's limit.

1. Body attacks, one after another: RSS growth of the server (its peak VmHWM during the attack, reset
   through /proc/PID/clear_refs before it, minus its VmRSS before) for a
   300 MB declared body and a 300 MB chunked one without credentials on /api/v1/events, 4 × 250 MB
   chunked at once with a known station id and a bad signature, 4 × 250 MB at the generic hook.
2. A signed station pushes batches of 50 events, one after another: p50/p99 on a quiet server, then
   while 50 slowloris clients (half trickle headers, half trickle a body; each reconnects when cut
   off) and a 1 GB chunked body (sent again whenever the server cuts it off) are in flight.
3. Ten replays of a Kuaidi100 push (~650 KB form body): bytes stored before and after.

    .venv/bin/python -m bench.server_attack [--quick] [--no-json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench._served import PushingStation, Served, admin, server_env, serving
from bench.attack_clients import huge_body, slow_client

MB = 1 << 20
SALT, SECRET = "bench-salt", "bench-secret"
OUT = Path(__file__).parent / "out"


def body_attacks(served: Served, station_id: str) -> list[tuple[str, float, int]]:
    """(attack, RSS growth in MB, bytes the clients got onto the wire) per attack."""
    forged = {"X-Station": station_id, "X-Timestamp": str(int(time.time())), "X-Nonce": "n" * 16,
              "X-Signature": "0" * 64}
    attacks = {
        "300 MB declared, no credentials (/api/v1/events)": [("/api/v1/events", 300 * MB, False, {})],
        "300 MB chunked, no credentials (/api/v1/events)": [("/api/v1/events", 300 * MB, True, {})],
        "4 × 250 MB chunked, known station, bad signature": [("/api/v1/events", 250 * MB, True, forged)] * 4,
        "4 × 250 MB chunked at the generic hook": [("/hooks/carriers/generic", 250 * MB, True,
                                                    {"X-PackBench-Signature": "0" * 64})] * 4,
    }
    results = []
    for name, requests in attacks.items():
        before = served.reset_peak()
        with ThreadPoolExecutor(len(requests)) as pool:
            outcomes = list(pool.map(lambda r: huge_body(served.port, r[0], r[1], chunked=r[2], headers=r[3]),
                                     requests))
        _, peak = served.memory_kb()
        results.append((name, (peak - before) / 1024, sum(o.sent for o in outcomes)))
    return results


def pushes(station: PushingStation, count: int) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, failures) of `count` signed pushes of 50 events, one after another."""
    times, failures = [], 0
    for _ in range(count):
        status, seconds = station.push()
        times.append(seconds * 1000)
        failures += status != 200
    cuts = statistics.quantiles(times, n=100)
    return statistics.median(times), cuts[98], failures


def under_siege(served: Served, station: PushingStation, count: int, slow: int) -> dict[str, float]:
    stop = threading.Event()
    attempts = {"gigabyte_bodies": 0, "gigabyte_bytes_sent": 0, "slow_clients_cut": 0}
    lock = threading.Lock()

    def slowloris(index: int) -> None:
        while not stop.is_set():
            phase = "headers" if index % 2 else "body"
            outcome = slow_client(served.port, "/hooks/carriers/generic", phase=phase, byte_every=0.5, timeout=60,
                                  headers={"X-PackBench-Signature": "0" * 64})
            with lock:
                attempts["slow_clients_cut"] += outcome.closed

    def gigabyte() -> None:
        while not stop.is_set():
            outcome = huge_body(served.port, "/hooks/carriers/generic", 1 << 30, chunked=True,
                                headers={"X-PackBench-Signature": "0" * 64})
            with lock:
                attempts["gigabyte_bodies"] += 1
                attempts["gigabyte_bytes_sent"] += outcome.sent

    threads = [threading.Thread(target=slowloris, args=(i,), daemon=True) for i in range(slow)]
    threads.append(threading.Thread(target=gigabyte, daemon=True))
    for t in threads:
        t.start()
    time.sleep(1.0)  # let every slow client connect
    before = served.reset_peak()
    p50, p99, failures = pushes(station, count)
    _, peak = served.memory_kb()
    stop.set()
    return {"p50_ms": p50, "p99_ms": p99, "failures": failures, "rss_growth_mb": (peak - before) / 1024,
            **attempts}


def replay_storage(served: Served, db: Path, replays: int) -> dict[str, int]:
    text = "【杭州转运中心】快件已发出 第{}-{}站 " + "详" * 40
    trail = [{"time": f"2026-11-25 {h:02d}:{m:02d}:00", "context": text.format(h, m), "statusCode": "0"}
             for h in range(24) for m in range(0, 60, 2)]
    param = json.dumps({"status": "polling", "message": "", "lastResult": {
        "state": "0", "com": "shunfeng", "nu": "SF1000000000001", "data": trail}}, ensure_ascii=False)
    sign = hashlib.md5((param + SALT).encode()).hexdigest().upper()

    def stored() -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            sql = 'SELECT COALESCE(SUM(LENGTH(CAST("body" AS BLOB))), 0) FROM "carrier_push"'
            return int(con.execute(sql).fetchone()[0])

    with httpx.Client(timeout=60) as http:
        first = http.post(f"{served.url}/hooks/carriers/kuaidi100", data={"param": param, "sign": sign})
        first.raise_for_status()
        after_first = stored()
        answers = [http.post(f"{served.url}/hooks/carriers/kuaidi100", data={"param": param, "sign": sign}).json()
                   ["message"] for _ in range(replays)]
    return {"push_bytes": len(param.encode()), "stored_after_first": after_first,
            "stored_after_replays": stored(), "replays": replays,
            "answered_duplicate": sum("duplicate" in a for a in answers)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer pushes and slow clients (seconds)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/out/server_attack.json")
    args = parser.parse_args(argv)
    count, slow = (40, 10) if args.quick else (300, 50)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "srv"
        env = server_env(PACKBENCH_KUAIDI100_SALT=SALT, PACKBENCH_WEBHOOK_SECRET=SECRET)
        token = admin(data, env, "station-token", "--warehouse", "WH1").strip()
        with serving(data, env) as served:
            station = PushingStation.enroll(served.url, token)
            pushes(station, 20)  # warm-up
            rss_start, _ = served.memory_kb()
            attacks = body_attacks(served, station.station_id)
            quiet = pushes(station, count)
            siege = under_siege(served, station, count, slow)
            replay = replay_storage(served, data / "packbench-server.sqlite3", 10)
            station.close()
    load_after = os.getloadavg()

    print(f"server under attack ({'quick' if args.quick else 'full'}); server RSS at start {rss_start / 1024:.0f} MB")
    for name, growth, sent in attacks:
        print(f"  {name:<52} RSS +{growth:5.1f} MB  ({sent / MB:6.1f} MB got onto the wire)")
    print(f"  signed push of 50 events, quiet:          p50 {quiet[0]:6.1f} ms  p99 {quiet[1]:6.1f} ms  "
          f"failures {quiet[2]}/{count}")
    print(f"  … with {slow} slow clients + 1 GB bodies:   p50 {siege['p50_ms']:6.1f} ms  p99 {siege['p99_ms']:6.1f} ms"
          f"  failures {siege['failures']:.0f}/{count}  RSS +{siege['rss_growth_mb']:.1f} MB")
    print(f"     1 GB bodies sent {siege['gigabyte_bodies']:.0f}× (cut at 1 MB each; "
          f"{siege['gigabyte_bytes_sent'] / MB:.0f} MB onto the wire), slow clients cut off "
          f"{siege['slow_clients_cut']:.0f}×")
    first, replayed = replay["stored_after_first"] / 1024, replay["stored_after_replays"] / 1024
    print(f"  {replay['replays']} replays of a {replay['push_bytes'] / 1024:.0f} KB Kuaidi100 push: stored "
          f"{first:.0f} KB after the first, {replayed:.0f} KB after the replays "
          f"({replay['answered_duplicate']} answered duplicate)")
    print(f"  machine load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} cores")
    if not args.no_json:
        OUT.mkdir(exist_ok=True)
        (OUT / "server_attack.json").write_text(json.dumps({
            "attacks": [{"name": n, "rss_growth_mb": g, "sent_bytes": s} for n, g, s in attacks],
            "quiet": {"p50_ms": quiet[0], "p99_ms": quiet[1], "failures": quiet[2]}, "siege": siege,
            "replay": replay, "loadavg": [load_before, load_after]}, indent=2), encoding="utf-8")
    ok = all(g < 64 for _, g, _ in attacks) and not siege["failures"] and not quiet[2]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
