"""30 stations and the carriers against a multi-worker server on PostgreSQL, for 10 minutes.

`packbench server --workers N` runs in its own process tree on a fresh PostgreSQL schema. Thirty
stations, each a thread with its own signed `SyncClient`, pack at bench rate — an order every
`3600 / orders_per_hour` seconds, each order the facts a real bench records (four scans, the
shipment, its print job sent and done) — and every `round_s` seconds push what they recorded and pull
the order and tracking feeds, as the sync worker does. Kuaidi100 pushes the trails of the parcels
they shipped at the rate of 50,000 parcels a day (five pushes a parcel, each re-sending the whole
trail plus one new step, as Kuaidi100 does). At the end every station pushes its last batch again.

Reported: push latency (p50/p95/p99/max), pull and hook latency, errors (any non-2xx or exception:
budget 0), duplicates (events stored more than once, tracking rows beyond the distinct steps sent:
budget 0), and the server's CPU (% of one core) and resident memory (sum over its processes).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.server_load \
        [--minutes 10] [--workers 4] [--stations 30] [--speed 1] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.clock import SystemClock
from app.keys import public_pem
from bench._served import server_env, serving
from bench.server_ingest import SALT, SECRET, TEXTS, fresh_schema
from protocol import Event
from sync.client import SyncClient, enroll

ROOT = Path(__file__).resolve().parents[1]
PARCELS_PER_DAY = 50_000
PUSHES_PER_PARCEL = 5
WAREHOUSE = "HZ-1"


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    push_ms: list[float] = field(default_factory=list)
    pull_ms: list[float] = field(default_factory=list)
    hook_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events_sent: set[str] = field(default_factory=set)
    replays_known: int = 0
    parcels: list[str] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)  # tracking number -> steps pushed so far

    def timed(self, bucket: list[float], started: float) -> None:
        with self.lock:
            bucket.append((time.perf_counter() - started) * 1000)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[:200])


class BenchStation(threading.Thread):
    def __init__(self, n: int, client: SyncClient, tally: Tally, stop: threading.Event, order_every_s: float,
                 round_s: float) -> None:
        super().__init__(name=f"station-{n}", daemon=True)
        self.n, self.client, self.tally, self.stop = n, client, tally, stop
        self.order_every_s, self.round_s = order_every_s, round_s
        self.seq = 0
        self.pending: list[Event] = []
        self.last_batch: list[Event] = []
        self.cursors: dict[str, str | None] = {"orders": None, "tracking": None}
        self.rand = random.Random(n)

    def _event(self, kind: str, payload: dict[str, object]) -> Event:
        self.seq += 1
        return Event(id=uuid.uuid4(), kind=kind, at=datetime.now(UTC), station=self.client.station_id, seq=self.seq,
                     payload={"audit_seq": self.seq, "actor": f"packer-{self.n}", **payload})

    def _pack_one(self, k: int) -> None:
        order_id = f"LOAD-{self.n:02d}-{k:06d}"
        tracking = f"SF1{self.n:02d}{k:010d}"
        for outcome in ("order_opened", "item_ok", "item_ok", "items_complete"):
            self.pending.append(self._event("scan", {"station": f"BENCH-{self.n}", "source": "serial:/dev/ttyACM0",
                                                     "code": order_id, "order_id": order_id, "outcome": outcome,
                                                     "state": "order_open", "scan_event": self.seq + 1}))
        self.pending.append(self._event("shipment.created", {"order_id": order_id, "tracking_no": tracking,
                                                             "carrier": "SF", "weight_g": 700 + k % 50}))
        self.pending.append(self._event("print.sent", {"order_id": order_id, "tracking_no": tracking}))
        self.pending.append(self._event("print.done", {"order_id": order_id, "tracking_no": tracking}))
        with self.tally.lock:
            self.tally.parcels.append(tracking)

    def _round(self) -> None:
        if self.pending:
            batch, self.pending = self.pending[:500], self.pending[500:]
            started = time.perf_counter()
            try:
                result = self.client.push(batch)
                bad = [r for r in result.results if r.status == "rejected"]
                if bad:
                    self.tally.error(f"rejected: {bad[0].reason}")
                with self.tally.lock:
                    self.tally.events_sent.update(str(e.id) for e in batch)
                self.last_batch = batch
            except Exception as exc:
                self.pending = batch + self.pending
                self.tally.error(f"push: {exc}")
            self.tally.timed(self.tally.push_ms, started)
        for feed in ("orders", "tracking"):
            started = time.perf_counter()
            try:
                fetched = getattr(self.client, feed)(self.cursors[feed], 500)
                self.cursors[feed] = fetched.page.next_cursor
            except Exception as exc:
                self.tally.error(f"pull {feed}: {exc}")
            self.tally.timed(self.tally.pull_ms, started)

    def run(self) -> None:
        next_order = time.monotonic() + self.rand.uniform(0, self.order_every_s)
        next_round = time.monotonic() + self.rand.uniform(0, self.round_s)
        k = 0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_order:
                k += 1
                self._pack_one(k)
                next_order += self.order_every_s
            if now >= next_round:
                self._round()
                next_round += self.round_s
            self.stop.wait(max(0.0, min(next_order, next_round) - time.monotonic()))
        self._round()  # what was packed last
        if self.last_batch:  # a batch sent again (a lost answer): every event must come back "known"
            result = self.client.push(self.last_batch)
            with self.tally.lock:
                self.tally.replays_known += sum(r.status == "known" for r in result.results)


def carrier_pushes(url: str, tally: Tally, stop: threading.Event, per_second: float) -> None:
    """Kuaidi100 pushes of the parcels shipped so far: each a whole trail, one step longer than before."""
    rand = random.Random(7)
    with httpx.Client(base_url=url, timeout=30) as http:
        next_at = time.monotonic()
        while not stop.is_set():
            with tally.lock:
                candidates = [p for p in tally.parcels[-5000:] if tally.steps.get(p, 0) < PUSHES_PER_PARCEL]
            if candidates:
                parcel = rand.choice(candidates)
                steps = tally.steps.get(parcel, 0) + 1
                started = time.perf_counter()
                try:
                    reply = http.post("/hooks/carriers/kuaidi100", data=_kuaidi100_form(parcel, steps))
                    if reply.status_code != 200 or reply.json().get("result") is not True:
                        tally.error(f"hook: HTTP {reply.status_code} {reply.text[:80]}")
                    else:
                        with tally.lock:
                            tally.steps[parcel] = steps
                except httpx.HTTPError as exc:
                    tally.error(f"hook: {exc}")
                tally.timed(tally.hook_ms, started)
            next_at += 1.0 / per_second
            stop.wait(max(0.0, next_at - time.monotonic()))


def _kuaidi100_form(parcel: str, steps: int) -> dict[str, str]:
    items = [{"time": f"2026-12-04 {8 + s:02d}:00:00", "ftime": f"2026-12-04 {8 + s:02d}:00:00",
              "context": TEXTS[s % len(TEXTS)].format(city="杭州"), "status": "在途", "statusCode": "0",
              "areaName": "浙江,杭州市"} for s in range(steps)]
    param = json.dumps({"status": "polling", "message": "", "lastResult": {
        "message": "ok", "state": "0", "status": "200", "ischeck": "0", "com": "shunfeng", "nu": parcel,
        "data": list(reversed(items))}}, ensure_ascii=False)
    return {"param": param, "sign": hashlib.md5((param + SALT).encode()).hexdigest().upper()}


def _tree(pid: int) -> list[int]:
    """The server's processes: the parent, its workers (and the workers' children, if any)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):  # the process ended meanwhile
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
    return out


def _cpu_rss(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, resident bytes now) summed over the server's processes."""
    ticks, rss = 0, 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK"), rss


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--stations", type=int, default=30)
    parser.add_argument("--orders-per-hour", type=float, default=40.0, help="per station (a good packer: 25-40)")
    parser.add_argument("--round-s", type=float, default=15.0, help="seconds between a station's sync rounds")
    parser.add_argument("--speed", type=float, default=1.0, help="multiply the packing and carrier rates")
    parser.add_argument("--quick", action="store_true", help="one minute")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql://"):
        print("set DATABASE_URL=postgresql://… (the multi-worker server runs on PostgreSQL)", file=sys.stderr)
        return 2
    minutes = 1.0 if args.quick else args.minutes
    load_before = os.getloadavg()
    tally, stop = Tally(), threading.Event()
    hook_rate = PARCELS_PER_DAY * PUSHES_PER_PARCEL / 86400 * args.speed
    with tempfile.TemporaryDirectory() as tmp, fresh_schema(url) as database_url, \
            serving(Path(tmp) / "srv", server_env(DATABASE_URL=database_url, PACKBENCH_KUAIDI100_SALT=SALT,
                                                   PACKBENCH_WEBHOOK_SECRET=SECRET),
                    "--workers", str(args.workers)) as served:
        server, pid = served.url, served.pid
        from server.auth import issue_enrollment_token
        from server.db import open_database

        sdb = open_database(database_url)
        clients = []
        for n in range(args.stations):
            token, _ = issue_enrollment_token(sdb, WAREHOUSE, SystemClock())
            key = Ed25519PrivateKey.generate()
            creds = enroll(server, token, f"BENCH-{n}", public_pem(key.public_key()).decode())
            clients.append(SyncClient.from_credentials(creds, clock=SystemClock()))
        stations = [BenchStation(n, c, tally, stop, 3600 / (args.orders_per_hour * args.speed), args.round_s)
                    for n, c in enumerate(clients)]
        cpu0, _ = _cpu_rss(pid)
        started = time.monotonic()
        hook = threading.Thread(target=carrier_pushes, args=(server, tally, stop, hook_rate), daemon=True)
        for t in (*stations, hook):
            t.start()
        peak_rss, rss_samples = 0, []
        while time.monotonic() - started < minutes * 60:
            time.sleep(5)
            _, rss = _cpu_rss(pid)
            peak_rss, rss_samples = max(peak_rss, rss), [*rss_samples, rss]
        stop.set()
        for t in (*stations, hook):
            t.join(120)
        cpu1, _ = _cpu_rss(pid)
        elapsed = time.monotonic() - started
        with sdb.connection():
            stored = int(sdb.execute('SELECT COUNT(*) FROM "station_event"').fetchone()[0])
            distinct = int(sdb.execute('SELECT COUNT(DISTINCT "event_id") FROM "station_event"').fetchone()[0])
            trail_rows = int(sdb.execute('SELECT COUNT(*) FROM "tracking_event"').fetchone()[0])
        sdb.close()
        for c in clients:
            c.close()
    sent = len(tally.events_sent)
    expected_trail = sum(tally.steps.values())
    report = {
        "minutes": round(elapsed / 60, 2), "workers": args.workers, "stations": args.stations,
        "speed": args.speed, "events_sent": sent, "events_stored": stored,
        "duplicates": (stored - distinct) + max(0, stored - sent) + max(0, trail_rows - expected_trail),
        "replayed_known": tally.replays_known, "pushes": len(tally.push_ms),
        "push_ms": {"p50": round(_pct(tally.push_ms, 0.5), 1), "p95": round(_pct(tally.push_ms, 0.95), 1),
                    "p99": round(_pct(tally.push_ms, 0.99), 1), "max": round(max(tally.push_ms, default=0), 1)},
        "pull_ms_p99": round(_pct(tally.pull_ms, 0.99), 1), "hook_pushes": len(tally.hook_ms),
        "hook_ms_p99": round(_pct(tally.hook_ms, 0.99), 1), "tracking_rows": trail_rows,
        "tracking_expected": expected_trail, "errors": len(tally.errors), "first_errors": tally.errors[:3],
        "server_cpu_pct_of_one_core": round(100 * (cpu1 - cpu0) / elapsed, 1),
        "server_rss_mb": {"mean": round(statistics.mean(rss_samples) / 2**20, 1) if rss_samples else 0,
                          "peak": round(peak_rss / 2**20, 1)},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if report["errors"] == 0 and report["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
