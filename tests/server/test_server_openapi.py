"""Schemathesis against /openapi.json: whatever it sends, no endpoint answers 5xx.

Unsigned fuzz reaches the auth layer (401s) and the public endpoints; signed fuzz re-sends each
generated request with a valid signature, so the handlers themselves see the generated inputs.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from server_harness import Running, Station

from protocol import sign

FUZZ = settings(max_examples=12, database=None, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _operations(server: Running) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_the_openapi_document_lists_every_endpoint(server: Running) -> None:
    paths = server.http.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/v1/enroll", "/api/v1/events", "/api/v1/orders", "/api/v1/products", "/api/v1/tracking", "/api/v1/cases",
        "/api/v1/rules", "/api/v1/supervisor-calls", "/api/v1/waybills/allocate", "/api/v1/reconciliation",
        "/api/v1/metrics",
        "/hooks/carriers/kuaidi100", "/hooks/carriers/generic", "/p/{token}", "/healthz"}


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="server")  # hundreds of refusals, each logged: not the point here


def test_unsigned_fuzz_never_gets_a_5xx(server: Running) -> None:
    session = requests.Session()
    for operation in _operations(server):
        public = not operation.path.startswith("/api/v1/") or operation.path == "/api/v1/enroll"
        # Invalid input to a signed endpoint stops at the signature check: fuzz it valid only.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if public else (GenerationMode.POSITIVE,):
            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = case.call(base_url=server.url, session=session, timeout=30)
                assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])

            try:
                call()
            except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE

def _signed_call(station: Station, case: Any) -> httpx.Response:
    content = b""
    body = case.body
    if body is not None and not isinstance(body, type(schemathesis.core.NOT_SET)):
        if isinstance(body, dict) and isinstance(body.get("events"), list):  # as this station's own events
            body = {**body, "events": [{**e, "station": station.station_id} if isinstance(e, dict) else e
                                       for e in body["events"]]}
        content = json.dumps(body).encode()
    query = dict(case.query or {})
    if "warehouse" in query:  # its own: another warehouse is a 403, tested elsewhere
        query["warehouse"] = station.warehouse
    request = station.server.http.build_request(case.method, case.formatted_path, params=query or None,
                                                content=content or None)
    target = request.url.raw_path.decode("ascii")
    ts, nonce = str(int(time.time())), secrets.token_hex(12)
    request.headers.update({"X-Station": station.station_id, "X-Timestamp": ts, "X-Nonce": nonce,
                            "X-Signature": sign(station.secret, case.method, target, ts, nonce, content),
                            "Content-Type": "application/json"})
    return station.server.http.send(request)


def test_signed_fuzz_never_gets_a_5xx(server: Running, station: Station) -> None:
    signed = [op for op in _operations(server) if op.path.startswith("/api/v1/") and op.path != "/api/v1/enroll"]
    assert len(signed) == 10
    for operation in signed:
        @FUZZ
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = _signed_call(station, case)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
            assert response.status_code not in (401, 403), response.text

        call()
