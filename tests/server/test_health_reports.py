"""Order-health reports on schedule: written once after their week or month ends, by the one worker
holding the schedule's lease, kept as files with their SHA-256, sent to the `report_channels` only
(e-mail with the PDF attached, DingTalk with the console link), listed and downloaded in the console
within the user's warehouses, audited. Time is a fake clock; the channels are local fakes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from console_harness import browser, close_browsers, log_in, make_user
from robot_fakes import MailFake, RobotFake, robot, smtp
from server_harness import Running

from app.clock import FakeClock
from server.alerts.schedule import Scheduler
from server.config import ServerConfigError, load_server_config
from server.health.published import listed, publish, report_path
from server.health.report import period
from server.health.seed import seed_history
from server.models import ServerAudit

__all__ = ["close_browsers"]
SECRET = "SECreport0123"
WEDNESDAY = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


@pytest.fixture
def fakes() -> Iterator[tuple[RobotFake, RobotFake, MailFake]]:
    with robot("dingtalk", SECRET) as ding, robot("webhook") as hook, smtp() as mail:
        yield ding, hook, mail


def _config(tmp_path: Path, server: Running, fakes: tuple[RobotFake, RobotFake, MailFake], channels: str) -> object:
    ding, hook, mail = fakes
    (tmp_path / "server.toml").write_text(f"""public_url = "https://pack.example.com"
report_channels = {channels}

[[alert_channels]]
name = "ops"
kind = "dingtalk"
url = "{ding.url}"
secret = "{SECRET}"

[[alert_channels]]
name = "mail"
kind = "email"
url = "{mail.url}"
to = ["boss@example.com"]

[[alert_channels]]
name = "bi"
kind = "webhook"
url = "{hook.url}"
""", encoding="utf-8")
    return load_server_config(tmp_path, env={"DATABASE_URL": server.services.config.database})


def test_reports_are_written_once_per_period_by_one_worker_and_reach_only_the_report_channels(
        server: Running, tmp_path: Path, fakes: tuple[RobotFake, RobotFake, MailFake]) -> None:
    ding, hook, mail = fakes
    sdb = server.services.sdb
    seed_history(sdb, "WH1", 40, WEDNESDAY, orders_per_hour=6, incidents=())
    config = _config(tmp_path, server, fakes, '["ops", "mail"]')
    clock = FakeClock(WEDNESDAY)
    workers = [Scheduler(sdb, config, clock), Scheduler(sdb, config, clock)]  # type: ignore[arg-type]
    assert [w.run_due() for w in workers] == [True, False]  # the lease: one of them runs the job
    reports = listed(sdb, "WH1")
    assert sorted((r.kind, r.period, r.first_day, r.last_day) for r in reports) == [
        ("monthly", "2026-11", "2026-11-01", "2026-11-30"), ("weekly", "2026-W48", "2026-11-23", "2026-11-29")]
    for r in reports:
        data = report_path(config, r.file).read_bytes()  # type: ignore[arg-type]
        assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == r.sha256 and r.sent_to == "ops, mail"
    workers[1].tick()  # deliveries go out from any worker's loop
    mails = [m for m in mail.messages if "report" in str(m["Subject"])]
    assert len(mails) == 2
    for message in mails:
        (pdf,) = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
        digest = hashlib.sha256(pdf.get_payload(decode=True)).hexdigest()
        assert digest in {r.sha256 for r in reports} and pdf.get_filename().endswith(".pdf")
    posts = [r.json["markdown"]["text"] for r in ding.received if "report" in r.json["markdown"]["title"]]
    assert len(posts) == 2 and all("https://pack.example.com/console/health/reports/" in p for p in posts)
    assert not [r for r in hook.received if r.json.get("source") == "report"]  # not a report channel
    clock.advance(hours=3)  # the next runs of the same week write nothing more
    assert workers[0].run_due() and len(listed(sdb, "WH1")) == 2
    clock.advance(hours=(datetime(2026, 12, 6, 16, 30, tzinfo=UTC) - clock.now()).total_seconds() / 3600)
    # Monday 00:30 in Asia/Shanghai: week 49 has ended
    assert workers[1].run_due()
    newest = listed(sdb, "WH1")
    assert len(newest) == 3 and (newest[0].kind, newest[0].period) == ("weekly", "2026-W49")


def test_report_channels_must_name_alert_channels(server: Running, tmp_path: Path,
                                                  fakes: tuple[RobotFake, RobotFake, MailFake]) -> None:
    with pytest.raises(ServerConfigError, match=r'report_channels must name \[\[alert_channels\]\] tables, not "x"'):
        _config(tmp_path, server, fakes, '["ops", "x"]')
    with pytest.raises(ServerConfigError, match="report_channels"):
        _config(tmp_path, server, fakes, '"ops"')
    assert _config(tmp_path, server, fakes, "[]").report_targets == ()  # type: ignore[attr-defined]


def test_the_health_page_lists_the_reports_and_serves_them_within_the_warehouse(server: Running) -> None:
    sdb, config = server.services.sdb, server.services.config
    seed_history(sdb, "WH1", 20, WEDNESDAY, orders_per_hour=4, incidents=())
    made = publish(sdb, config, FakeClock(WEDNESDAY), "WH1", period("weekly", "2026-W48", date(2026, 12, 2)))
    make_user(server, "li.na", warehouses=("WH1",))
    make_user(server, "other", warehouses=("WH2",))
    client = log_in(server, "li.na")
    page = client.get("/console/health", params={"warehouse": "WH1"}).text
    assert f"/console/health/reports/{made.id}" in page and "2026-W48" in page and "2026-11-23" in page
    reply = client.get(f"/console/health/reports/{made.id}")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(reply.content).hexdigest() == made.sha256
    assert 'filename="health-weekly-2026-W48.pdf"' in reply.headers["content-disposition"]
    assert log_in(server, "other").get(f"/console/health/reports/{made.id}").status_code == 404
    assert client.get(f"/console/health/reports/{made.id + 1}").status_code == 404
    assert browser(server).get(f"/console/health/reports/{made.id}", follow_redirects=False).status_code == 303
    with sdb.connection():
        logged = [(a.actor, a.action, a.target) for a in ServerAudit.select().where(
            ServerAudit.action == "report.download")]
    assert logged == [("li.na", "report.download", "weekly 2026-W48")]
    report_path(config, made.file).write_bytes(b"%PDF-1.4 altered")
    assert client.get(f"/console/health/reports/{made.id}").status_code == 404  # no longer what was written
    zh = client.get("/console/health", params={"warehouse": "WH1"}, headers={"Accept-Language": "zh-CN"}).text
    assert "周报 2026-W48" in zh
