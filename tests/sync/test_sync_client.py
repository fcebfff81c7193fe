"""The HTTP client: signing as the server verifies it, and every failure classified for the worker."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from app.clock import FakeClock
from protocol import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_STATION,
    HEADER_TIMESTAMP,
    MAX_SKEW_SECONDS,
    Event,
    canonical_request,
    sign,
    signature_matches,
)
from sync.client import SyncClient, SyncError, enroll
from tests.sync.netstub import Reply, Seen, StubServer, free_port

SECRET = "s3cret-for-tests"
STATION = "ST-0001"


def verify(seen: Seen, secret: str, now: int) -> str | None:
    """What the server does with a request (docs/architecture.md §10.1), using protocol's own signing: None if good."""
    ts = seen.headers.get(HEADER_TIMESTAMP, "")
    if abs(now - int(ts)) > MAX_SKEW_SECONDS:
        return "skew"
    expected = sign(secret, seen.method, seen.path, ts, seen.headers[HEADER_NONCE], seen.body)
    return None if signature_matches(expected, seen.headers[HEADER_SIGNATURE]) else "bad signature"


def event(seq: int = 1) -> Event:
    return Event(id=uuid.uuid4(), kind="scan.item", at=datetime(2026, 11, 25, 2, tzinfo=UTC), station=STATION,
                 seq=seq, payload={"code": "6901234567892", "中文": "可以"})


def answer_all(seen: Seen) -> Reply:
    if seen.path.startswith("/api/v1/events"):
        ids = [e["id"] for e in json.loads(seen.body)["events"]]
        return Reply(200, {"results": [{"id": i, "status": "accepted"} for i in ids]})
    return Reply(200, {"items": [], "next_cursor": "c-2", "has_more": False})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


def test_every_request_is_signed_the_way_the_server_verifies_it(clock: FakeClock) -> None:
    with StubServer(answer_all) as stub, SyncClient(stub.url, STATION, SECRET, clock=clock) as client:
        client.push([event(1), event(2)])
        client.orders("opaque+/=cursor &x", limit=250)
        client.tracking(None)
    now = int(clock.now().timestamp())
    assert [verify(s, SECRET, now) for s in stub.seen] == [None, None, None]
    assert [verify(s, "another-secret", now) for s in stub.seen] == ["bad signature"] * 3
    push, orders, tracking = stub.seen
    assert push.headers[HEADER_STATION] == STATION
    assert push.headers[HEADER_TIMESTAMP] == str(now)
    assert len({s.headers[HEADER_NONCE] for s in stub.seen}) == 3  # a fresh nonce every time
    # The signature covers the exact bytes sent and the query as it went on the wire.
    assert hashlib.sha256(push.body).hexdigest() in canonical_request(
        "POST", push.path, push.headers[HEADER_TIMESTAMP], push.headers[HEADER_NONCE], push.body).decode()
    assert parse_qs(urlsplit(orders.path).query) == {"cursor": ["opaque+/=cursor &x"], "limit": ["250"]}
    assert tracking.path == "/api/v1/tracking?limit=1000"  # no cursor yet: none sent


def test_a_tampered_body_or_path_fails_verification(clock: FakeClock) -> None:
    with StubServer(answer_all) as stub, SyncClient(stub.url, STATION, SECRET, clock=clock) as client:
        client.push([event()])
    seen = stub.seen[0]
    now = int(clock.now().timestamp())
    assert verify(Seen(seen.method, seen.path, seen.headers, seen.body + b" "), SECRET, now) == "bad signature"
    assert verify(Seen(seen.method, seen.path + "?x=1", seen.headers, seen.body), SECRET, now) == "bad signature"
    assert verify(Seen("GET", seen.path, seen.headers, seen.body), SECRET, now) == "bad signature"


def test_a_path_prefix_is_part_of_what_is_signed(clock: FakeClock) -> None:
    with StubServer(answer_all) as stub, SyncClient(stub.url + "/pb/", STATION, SECRET, clock=clock) as client:
        client.products("7")
    seen = stub.seen[0]
    assert seen.path == "/pb/api/v1/products?cursor=7&limit=1000"
    assert verify(seen, SECRET, int(clock.now().timestamp())) is None


@pytest.mark.parametrize(("reply", "kind", "retryable", "says"), [
    (Reply(500, "Internal Server Error"), "server", True, "HTTP 500: Internal Server Error"),
    (Reply(503, ""), "server", True, "HTTP 503"),
    (Reply(429, "slow down"), "server", True, "HTTP 429"),
    (Reply(200, "<html>" + "x" * 500), "garbage", True, "<html>xxx"),
    (Reply(200, {"results": "nope"}), "garbage", True, "results"),
    (Reply(401, {"detail": "unknown station ST-0001"}), "auth", False, "unknown station ST-0001"),
    (Reply(403, {"detail": "station belongs to another warehouse"}), "auth", False, "another warehouse"),
    (Reply(422, {"detail": [{"msg": "too many events"}]}), "refused", False, "too many events"),
])
def test_failures_are_classified(clock: FakeClock, reply: Reply, kind: str, retryable: bool, says: str) -> None:
    with StubServer(lambda seen: reply) as stub, SyncClient(stub.url, STATION, SECRET, clock=clock) as client, \
            pytest.raises(SyncError) as caught:
        client.push([event()])
    assert (caught.value.kind, caught.value.retryable) == (kind, retryable)
    assert says in str(caught.value)
    assert caught.value.needs_admin is (kind == "auth")
    if kind == "garbage":
        assert len(caught.value.reason) < 400  # only the first 200 characters of the body
        assert "服务器的答复无法识别" in caught.value.text("zh_CN")  # the sync tooltip's words


def test_an_answer_that_does_not_speak_for_every_event_is_garbage(clock: FakeClock) -> None:
    def half(seen: Seen) -> Reply:
        ids = [e["id"] for e in json.loads(seen.body)["events"]]
        return Reply(200, {"results": [{"id": ids[0], "status": "accepted"}, {"id": str(uuid.uuid4()),
                                                                              "status": "accepted"}]})

    with StubServer(half) as stub, SyncClient(stub.url, STATION, SECRET, clock=clock) as client, \
            pytest.raises(SyncError, match="answered for 1 of 2") as caught:
        client.push([event(1), event(2)])
    assert caught.value.retryable
    assert "服务器只答复了所发 2 条中的 1 条" in caught.value.text("zh_CN")


def test_connection_refused_is_retryable(clock: FakeClock) -> None:
    with SyncClient(f"http://127.0.0.1:{free_port()}", STATION, SECRET, clock=clock) as client, \
            pytest.raises(SyncError, match="unreachable") as caught:
        client.orders(None)
    assert (caught.value.kind, caught.value.retryable) == ("unreachable", True)
    assert "\n" not in str(caught.value)


def test_a_server_that_does_not_answer_in_time_is_retryable(clock: FakeClock) -> None:
    with StubServer(lambda seen: Reply(200, "{}", delay=1.0)) as stub, \
            SyncClient(stub.url, STATION, SECRET, clock=clock, timeout=(1.0, 0.2)) as client, \
            pytest.raises(SyncError, match="did not answer in time") as caught:
        client.orders(None)
    assert caught.value.retryable


def test_a_batch_is_at_most_500_events(clock: FakeClock) -> None:
    client = SyncClient("http://127.0.0.1:9", STATION, SECRET, clock=clock)
    with pytest.raises(ValueError, match="at most 500"):
        client.push([event(i + 1) for i in range(501)])
    client.close()


def test_enroll_sends_token_name_and_key_and_returns_credentials() -> None:
    def server(seen: Seen) -> Reply:
        body = json.loads(seen.body)
        if body["token"] != "good-token-123":
            return Reply(401, {"detail": "enrollment token unknown or used"})
        assert body["passport_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
        return Reply(200, {"station_id": "ST-9", "secret": "xyz", "warehouse": "HZ-1",
                           "server_time": "2026-11-25T02:00:00Z"})

    pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
    with StubServer(server) as stub:
        creds = enroll(stub.url + "/", "good-token-123", "BENCH-1", pem)
        with pytest.raises(SyncError, match="enrollment token unknown or used") as caught:
            enroll(stub.url, "bad-token-456", "BENCH-1", pem)
    assert (creds.server, creds.station_id, creds.secret, creds.warehouse) == (stub.url, "ST-9", "xyz", "HZ-1")
    assert creds.enrolled_at == "2026-11-25T02:00:00.000Z"
    assert "xyz" not in repr(creds)
    assert caught.value.needs_admin
    assert stub.seen[0].path == "/api/v1/enroll"
    assert HEADER_SIGNATURE not in stub.seen[0].headers


def test_a_bad_server_url_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="http"):
        SyncClient("ftp://example.com", STATION, SECRET)
    with pytest.raises(ValueError, match="http"):
        enroll("example.com", "good-token-123", "B", "pem")


def test_waybill_allocation_and_rules_are_signed_and_parsed(clock: FakeClock) -> None:
    def server(seen: Seen) -> Reply:
        if seen.path == "/api/v1/waybills/allocate":
            body = json.loads(seen.body)
            return Reply(200, {"carrier": body["carrier"], "numbers": [f"SF{n:013d}" for n in range(body["count"])]})
        return Reply(200, {"version": 3, "sha256": "ab" * 32, "created_at": "2026-11-25T02:00:00Z",
                           "content": "[[rule]]\nid = 'x'\n"})

    with StubServer(server) as stub, SyncClient(stub.url, STATION, SECRET, clock=clock) as client:
        allocation = client.allocate_waybills("SF", 3)
        rules = client.rules()
    assert allocation.numbers == ["SF0000000000000", "SF0000000000001", "SF0000000000002"]
    assert (rules.version, rules.content) == (3, "[[rule]]\nid = 'x'\n")
    now = int(clock.now().timestamp())
    assert [verify(s, SECRET, now) for s in stub.seen] == [None, None]
