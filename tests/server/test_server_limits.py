"""Bounded requests: per-route body limits enforced while streaming (declared and chunked), before the
signature check reads anything; slow headers and bodies timed out; deep JSON refused with 400."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from server_harness import SALT, WEBHOOK_SECRET, Running, Station

from bench.attack_clients import huge_body, slow_client
from protocol import API
from server.hooks import kuaidi100_sign
from server.limits import BodyLimit, json_depth_ok
from tests.live_server import UvicornThread

MB = 1 << 20


def _port(server: Running) -> int:
    return int(urlsplit(server.url).port or 0)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_unauthenticated_huge_push_is_refused_before_its_body_is_read(server: Running, station: Station,
                                                                        chunked: bool) -> None:
    """No signature headers at all, or an unknown station: refused without reading the 300 MB (a declared
    length over the limit is 413 at once; a chunked body gets the signature check's 401 first)."""
    unknown = {"X-Station": "ST-00000000", "X-Timestamp": str(int(time.time())), "X-Nonce": "n" * 16,
               "X-Signature": "0" * 64}
    for headers in ({}, unknown):
        outcome = huge_body(_port(server), f"{API}/events", 300 * MB, chunked=chunked, headers=headers)
        assert outcome.status == (401 if chunked else 413) and outcome.closed
        assert outcome.sent < 40 * MB  # what the sockets' buffers took before the answer was seen
    assert station.get(f"{API}/rules").status_code == 200  # the server is fine


def test_a_declared_length_over_the_limit_is_413_before_any_body(server: Running, station: Station) -> None:
    for path, size in ((f"{API}/events", 4 * MB + 1), ("/hooks/carriers/generic", MB + 1),
                       ("/hooks/carriers/kuaidi100", MB + 1), (f"{API}/enroll", 64 * 1024 + 1)):
        outcome = huge_body(_port(server), path, size, chunked=False, send_head_only=True, timeout=10)
        assert (outcome.status, outcome.closed, outcome.sent) == (413, True, 0), path


@pytest.mark.parametrize("path", ["/hooks/carriers/generic", "/hooks/carriers/kuaidi100", f"{API}/enroll"])
def test_a_chunked_body_is_cut_off_with_413_as_it_crosses_the_limit(server: Running, path: str) -> None:
    headers = {"X-PackBench-Signature": "0" * 64}
    if path.endswith("kuaidi100"):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    outcome = huge_body(_port(server), path, 300 * MB, chunked=True, headers=headers)
    assert (outcome.status, outcome.closed) == (413, True)
    assert outcome.sent < 40 * MB


def test_a_signed_station_over_the_events_limit_gets_413_and_under_it_is_served(server: Running,
                                                                             station: Station) -> None:
    event = station.event("scan", {"outcome": "item_ok", "pad": "x" * 3000})
    big = json.dumps({"events": [event] * 1500}).encode()  # 4.5 MB, signed
    assert len(big) > 4 * MB
    reply = station.request("POST", f"{API}/events", raw=big)
    assert reply.status_code == 413 and "4 MB" in reply.json()["detail"]
    fine = station.push(*(station.event("scan", {"outcome": "item_ok", "pad": "x" * 7000}) for _ in range(500)))
    assert fine.status_code == 200 and len(fine.json()["results"]) == 500  # 3.5 MB: under the limit


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_is_400_on_every_body_that_is_parsed(server: Running, station: Station) -> None:
    events = station.request("POST", f"{API}/events", raw=b'{"events": ' + _nested(2000).encode() + b"}")
    assert events.status_code == 400 and "nested deeper than" in events.json()["detail"]
    payload = {"events": [station.event("scan", {"outcome": "item_ok", "deep": json.loads(_nested(70))})]}
    assert station.push(*payload["events"]).status_code == 400
    body = ('{"events": ' + _nested(500) + "}").encode()
    sig = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    generic = server.http.post("/hooks/carriers/generic", content=body,
                               headers={"X-PackBench-Signature": sig, "Content-Type": "application/json"})
    assert generic.status_code == 400 and "nested deeper than" in generic.json()["detail"]
    param = '{"lastResult": ' + _nested(5000) + "}"
    kuaidi = server.http.post("/hooks/carriers/kuaidi100", data={"param": param, "sign": kuaidi100_sign(param, SALT)})
    assert kuaidi.status_code == 400 and kuaidi.json()["returnCode"] == "400"
    assert "nested deeper than" in kuaidi.json()["message"]


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth_ok('{"a": "[[[[[[[[[[[[[[[[[[[[", "b": [[1]]}', limit=3)
    assert not json_depth_ok('{"a": [[[1]]]}', limit=3)
    assert json_depth_ok('{"a": "\\"[[[[", "b": {"c": []}}', limit=3)
    assert json_depth_ok(b"", limit=1)


async def _echo(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Reads the whole body, like a handler would, then answers its size."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def strict() -> Iterator[int]:
    """The bounds on a bare app, with short deadlines: 0.5 s for headers, 1 s for a body."""
    with UvicornThread(header_timeout=0.5).start(BodyLimit(_echo, body_timeout=1.0)) as thread:
        yield thread.port


def test_slow_headers_and_slow_bodies_are_cut_off(strict: int) -> None:
    headers = slow_client(strict, "/hooks/carriers/generic", phase="headers", byte_every=0.2, timeout=8)
    assert headers.closed and headers.seconds < 4
    body = slow_client(strict, "/hooks/carriers/generic", phase="body", byte_every=0.05, timeout=8)
    assert body.status == 408 and body.closed and body.seconds < 4
    idle = huge_body(strict, "/x", 10, chunked=False, send_head_only=True, timeout=8)  # headers in, no body
    assert idle.status == 408 and idle.closed
    fine = huge_body(strict, "/hooks/carriers/generic", 900 * 1024, chunked=True, timeout=8)
    assert fine.status == 200


def test_a_route_limit_holds_for_a_handler_that_reads_the_body_itself(strict: int) -> None:
    assert huge_body(strict, "/anything", 64 * 1024, chunked=True, timeout=8).status == 200
    over = huge_body(strict, "/anything", 64 * 1024 + 1, chunked=True, timeout=8)
    assert (over.status, over.closed) == (413, True)
