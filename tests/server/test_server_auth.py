"""Enrollment (one-time, expiring tokens) and every refusal of a signed request (docs/architecture.md §10.1)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from server_harness import Running, Station

from app.clock import FakeClock
from app.keys import public_pem
from protocol import API
from server.auth import issue_enrollment_token


def _enroll_body(token: str) -> dict[str, str]:
    key = Ed25519PrivateKey.generate()
    return {"token": token, "station_name": "BENCH-9", "passport_public_key": public_pem(key.public_key()).decode()}


def test_enrollment_gives_an_id_and_secret_once(server: Running) -> None:
    token, _ = issue_enrollment_token(server.services.sdb, "WH1", FakeClock(datetime.now(UTC)))
    first = server.http.post(f"{API}/enroll", json=_enroll_body(token))
    assert first.status_code == 200
    body = first.json()
    assert body["station_id"].startswith("ST-") and len(body["secret"]) == 64 and body["warehouse"] == "WH1"
    again = server.http.post(f"{API}/enroll", json=_enroll_body(token))
    assert (again.status_code, again.json()["detail"]) == (401, "enrollment token already used")


def test_expired_and_unknown_tokens_are_refused(server: Running) -> None:
    past = FakeClock(datetime.now(UTC) - timedelta(hours=3))
    token, _ = issue_enrollment_token(server.services.sdb, "WH1", past, ttl_hours=2)
    expired = server.http.post(f"{API}/enroll", json=_enroll_body(token))
    assert (expired.status_code, expired.json()["detail"]) == (401, "enrollment token expired")
    unknown = server.http.post(f"{API}/enroll", json=_enroll_body("not-a-real-token"))
    assert (unknown.status_code, unknown.json()["detail"]) == (401, "unknown enrollment token")


def test_enrollment_needs_an_ed25519_key(server: Running) -> None:
    token, _ = issue_enrollment_token(server.services.sdb, "WH1", FakeClock(datetime.now(UTC)))
    reply = server.http.post(f"{API}/enroll", json={"token": token, "station_name": "B", "passport_public_key": "x"})
    assert reply.status_code == 400
    assert server.http.post(f"{API}/enroll", json=_enroll_body(token)).status_code == 200  # token not used up


def test_a_signed_request_passes(station: Station) -> None:
    assert station.get(f"{API}/rules").status_code == 200


@pytest.mark.parametrize(("change", "reason"), [
    ({"secret": "0" * 64}, "not signed by an enrolled station"),
    ({"timestamp": -310}, "behind the server"),
    ({"timestamp": +310}, "ahead of the server"),
    ({"station": "ST-NOSUCH"}, "not signed by an enrolled station"),
])
def test_refusals_are_401_with_a_reason(station: Station, change: dict[str, object], reason: str,
                                        caplog: pytest.LogCaptureFixture) -> None:
    if "timestamp" in change:  # an offset from now, taken when the test runs
        change = {"timestamp": int(time.time()) + int(change["timestamp"])}  # type: ignore[call-overload]
    with caplog.at_level(logging.WARNING, logger="server.auth"):
        reply = station.request("GET", f"{API}/orders", **change)  # type: ignore[arg-type]
    assert reply.status_code == 401
    assert reason in reply.json()["detail"]
    assert any(reason in r.getMessage() and "/api/v1/orders" in r.getMessage() for r in caplog.records)


def test_skew_within_five_minutes_is_accepted(station: Station) -> None:
    for delta in (-290, 290):
        assert station.request("GET", f"{API}/rules", timestamp=int(time.time()) + delta).status_code == 200


def test_a_reused_nonce_is_refused(station: Station) -> None:
    assert station.request("GET", f"{API}/rules", nonce="nonce-0001").status_code == 200
    again = station.request("GET", f"{API}/rules", nonce="nonce-0001")
    assert again.status_code == 401 and "nonce already used" in again.json()["detail"]


def test_the_signature_covers_body_path_and_query(station: Station) -> None:
    ts, nonce = str(int(time.time())), "nonce-body-01"
    from protocol import sign

    headers = {"X-Station": station.station_id, "X-Timestamp": ts, "X-Nonce": nonce,
               "X-Signature": sign(station.secret, "GET", f"{API}/orders?limit=5", ts, nonce, b"")}
    other_query = station.server.http.get(f"{API}/orders?limit=6", headers=headers)
    assert other_query.status_code == 401 and other_query.json()["detail"] == "not signed by an enrolled station"
    altered = station.request("POST", f"{API}/events", raw=b'{"events": []}')
    assert altered.status_code == 200
    tampered = {"X-Station": station.station_id, "X-Timestamp": ts, "X-Nonce": "nonce-body-02",
                "X-Signature": sign(station.secret, "POST", f"{API}/events", ts, "nonce-body-02", b'{"events":[]}')}
    reply = station.server.http.post(f"{API}/events", content=b'{"events": [ ]}', headers=tampered)
    assert reply.status_code == 401


def test_unsigned_requests_are_refused(server: Running) -> None:
    reply = server.http.get(f"{API}/orders")
    assert reply.status_code == 401 and reply.json()["detail"] == "missing header X-Station"


def test_another_warehouse_is_403(server: Running, station: Station, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="server.auth"):
        for path in ("orders", "tracking", "reconciliation", "metrics"):
            reply = station.get(f"{API}/{path}", warehouse="WH2")
            assert reply.status_code == 403, path
            assert "belongs to warehouse WH1" in reply.json()["detail"]
    assert sum("403" in r.getMessage() for r in caplog.records) == 4
    assert station.get(f"{API}/orders", warehouse="WH1").status_code == 200


def test_a_station_pushes_only_its_own_events(server: Running, station: Station) -> None:
    other = server.enroll("WH1", "BENCH-2")
    forged = other.event("scan", {"outcome": "item_ok"})
    reply = station.push(forged)
    assert reply.status_code == 403
    assert "signed by " + station.station_id in reply.json()["detail"]


def test_the_signed_target_is_the_path_as_sent_plus_a_stripped_prefix() -> None:
    from starlette.requests import Request

    from server.services import request_target

    def target(raw_path: bytes, query: bytes, root: str = "") -> str:
        scope = {"type": "http", "method": "GET", "path": raw_path.decode(), "raw_path": raw_path,
                 "query_string": query, "root_path": root, "headers": []}
        return request_target(Request(scope))

    assert target(b"/api/v1/orders", b"cursor=o.5&limit=500") == "/api/v1/orders?cursor=o.5&limit=500"
    assert target(b"/api/v1/orders", b"", "/packbench") == "/packbench/api/v1/orders"
    assert target(b"/packbench/api/v1/orders", b"", "/packbench") == "/packbench/api/v1/orders"
    assert target(b"/api/v1/p%C3%A4th", b"a=%20") == "/api/v1/p%C3%A4th?a=%20"


def test_an_unknown_station_and_a_bad_signature_get_the_same_answer(station: Station) -> None:
    """A refusal never tells whether a station id exists (nor whether it was revoked)."""
    unknown = station.request("GET", f"{API}/orders", station="ST-00000000")
    forged = station.request("GET", f"{API}/orders", secret="f" * 64)
    assert unknown.status_code == forged.status_code == 401
    assert unknown.json() == forged.json() == {"detail": "not signed by an enrolled station"}
