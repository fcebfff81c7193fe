"""`packbench exceptions list/ack/resolve`, the queue filters and the weekly heatmap (docs/architecture.md §9.1)."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.cases import RULE_TITLE, list_cases, open_case, weekly_heatmap
from app.clock import FakeClock
from app.demo import seed_demo
from app.errors import ExitCode
from app.i18n import Phrase
from app.store import Store, open_store
from app.store.models import AuditEntry, ExceptionCase, Order
from main import main

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PACKER, SUPERVISOR, ADMIN = "B-1001", "S-2001", "A-9001"  # demo badges: 王芳, 李强, admin
PHONE_TITLE = "Receiver mobile number is not 11 digits"  # the shipped address_phone rule's


def _open(store: Store, clock: FakeClock, key: str, *, tag: str = "address_risk", severity: str = "warning",
          route: str = "supervisor", order_id: str | None = "TB2026112500001") -> ExceptionCase:
    order = Order.get(Order.order_id == order_id) if order_id else None
    case = open_case(store, clock, dedupe_key=key, tag=tag, rule_id=f"rule.{tag}", severity=severity, route=route,
                     title=f"{tag} on {order_id}", sop="Call the buyer.\n致电买家。", order=order)
    assert case is not None
    return case


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "station"
    clock = FakeClock(T0)
    store = open_store(d, clock)
    seed_demo(store, clock, waybills=5)
    _open(store, clock, "a:1")
    _open(store, clock, "b:1", tag="stock_gap", severity="critical", route="admin", order_id="TB2026112500002")
    _open(store, clock, "c:1", tag="compliance", severity="info", order_id=None)
    store.close()
    return d


def run(d: Path, *argv: str) -> int:
    return main(["--data-dir", str(d), "exceptions", *argv])


def listed(d: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert run(d, "list", "--json", *argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list)
    return rows


def test_list_json_has_the_queue_fields_in_the_station_zone(data_dir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    rows = listed(data_dir, capsys)
    assert [r["tag"] for r in rows] == ["address_risk", "stock_gap", "compliance"]
    first = rows[0]
    assert set(first) == {"id", "order_id", "tag", "rule_id", "severity", "route", "state", "opened_at", "title"}
    assert first["order_id"] == "TB2026112500001" and first["rule_id"] == "rule.address_risk"
    assert first["severity"] == "warning" and first["route"] == "supervisor" and first["state"] == "open"
    assert first["opened_at"] == "2026-11-25T10:00:00+08:00"  # station zone Asia/Shanghai
    assert first["title"] == "address_risk on TB2026112500001"
    assert rows[2]["order_id"] is None


def test_list_text_one_line_per_case(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "C")
    assert run(data_dir, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "TB2026112500002" in lines[1] and "Critical" in lines[1] and "2026-11-25 10:00" in lines[1]
    assert lines[1].split()[1:3] == ["Critical", "open"] and "Administrator" in lines[1]


def test_list_names_severity_state_and_route_in_the_clis_language(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A Chinese line names the severity, state and route in Chinese (the tag, rule id and order id stay codes);
    the JSON keeps the codes --severity and --route take."""
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert run(data_dir, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[1:3] == ["严重", "待处理"] and "管理员" in lines[1]
    assert lines[0].split()[1:3] == ["警告", "待处理"] and "主管" in lines[0]
    named = [(fields[1], fields[2], fields[8]) for fields in (line.split() for line in lines)]
    assert not [w for row in named for w in row if re.search(r"[A-Za-z]", w)]

    def cells(text: str) -> int:  # terminal cells: a Chinese character takes two
        return sum(2 if unicodedata.east_asian_width(c) == "W" else 1 for c in text)

    # 主管 and 管理员 differ in width; the titles after them start in one terminal column all the same
    tagged = zip(lines[:2], ("address_risk", "stock_gap"), strict=True)
    title_columns = {cells(line[:line.index(f" {tag} on ")]) for line, tag in tagged}
    assert len(title_columns) == 1
    assert [r["severity"] for r in listed(data_dir, capsys)] == ["warning", "critical", "info"]


def test_list_columns_stay_aligned_with_long_codes(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A supervisor call's rule id (builtin.call_supervisor, 23 characters) and a Pinduoduo order id (22)
    are longer than the columns' least widths: the route and title still start in one column on every line."""
    store = open_store(data_dir, FakeClock(T0))
    pdd = Order.create(order_id="261125-123456789012345", platform="pdd", status="paid",
                       created_at="2026-11-25T02:00:00Z", updated_at="2026-11-25T02:00:00Z")
    case = open_case(store, FakeClock(T0), dedupe_key="call:1", tag="supervisor_call",
                     rule_id="builtin.call_supervisor", severity="warning", route="supervisor",
                     title="call on 261125-123456789012345", order=pdd)
    assert case is not None
    store.close()
    monkeypatch.setenv("LC_ALL", "C")
    assert run(data_dir, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    routes = {line.index(" Supervisor ") for line in lines if " Supervisor " in line}
    titles = {line.index(title) for line, title in zip(lines, ("address_risk on", "stock_gap on", "compliance on",
                                                                "call on"), strict=True)}
    assert len(routes) == 1 and len(titles) == 1


def test_a_rule_case_title_is_listed_in_the_clis_language(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "station"
    clock = FakeClock(T0)
    store = open_store(d, clock)
    seed_demo(store, clock, waybills=5)
    case = open_case(store, clock, dedupe_key="k", tag="address_risk", rule_id="address_phone", severity="warning",
                     route="supervisor", title=Phrase(RULE_TITLE, {"subject": "TB1", "title": Phrase(PHONE_TITLE)}))
    assert case is not None
    store.close()
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert run(d, "list") == 0
    assert "TB1：收件手机号不是 11 位" in capsys.readouterr().out
    assert run(d, "ack", str(case.id), "--by", SUPERVISOR) == 0
    assert f"异常 {case.id} 已由 李强 设为 已确认：TB1" in capsys.readouterr().out  # the state named, not its code
    assert run(d, "list", "--json") == 0  # JSON keeps the English record
    assert json.loads(capsys.readouterr().out)[0]["title"] == f"TB1: {PHONE_TITLE}"


def test_filters(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [r["tag"] for r in listed(data_dir, capsys, "--tag", "stock_gap")] == ["stock_gap"]
    assert [r["tag"] for r in listed(data_dir, capsys, "--severity", "info")] == ["compliance"]
    assert [r["tag"] for r in listed(data_dir, capsys, "--route", "supervisor")] == ["address_risk", "compliance"]
    assert listed(data_dir, capsys, "--route", "supervisor", "--severity", "critical") == []
    case_id = listed(data_dir, capsys, "--tag", "compliance")[0]["id"]
    assert run(data_dir, "resolve", str(case_id), "--note", "not a problem", "--by", SUPERVISOR) == 0
    capsys.readouterr()
    assert [r["tag"] for r in listed(data_dir, capsys, "--open")] == ["address_risk", "stock_gap"]
    assert len(listed(data_dir, capsys)) == 3


def test_ack_then_resolve_is_audited(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case_id = str(listed(data_dir, capsys, "--tag", "address_risk")[0]["id"])
    assert run(data_dir, "ack", case_id, "--by", SUPERVISOR) == 0
    assert f"case {case_id} acknowledged by 李强" in capsys.readouterr().out
    assert listed(data_dir, capsys, "--tag", "address_risk")[0]["state"] == "acknowledged"
    assert [r["tag"] for r in listed(data_dir, capsys, "--open")] == ["address_risk", "stock_gap", "compliance"]
    assert run(data_dir, "resolve", case_id, "--note", "buyer confirmed the number", "--by", ADMIN) == 0
    capsys.readouterr()
    assert listed(data_dir, capsys, "--tag", "address_risk")[0]["state"] == "resolved"
    store = open_store(data_dir)
    try:
        case = ExceptionCase.get_by_id(int(case_id))
        assert (case.acked_by, case.resolved_by, case.note) == ("李强", "admin", "buyer confirmed the number")
        kinds = [e.kind for e in AuditEntry.select().order_by(AuditEntry.seq)][-2:]
        assert kinds == ["exception.acknowledged", "exception.resolved"]
    finally:
        store.close()


@pytest.mark.parametrize(("argv", "message"), [
    (["ack", "999"], "no case 999"),
    (["resolve", "999", "--note", "x"], "no case 999"),
    (["resolve", "1", "--note", "   ", "--by", "S-2001"], "resolving a case needs a note"),
])
def test_refused_transitions_are_one_line_exit_2(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                  argv: list[str], message: str) -> None:
    assert run(data_dir, *argv) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("packbench: ")


def test_acking_twice_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "ack", "1", "--by", SUPERVISOR) == 0
    assert run(data_dir, "ack", "1", "--by", SUPERVISOR) == ExitCode.INPUT
    assert "case 1 is acknowledged; cannot make it acknowledged" in capsys.readouterr().err


def _case(data_dir: Path, case_id: int) -> tuple[str, str | None, str | None]:
    store = open_store(data_dir)
    try:
        case = ExceptionCase.get_by_id(case_id)
        return case.state, case.acked_by, case.resolved_by
    finally:
        store.close()


def _one_line_error(capsys: pytest.CaptureFixture[str], *parts: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("packbench: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, err


def test_supervisor_routed_cases_need_the_badge_of_a_supervisor_or_admin(data_dir: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # Case 1: warning, routed to supervisors. Case 2: critical, routed to admins. Case 3: info, supervisors.
    assert run(data_dir, "ack", "1") == ExitCode.INPUT
    _one_line_error(capsys, "case #1 needs the role Supervisor or above", "--by BADGE")
    assert run(data_dir, "ack", "1", "--by", PACKER) == ExitCode.INPUT
    _one_line_error(capsys, "王芳 may not act", "needs the role Supervisor or above", "王芳 has the role Packer")
    assert run(data_dir, "ack", "1", "--by", "B-9999") == ExitCode.INPUT
    _one_line_error(capsys, "unknown badge B-9999")
    assert _case(data_dir, 1) == ("open", None, None)  # nothing changed by the refusals

    assert run(data_dir, "ack", "2", "--by", SUPERVISOR) == ExitCode.INPUT  # routed to admins
    _one_line_error(capsys, "case #2 needs the role Administrator or above", "李强 has the role Supervisor")
    assert run(data_dir, "resolve", "2", "--note", "restocked", "--by", ADMIN) == 0
    assert "case 2 resolved by admin" in capsys.readouterr().out
    assert _case(data_dir, 2) == ("resolved", None, "admin")


def test_without_by_only_a_packer_case_that_is_not_critical(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "station"
    clock = FakeClock(T0)
    store = open_store(d, clock)
    seed_demo(store, clock, waybills=5)
    warning = _open(store, clock, "p:1", route="packer").id
    critical = _open(store, clock, "p:2", route="packer", severity="critical").id
    store.close()
    assert run(d, "ack", str(critical)) == ExitCode.INPUT
    _one_line_error(capsys, f"case #{critical} is critical", "--by BADGE")
    assert run(d, "ack", str(critical), "--by", PACKER) == 0  # anyone may work it: a packer's badge will do
    assert f"case {critical} acknowledged by 王芳" in capsys.readouterr().out
    assert run(d, "ack", str(warning)) == 0
    assert f"case {warning} acknowledged by cli" in capsys.readouterr().out
    assert _case(d, critical)[1] == "王芳" and _case(d, warning)[1] == "cli"


def test_list_cases_helper(store: Store, clock: FakeClock) -> None:
    seed_demo(store, clock, waybills=5)
    a = _open(store, clock, "a:1")
    clock.advance(60)
    b = _open(store, clock, "b:1", tag="stock_gap", severity="critical")
    assert [c.id for c in list_cases()] == [a.id, b.id]
    assert [c.id for c in list_cases(severity="critical")] == [b.id]
    assert [c.id for c in list_cases(tag="address_risk", route="supervisor")] == [a.id]
    assert list_cases(route="packer") == []


def test_weekly_heatmap_counts_per_local_day_top_tags(store: Store) -> None:
    clock = FakeClock(datetime(2026, 11, 18, 15, 0, tzinfo=UTC))  # 23:00 Nov 18 in Shanghai: outside the window
    seed_demo(store, clock, waybills=5)
    n = 0

    def opened(tag: str, times: int) -> None:
        nonlocal n
        for _ in range(times):
            n += 1
            _open(store, clock, f"{tag}:{n}", tag=tag)

    opened("address_risk", 4)  # Nov 18 local: before the 7-day window
    clock.advance(hours=1)  # 16:00 UTC = 00:00 Nov 19 local: the window's first day
    opened("address_risk", 2)
    opened("stock_gap", 1)
    clock.advance(days=3, hours=15)  # 07:00 UTC Nov 22 = 15:00 local
    opened("payment_anomaly", 3)
    opened("compliance", 1)
    opened("pack_mismatch", 1)
    opened("weight_mismatch", 1)
    clock.advance(days=3, hours=8, minutes=59)  # 15:59 UTC Nov 25 = 23:59 local, "today"
    opened("address_risk", 1)
    opened("logistics_anomaly", 2)

    days, tags, counts = weekly_heatmap(clock, "Asia/Shanghai")
    assert days == [date(2026, 11, d) for d in range(19, 26)]
    assert tags == ["address_risk", "payment_anomaly", "logistics_anomaly", "compliance", "pack_mismatch"]
    assert counts[("address_risk", date(2026, 11, 19))] == 2
    assert counts[("address_risk", date(2026, 11, 25))] == 1
    assert counts[("payment_anomaly", date(2026, 11, 22))] == 3
    assert counts[("logistics_anomaly", date(2026, 11, 25))] == 2
    assert counts[("compliance", date(2026, 11, 20))] == 0
    assert set(counts) == {(t, d) for t in tags for d in days}
    assert sum(counts.values()) == 3 + 3 + 2 + 1 + 1

    # In UTC the same cases fall on other days: 23:59 local Nov 25 is 15:59 UTC, still Nov 25.
    days_utc, tags_utc, counts_utc = weekly_heatmap(clock, "UTC", days=1, top=2)
    assert days_utc == [date(2026, 11, 25)]
    assert tags_utc == ["logistics_anomaly", "address_risk"]
    assert counts_utc == {("logistics_anomaly", date(2026, 11, 25)): 2, ("address_risk", date(2026, 11, 25)): 1}
