"""`packbench order show` carries the parcel's pulled tracking trail, newest first, in --json and text."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.pack.flow import PackFlow
from main import main
from protocol import TrackingEventOut
from tests.sync.fakes import T0
from tests.sync.test_sync_pull import ORDER, _pack_demo_order


def _event(server_id: int, tracking_no: str, hours: int, status: str, code: str, text: str,
           site: str = "") -> TrackingEventOut:
    return TrackingEventOut(id=server_id, carrier="SF", tracking_no=tracking_no, status=status,  # type: ignore[arg-type]
                            carrier_status=code, time=T0 + timedelta(hours=hours), site=site, context=text,
                            source="kuaidi100")


def test_order_show_lists_the_trail_newest_first(flow: PackFlow, clock: FakeClock, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from sync.pull import apply_tracking_page

    tracking_no = _pack_demo_order(flow)
    events = [_event(11, tracking_no, 1, "ordered", "101", "已下单"),
              _event(12, tracking_no, 3, "picked_up", "103", "顺丰速运 已收取快件", "深圳南山"),
              _event(13, tracking_no, 30, "delivered", "301", "已签收，签收人：本人", "上海浦东"),
              _event(14, "SF9999999999999", 2, "in_transit", "0", "another parcel")]
    with flow.store.atomic():
        apply_tracking_page(clock, events)
    flow.store.close()
    data_dir = str(tmp_path / "station")
    assert main(["--data-dir", data_dir, "order", "show", ORDER, "--json"]) == 0
    trail = json.loads(capsys.readouterr().out)["tracking"]
    assert [(t["state"], t["code"], t["site"]) for t in trail] == [
        ("delivered", "301", "上海浦东"), ("picked_up", "103", "深圳南山"), ("ordered", "101", "")]
    assert trail[0]["text"] == "已签收，签收人：本人" and trail[0]["time"] == "2026-11-26T07:00:00.000Z"
    assert set(trail[0]) >= {"time", "state", "code", "text", "site"}
    assert main(["--data-dir", data_dir, "order", "show", ORDER]) == 0
    text = capsys.readouterr().out
    block = text[text.index("tracking, newest first"):]
    assert block.index("Delivered [301]") < block.index("Picked up [103]") < block.index("Ordered")  # the CLI's English
    assert "深圳南山: 顺丰速运 已收取快件" in block and "another parcel" not in block


def test_order_show_says_when_no_events_came_yet(demo_store: object, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "station"), "order", "show", ORDER]) == 0
    assert "no carrier events yet" in capsys.readouterr().out
