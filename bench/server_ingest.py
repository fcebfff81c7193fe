"""Carrier tracking events ingested into PostgreSQL per second, through the hook code path.
Budget (docs/architecture.md §12): at least 5,000 tracking events per second.

A real server (`packbench server`, one uvicorn worker in its own process, access log on) on a
fresh PostgreSQL schema; half
of the tracking numbers belong to parcels a station reported packed, so new events are also
published to that warehouse's tracking stream, as in production. Three measurements:

- `generic hook`: signed JSON batches of 1,000 new events per request (HMAC check, parse,
  validate, one transaction per request), 4 clients at once — the batching path;
- `kuaidi100 hook`: form posts of one parcel's 10-event trail each (sign check, parse, map state
  codes), 8 clients at once — Kuaidi100's own shape; then the same pushes again (all duplicates,
  as Kuaidi100 re-sends whole trails), in pushes per second;
- `ingest()` alone: the function both hooks call, 5,000 events per transaction, no HTTP.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.server_ingest [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.clock import SystemClock
from app.keys import public_pem
from bench._served import server_env, serving
from protocol import API, sign
from server.auth import issue_enrollment_token
from server.db import ServerDb, open_database
from server.migrations import migrate
from server.tracking import TrackingRecord, ingest

BUDGET = 5_000
SALT, SECRET = "bench-salt", "bench-secret"
TEXTS = ("【{city}】快件已由{city}揽收", "【{city}转运中心】已发出，下一站【上海转运中心】", "【上海转运中心】已到达",
         "【上海浦东】快递员 王师傅 13900001111 正在派件", "【上海浦东】已签收，签收人：本人")


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    import psycopg2

    schema = f"bench_ingest_{os.getpid()}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
    try:
        yield url + ("&" if "?" in url else "?") + "options=" + quote(f"-c search_path={schema}")
    finally:
        admin.cursor().execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def tracking_no(i: int) -> str:
    return f"SF1{i:012d}"


def trail(i: int, events: int) -> list[tuple[str, str]]:
    """(time as the carrier writes it, text) for parcel i: `events` steps a few hours apart."""
    city = ("杭州", "宁波", "温州", "苏州")[i % 4]
    return [(f"2026-11-{20 + step // 6:02d} {(step * 4) % 24:02d}:{i % 60:02d}:{step:02d}",
             TEXTS[step % len(TEXTS)].format(city=city) + (f" #{step}" if step >= len(TEXTS) else ""))
            for step in range(events)]


def register_parcels(url: str, sdb: ServerDb, parcels: Sequence[int]) -> None:
    """A station reports half the parcels packed (shipment.created), so their events are published."""
    token, _ = issue_enrollment_token(sdb, "WH1", SystemClock())
    key = Ed25519PrivateKey.generate()
    with httpx.Client(base_url=url, timeout=120) as http:
        body = http.post(f"{API}/enroll", json={"token": token, "station_name": "BENCH",
                                                "passport_public_key": public_pem(key.public_key()).decode()}).json()
        seq = 0
        for start in range(0, len(parcels), 500):
            events = []
            for i in parcels[start:start + 500]:
                seq += 1
                events.append({"id": f"00000000-0000-4000-8000-{seq:012d}", "kind": "shipment.created",
                               "at": "2026-11-20T01:00:00Z", "station": body["station_id"], "seq": seq,
                               "payload": {"order_id": f"O-{i}", "tracking_no": tracking_no(i), "carrier": "SF"}})
            content = json.dumps({"events": events}).encode()
            ts, nonce = str(int(time.time())), secrets.token_hex(12)
            headers = {"X-Station": body["station_id"], "X-Timestamp": ts, "X-Nonce": nonce,
                       "X-Signature": sign(body["secret"], "POST", f"{API}/events", ts, nonce, content),
                       "Content-Type": "application/json"}
            assert http.post(f"{API}/events", content=content, headers=headers).status_code == 200


def run_clients(url: str, requests: Sequence[Callable[[httpx.Client], int]], clients: int) -> tuple[float, int]:
    """Send the requests from `clients` threads with keep-alive; (seconds, sum of what each returned)."""
    local = threading.local()

    def one(call: Callable[[httpx.Client], int]) -> int:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=url, timeout=120)
        return call(local.http)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(one, requests))
    return time.perf_counter() - start, total


def generic_request(parcels: Sequence[int], per_parcel: int) -> Callable[[httpx.Client], int]:
    events = [{"carrier": "SF", "tracking_no": tracking_no(i), "time": when, "status": "in_transit",
               "carrier_status": "0", "site": "浙江,杭州市", "context": text}
              for i in parcels for when, text in trail(i, per_parcel)]
    content = json.dumps({"events": events}, ensure_ascii=False).encode()
    signature = hmac.new(SECRET.encode(), content, hashlib.sha256).hexdigest()

    def call(http: httpx.Client) -> int:
        reply = http.post("/hooks/carriers/generic", content=content,
                          headers={"Content-Type": "application/json", "X-PackBench-Signature": signature})
        assert reply.status_code == 200, reply.text
        return int(reply.json()["new"])
    return call


def kuaidi100_request(i: int, per_parcel: int) -> Callable[[httpx.Client], int]:
    data = [{"time": when, "ftime": when, "context": text, "status": "在途", "areaCode": "CN330100000000",
             "areaName": "浙江,杭州市"} for when, text in reversed(trail(i, per_parcel))]
    param = json.dumps({"status": "polling", "message": "", "autoCheck": "0", "comOld": "", "comNew": "",
                        "lastResult": {"message": "ok", "state": "0", "status": "200", "ischeck": "0",
                                       "com": "shunfeng", "nu": tracking_no(i), "data": data}}, ensure_ascii=False)
    form = {"param": param, "sign": hashlib.md5((param + SALT).encode()).hexdigest().upper()}

    def call(http: httpx.Client) -> int:
        reply = http.post("/hooks/carriers/kuaidi100", data=form)
        assert reply.status_code == 200 and reply.json()["result"] is True, reply.text
        return 1
    return call


def count_events(sdb: ServerDb) -> int:
    with sdb.connection():
        return int(sdb.execute('SELECT COUNT(*) FROM "tracking_event"').fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a tenth of the volume")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql://"):
        print("server_ingest: set DATABASE_URL=postgresql://user@host:port/db (the budget is for PostgreSQL)",
              file=sys.stderr)
        return 2
    scale = 10 if args.quick else 1
    generic_parcels, kuaidi_parcels, direct_batches = 20_000 // scale, 4_000 // scale, 10 // min(scale, 5)
    per_parcel, batch_parcels = 10, 100
    with fresh_schema(url) as schema_url, tempfile.TemporaryDirectory() as tmp:
        sdb = open_database(schema_url)
        migrate(sdb)
        env = server_env(DATABASE_URL=schema_url, PACKBENCH_KUAIDI100_SALT=SALT, PACKBENCH_WEBHOOK_SECRET=SECRET)
        with serving(Path(tmp), env) as served:
            base = served.url
            everything = range(generic_parcels + kuaidi_parcels + direct_batches * 500)
            register_parcels(base, sdb, everything[::2])
            figures: list[tuple[str, int, float, str]] = []

            requests = [generic_request(range(s, s + batch_parcels), per_parcel)
                        for s in range(0, generic_parcels, batch_parcels)]
            seconds, new = run_clients(base, requests, clients=4)
            figures.append(("generic hook, 1,000 events/request", new, seconds, "events"))

            first = generic_parcels
            pushes = [kuaidi100_request(i, per_parcel) for i in range(first, first + kuaidi_parcels)]
            before = count_events(sdb)
            seconds, _ = run_clients(base, pushes, clients=8)
            figures.append(("kuaidi100 hook, 10 events/push", count_events(sdb) - before, seconds, "events"))
            seconds, done = run_clients(base, pushes, clients=8)
            figures.append(("kuaidi100 hook, re-sent trails (all duplicates)", done, seconds, "pushes"))

            first += kuaidi_parcels
            batches = [[TrackingRecord("SF", tracking_no(i), "in_transit", "0", f"2026-11-21T{step:02d}:00:00.000Z",
                                       f"2026-11-21 {step:02d}:00:00", "浙江,杭州市", "", text, "{}")
                        for i in range(first + b * 500, first + (b + 1) * 500)
                        for step, (_, text) in enumerate(trail(i, per_parcel))] for b in range(direct_batches)]
            start, new = time.perf_counter(), 0
            for records in batches:
                with sdb.connection():
                    new += ingest(sdb, "bench", json.dumps([r.raw for r in records]), records, SystemClock()).new
            figures.append(("ingest() alone, 5,000 events/transaction", new, time.perf_counter() - start, "events"))
        sdb.close()

    print(f"PostgreSQL tracking ingest ({'quick' if args.quick else 'full'}), budget ≥ {BUDGET:,} events/s")
    for name, count, seconds, unit in figures:
        print(f"  {name:<48} {count:>8,} {unit} in {seconds:6.2f} s = {count / seconds:>9,.0f} {unit}/s")
    hook_rate = figures[0][1] / figures[0][2]
    verdict = "PASS" if hook_rate >= BUDGET else "FAIL"
    print(f"  budget (generic hook, batched): {hook_rate:,.0f} events/s — {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
