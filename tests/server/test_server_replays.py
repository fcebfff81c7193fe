"""Carrier hooks store a push body once per (source, SHA-256): a replay answers "duplicate" and stores
nothing; the generic hook's optional timestamp (inside the signature) refuses old captured pushes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from server_harness import WEBHOOK_SECRET, Running
from server_hook_calls import kuaidi100_param, kuaidi100_push

TRAIL = [{"time": f"2026-11-25 {h:02d}:{m:02d}:00", "context": f"【杭州转运中心】快件已发出 第{h}-{m}站 " + "详" * 40,
          "statusCode": "0"} for h in range(24) for m in range(0, 60, 2)]


def _stored(server: Running) -> tuple[int, int, int]:
    sdb = server.services.sdb
    with sdb.connection():
        pushes, size = sdb.execute('SELECT COUNT(*), COALESCE(SUM(LENGTH("body")), 0) FROM "carrier_push"').fetchone()
        events = sdb.execute('SELECT COUNT(*) FROM "tracking_event"').fetchone()[0]
    return int(pushes), int(size), int(events)


def test_ten_replays_of_a_large_kuaidi100_push_store_nothing_more(server: Running) -> None:
    param = kuaidi100_param("SF1000000000001", TRAIL)
    assert len(param.encode()) > 100_000 and len(urlencode({"param": param})) < 1 << 20
    first = kuaidi100_push(server, param)
    assert first.status_code == 200 and first.json()["message"] == "成功"
    before = _stored(server)
    for _ in range(10):
        again = kuaidi100_push(server, param)
        assert again.status_code == 200 and again.json() == {"result": True, "returnCode": "200",
                                                             "message": "重复推送 duplicate"}
    assert _stored(server) == before and before[0] == 1
    grown = kuaidi100_param("SF1000000000001", [{"time": "2026-11-26 08:00:00", "context": "已签收",
                                                 "statusCode": "3"}, *TRAIL])
    assert kuaidi100_push(server, grown).json()["message"] == "成功"  # a changed trail is a new push
    assert _stored(server)[0] == 2 and _stored(server)[2] == before[2] + 1


def _generic(server: Running, body: bytes, *, stamp: str | None = None, signed_stamp: str | None = None) -> object:
    signed = body if signed_stamp is None else signed_stamp.encode() + b"." + body
    headers = {"Content-Type": "application/json",
               "X-PackBench-Signature": hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()}
    if stamp is not None:
        headers["X-PackBench-Timestamp"] = stamp
    return server.http.post("/hooks/carriers/generic", content=body, headers=headers)


def _body(n: int) -> bytes:
    return json.dumps({"events": [{"carrier": "SF", "tracking_no": f"SF20000000000{n}", "status": "in_transit",
                                   "time": "2026-11-25T10:00:00+08:00", "context": f"到达 {n}"}]}).encode()


def test_a_replayed_generic_push_is_answered_duplicate_and_not_stored(server: Running) -> None:
    body = _body(1)
    assert _generic(server, body).json()["status"] == "stored"  # type: ignore[attr-defined]
    again = _generic(server, body)
    assert again.status_code == 200 and again.json() == {  # type: ignore[attr-defined]
        "received": 1, "new": 0, "duplicates": 1, "rejected": [], "status": "duplicate"}
    assert _stored(server)[0] == 1


def test_the_generic_hooks_optional_timestamp_is_signed_and_kept_within_five_minutes(server: Running) -> None:
    now = str(int(time.time()))
    assert _generic(server, _body(2), stamp=now, signed_stamp=now).status_code == 200  # type: ignore[attr-defined]
    stale = str(int(time.time()) - 400)
    old = _generic(server, _body(3), stamp=stale, signed_stamp=stale)
    assert old.status_code == 401 and "away from the server's clock" in old.json()["detail"]  # type: ignore[attr-defined]
    moved = _generic(server, _body(4), stamp=now, signed_stamp=str(int(now) - 1))  # header edited after signing
    assert moved.status_code == 401 and moved.json()["detail"] == "bad signature"  # type: ignore[attr-defined]
    body_only = _generic(server, _body(5), stamp=now)  # a timestamp not covered by the signature
    assert body_only.status_code == 401  # type: ignore[attr-defined]
    garbage = _generic(server, _body(6), stamp="soon", signed_stamp="soon")
    assert garbage.status_code == 401 and "Unix seconds" in garbage.json()["detail"]  # type: ignore[attr-defined]
    assert _stored(server)[0] == 1
