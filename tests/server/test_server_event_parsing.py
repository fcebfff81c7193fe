"""The batch path's shortcuts give exactly what the plain definitions give (hashes are stored: a
replay after an upgrade must still match), and the metric hour is the one it always was."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.audit import canonical_json
from app.clock import iso
from protocol import Event
from server.auth import StationIdentity
from server.events import _canonical, parse_batch
from server.projections import Effects, project

ME = StationIdentity("ST-1", "bench", "WH1")
PAYLOADS: list[dict[str, Any]] = [
    {"outcome": "item_ok", "actor": "王芳", "code": "6901234000010", "scan_event": 7},
    {"outcome": "x", "nested": {"b": [1.5, None, True, -0.0, 1e300, 10**30], "a": "é\x01\n\t\\\"\u2028"}, "": {}},
    {"outcome": "a backslash then u0000: \\u0000 is no NUL"},
    {},
]


def _event(payload: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": "scan", "at": "2026-11-26T09:41:07.123+08:00", "station": "ST-1",
            "seq": 3, "payload": payload, **over}


def _plain_hash(raw: dict[str, Any]) -> str:
    event = Event.model_validate(raw)
    body = {"id": str(event.id), "kind": event.kind, "at": iso(event.at), "station": event.station,
            "seq": event.seq, "payload": event.payload}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_body_hash_and_stored_payload_are_the_canonical_ones(payload: dict[str, Any]) -> None:
    assert _canonical(payload) == canonical_json(payload)
    raws = [_event(payload), _event(payload, kind="scan \"quoted\" ü", id=str(uuid.uuid4()).upper()),
            _event(payload, at="2026-11-26T01:41:07Z", seq=2**40)]
    for raw, item in zip(raws, parse_batch({"events": raws}, ME), strict=True):
        assert item.invalid is None and item.event is not None
        assert item.body_hash == _plain_hash(raw)
        assert item.payload == canonical_json(payload)
        assert item.at == iso(item.event.at)


def test_nul_anywhere_is_refused_and_an_escaped_backslash_u0000_is_not() -> None:
    raws = [_event({"outcome": "item_ok\x00"}), _event({"outcome": "ok", "k\x00": 1}),
            _event({"outcome": "ok", "deep": [{"x": "\x00"}]}), _event({"outcome": "ok"}, kind="scan\x00"),
            _event({"outcome": "\\u0000"})]
    answers = [item.invalid for item in parse_batch({"events": raws}, ME)]
    assert answers == ["invalid event: contains a NUL character"] * 4 + [None]


@pytest.mark.parametrize("offset", [0, 8, -5, 5.5, -3.5, 5.75, 14])
def test_the_metric_hour_is_the_local_hour_as_before(offset: float) -> None:
    tz = timezone(timedelta(hours=offset))
    for minute in (0, 14, 59):
        at = datetime(2026, 11, 26, 9, minute, 7, 123000, tzinfo=tz)
        fx = Effects()
        event = Event(id=uuid.uuid4(), kind="scan", at=at, station="ST-1", seq=1, payload={"outcome": "item_ok"})
        project(ME, event, fx, iso(at))
        project(ME, event, fx)
        assert list(fx.metrics) == [("ST-1", iso(at.replace(minute=0, second=0, microsecond=0)), "WH1")]
        assert fx.metrics[("ST-1", iso(at.replace(minute=0, second=0, microsecond=0)), "WH1")][0] == 2


def test_a_scan_without_an_outcome_is_refused_as_pydantic_says() -> None:
    from server.projections import Rejected

    for payload, why in (({}, "outcome: Field required"), ({"outcome": ""}, "outcome: String should have at least 1"),
                         ({"outcome": 3}, "outcome: Input should be a valid string")):
        event = Event(id=uuid.uuid4(), kind="scan", at=datetime.now(UTC), station="ST-1", seq=1, payload=payload)
        with pytest.raises(Rejected, match=f"bad payload for scan: {why}"):
            project(ME, event, Effects())
