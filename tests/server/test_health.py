"""Order health on a seeded history: planted incidents are flagged and explained by the right slice,
silences stop alerts but not readings, an alert is sent once
until it recovers, thresholds flag besides 2σ, and the CLI speaks JSON and one-line errors."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.clock import FakeClock, iso, parse_iso
from app.i18n import Phrase
from app.stored_words import dump_words
from app.terms import Named
from server.db import ServerDb
from server.health import check
from server.health.evaluate import Reading, evaluate
from server.health.explain import EXPLANATION, explain
from server.health.indicators import BY_NAME, DIMENSION_NAMES
from server.health.seed import LISTING_ERROR, Seeded, generate
from server.health.state import HealthError, set_threshold, silence

END = datetime(2026, 12, 4, 12, tzinfo=UTC)
WH = "HZ-1"


def test_the_incidents_are_planted_in_a_busy_hour_whatever_the_time_of_seeding() -> None:
    """Seeded at night, the incidents' hour was a night hour whose few facts stayed within the noise: the
    demo showed no misreads when seeded between 02:00 and 07:00 UTC (a CLI test passed or failed by the
    time of day it ran). Whatever the hour of seeding, the incidents fall in the latest afternoon or
    evening hour (13:00–21:00 in the warehouse's UTC+8) at least 6 h back."""
    for hour in range(24):
        end = datetime(2026, 12, 5, hour, 7, tzinfo=UTC)
        out = Seeded()
        for _rows in generate(WH, 0, end, out):
            pass
        at = parse_iso(out.incidents["misreads"])
        assert set(out.incidents.values()) == {out.incidents["misreads"]}
        assert 13 <= (at + timedelta(hours=8)).hour <= 21 and timedelta(hours=6) <= end - at < timedelta(hours=30)


def _by_name(readings: list[Reading]) -> dict[str, Reading]:
    return {r.indicator.name: r for r in readings}


@pytest.mark.parametrize(("incident", "indicator", "dimension", "culprit"), [
    ("misreads", "scan_error_rate", "station", f"{WH}-BENCH-3"),
    ("pickup", "not_collected", "carrier", "ZTO"),
    ("refunds", "intercept_rate", "shop", "拼多多 家居店"),
])
def test_planted_incidents_are_flagged_and_explained(seeded: tuple[ServerDb, dict[str, str]], incident: str,
                                                    indicator: str, dimension: str, culprit: str) -> None:
    sdb, incidents = seeded
    reading = _by_name(evaluate(sdb, WH, parse_iso(incidents[incident])))[indicator]
    assert reading.flagged and reading.z is not None and reading.z > 2, reading
    why = explain(sdb, WH, reading)
    assert why is not None and (why.dimension, why.slice) == (dimension, culprit)
    assert why.share >= 0.5 and culprit in why.words.text("en") and culprit in why.words.text("zh_CN")


def test_an_alert_is_sent_once_until_it_recovers_and_silence_stops_it(seeded: tuple[ServerDb, dict[str, str]]
                                                                      ) -> None:
    sdb, incidents = seeded
    hour = parse_iso(incidents["misreads"])
    clock = FakeClock(hour + timedelta(hours=1, minutes=5))
    sent: list[str] = []
    notify = lambda alert: sent.append(alert.reading.indicator.name) or "sent"  # noqa: E731
    wh = WH
    _, first = check(sdb, clock, wh, hour=hour, notify=notify)
    assert "scan_error_rate" in sent and any(a.explanation and "BENCH-3" in a.explanation.words.plain() for a in first)
    before = len(sent)
    check(sdb, clock, wh, hour=hour, notify=notify)  # still flagged: no second alert
    assert len(sent) == before
    check(sdb, clock, wh, hour=hour - timedelta(days=1), notify=notify)  # a clean hour: recovered
    check(sdb, clock, wh, hour=hour, notify=notify)  # flagged again after recovering: alerts again
    assert sent.count("scan_error_rate") == 2
    check(sdb, clock, wh, hour=hour - timedelta(days=1), notify=notify)
    silence(sdb, clock, wh, 2, "双十二大促 campaign", "test", indicator="scan_error_rate")
    readings, alerts = check(sdb, clock, wh, hour=hour, notify=notify)
    assert sent.count("scan_error_rate") == 2 and not [a for a in alerts if a.reading.indicator.name ==
                                                      "scan_error_rate"]
    shown = _by_name(readings)["scan_error_rate"]
    assert shown.flagged and shown.silenced  # still computed and shown
    clock.advance(3 * 3600)  # the silence has ended
    _, alerts = check(sdb, clock, wh, hour=hour, notify=notify)
    assert sent.count("scan_error_rate") == 3
    with sdb.connection():
        audit = sdb.execute('SELECT "action", "target" FROM "server_audit" WHERE "action" = ?',
                            ("health.silence",)).fetchall()
    assert audit == [("health.silence", "scan_error_rate")]


def test_a_threshold_flags_besides_sigma_and_bad_input_is_refused(seeded: tuple[ServerDb, dict[str, str]]) -> None:
    sdb, incidents = seeded
    clean = parse_iso(incidents["misreads"]) - timedelta(days=2)
    clock = FakeClock(clean)
    set_threshold(sdb, clock, "HZ-T", "on_time_rate", "min", 1.01, "test")  # another warehouse: no effect
    set_threshold(sdb, clock, WH, "reprint_rate", "max", -1.0, "test")  # every hour breaks it
    readings, _ = check(sdb, clock, WH, hour=clean)
    reprint = _by_name(readings)["reprint_rate"]
    assert reprint.flagged and reprint.why.startswith("threshold max")
    set_threshold(sdb, clock, WH, "reprint_rate", "max", 1.0, "test")
    with pytest.raises(HealthError, match="unknown indicator"):
        set_threshold(sdb, clock, WH, "no_such", "max", 1, "test")
    with pytest.raises(HealthError, match="--hours"):
        silence(sdb, clock, WH, 0, "x", "test")
    with pytest.raises(HealthError, match="--reason"):
        silence(sdb, clock, WH, 1, "  ", "test")


def test_the_cli_prints_json_with_the_fields_and_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    monkeypatch.delenv("DATABASE_URL", raising=False)  # the server's own SQLite file in its data dir
    data_dir = str(tmp_path / "server")
    assert main(["server", "demo", "seed", "--warehouse", "WH-CLI", "--days", "15", "--data-dir", data_dir]) == 0
    seeded = capsys.readouterr().out
    assert "orders" in seeded
    misreads = re.search(r"misreads (\S+Z)", seeded)
    assert misreads is not None
    # No alert channels: the alerts are raised (once until they recover) and the CLI says they reach no one.
    assert main(["server", "health", "--warehouse", "WH-CLI", "--hour", misreads.group(1), "--notify",
                 "--data-dir", data_dir]) == 0
    said = capsys.readouterr()
    assert "new alert: scan_error_rate" in said.out and "sent" not in said.out
    assert "no [[alert_channels]] in server.toml: the alerts reach no one" in said.err
    # The hour in the warehouse's zone (the default Asia/Shanghai) and each flagged reading explained under it.
    at = parse_iso(misreads.group(1))
    assert f"hour {at + timedelta(hours=8):%Y-%m-%d %H:%M}–" in said.out and f"Asia/Shanghai ({iso(at)})" in said.out
    lines = said.out.splitlines()
    flagged = lines.index(next(line for line in lines if line.startswith("FLAGGED  scan_error_rate:")))
    assert re.fullmatch(r" +↳ \d+% of the excess scan error rate comes from station WH-CLI-BENCH-3 "
                        r"\(\d\d:00–\d\d:00 Asia/Shanghai\)", lines[flagged + 1])
    assert main(["server", "health", "--warehouse", "WH-CLI", "--hour", misreads.group(1), "--json",
                 "--data-dir", data_dir]) == 0
    explained = {r["name"]: r["explanation"] for r in json.loads(capsys.readouterr().out)}
    assert explained["scan_error_rate"]["dimension"] == "station" and explained["orders_in"] is None
    assert explained["scan_error_rate"]["slice"] == "WH-CLI-BENCH-3" and explained["scan_error_rate"]["share"] > 0.5
    assert explained["intercept_rate"]["dimension"] == "shop" and explained["not_collected"]["slice"] == "ZTO"
    # the refunds are all of one listing: named beside the shop, for a program too
    assert explained["intercept_rate"]["also"] == {"dimension": "sku", "slice": LISTING_ERROR[0]}
    # An hour before the history: no packer signed any scan, and the slice is named so, not left blank.
    before = ["--hour", iso(at - timedelta(days=40)), "--by", "packer", "--data-dir", data_dir]
    assert main(["server", "health", "--warehouse", "WH-CLI", *before]) == 0
    by_packer = capsys.readouterr().out
    assert "[packer=(none)]" in by_packer and "[packer=]" not in by_packer
    assert main(["server", "health", "--warehouse", "WH-CLI", "--json", "--data-dir", data_dir]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name", "value", "baseline", "sigma", "z", "flagged", "silenced", "url"} <= set(rows[0])
    assert {r["name"] for r in rows} >= {"orders_in", "scan_error_rate", "paid_to_packed_p90", "not_collected"}
    assert all("/console/health?warehouse=WH-CLI" in r["url"] for r in rows)
    assert main(["server", "health", "silence", "--warehouse", "WH-CLI", "--hours", "2", "--reason",
                 "new campaign 新品首发", "--data-dir", data_dir]) == 0
    assert "until" in capsys.readouterr().out
    assert main(["server", "health", "--warehouse", "WH-CLI", "--json", "--data-dir", data_dir]) == 0
    assert all(r["silenced"] for r in json.loads(capsys.readouterr().out))
    assert main(["server", "health", "--warehouse", "WH-CLI", "--hour", "yesterday", "--data-dir", data_dir]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--hour must be an ISO time" in err
    assert main(["server", "health", "--warehouse", "WH-CLI", "--weeks", "0", "--data-dir", data_dir]) == 2
    assert "--weeks must be 1 to 26" in capsys.readouterr().err
    # A mistyped warehouse is refused, not silenced, thresholded, evaluated or reported as if empty.
    for command in (["health", "silence", "--hours", "2", "--reason", "双十二"],
                    ["health", "threshold", "--indicator", "scan_error_rate", "--max", "0.05"], ["health"],
                    ["report", "weekly", "-o", str(tmp_path / "w.pdf")]):
        assert main(["server", *command, "--warehouse", "WHCLI", "--data-dir", data_dir]) == 2, command
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "unknown warehouse 'WHCLI'" in err and "(known: WH-CLI)" in err
    assert not (tmp_path / "w.pdf").exists()
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")  # the CLI's language: the environment's, as gettext reads it
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["server", "health", "--warehouse", "WH-CLI", "--weeks", "0", "--data-dir", data_dir]) == 2
    assert "--weeks 须为 1 到 26，而不是 0" in capsys.readouterr().err
    assert main(["server", "health", "--warehouse", "WH-CLI", "--data-dir", data_dir]) == 0
    said = capsys.readouterr().out
    assert "WH-CLI 的订单健康" in said and "基线" in said and "baseline" not in said
    assert main(["server", "health", "--warehouse", "WH-CLI", *before]) == 0
    assert "[packer=（无）]" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["server", "health", "--help"])
    assert "要评估的仓库" in capsys.readouterr().out


def test_new_anomalies_reach_a_signed_dingtalk_robot_once(seeded: tuple[ServerDb, dict[str, str]],
                                                          tmp_path: Path) -> None:
    from robot_fakes import robot

    from server.alerts.channels import AlertChannel
    from server.alerts.store import deliver_due, subject_in
    from server.config import ServerConfig
    from server.health.notify import channel_notifier

    sdb, incidents = seeded
    hour = parse_iso(incidents["refunds"])
    wh = "HZ-1"
    with robot("dingtalk", "SECdemo") as ding:
        config = ServerConfig(tmp_path, public_url="https://pb.example.com", timezone="Asia/Shanghai",
                              alert_channels=(AlertChannel("owners", "dingtalk", ding.url, "SECdemo",
                                                           at_mobiles=("13800000001", "13900000002")),))
        clock = FakeClock(hour + timedelta(hours=2))
        notify = channel_notifier(sdb, config, clock, wh)
        with sdb.connection(), sdb.write():  # a clean slate for this warehouse's alert episodes
            sdb.execute('DELETE FROM "health_alert" WHERE "warehouse" = ?', (wh,))
            sdb.execute('DELETE FROM "health_silence" WHERE "warehouse" = ?', (wh,))
        _, alerts = check(sdb, clock, wh, hour=hour, notify=notify, zone=config.zone)
        assert {a.reading.indicator.name for a in alerts} >= {"intercept_rate", "scan_error_rate"}
        sent, failed = deliver_due(sdb, clock, config.alert_channels)
        assert (sent, failed) == (len(alerts), 0)
        texts = [json.dumps(r.json, ensure_ascii=False) for r in ding.received]
        refund = next(t for t in texts if "打包后拦截/退款率" in t)
        assert "拼多多 家居店" in refund and "https://pb.example.com/console/health?warehouse=HZ-1" in refund
        # Chinese then English, each from the catalog: the anomaly and the slice that explains it.
        assert "【订单健康】HZ-1 打包后拦截/退款率 异常" in refund and "来自店铺 拼多多 家居店" in refund
        assert "Order health of HZ-1: intercept / refund after pack is" in refund
        assert "comes from shop 拼多多 家居店" in refund
        # The incident hour is 06:00 UTC: in both languages the warehouse's 14:00–15:00, as its health page;
        # the refunds are all of one mispriced listing, which the explanation names with the shop.
        assert hour.hour == 6 and "拼多多 家居店、货号 HOME-MASK-02（14:00–15:00）" in refund
        assert "拼多多 家居店, SKU HOME-MASK-02 (14:00–15:00)" in refund
        assert "时段 2026-12-04 14:00 Asia/Shanghai 起" in refund
        assert "06:00–07:00" not in refund and "UTC" not in refund
        with sdb.connection():
            kept = sdb.execute('SELECT "subject", "data" FROM "alert" WHERE "key" LIKE ?',
                               (f"health|{wh}|intercept_rate||%",)).fetchone()
        assert kept[0] == "HZ-1 打包后拦截/退款率 异常 / HZ-1 intercept / refund after pack anomaly"
        assert subject_in(kept[0], kept[1], "zh_CN") == "HZ-1 打包后拦截/退款率 异常"  # the Alerts page's words
        with sdb.connection():
            record = sdb.execute('SELECT "explanation" FROM "health_alert" WHERE "warehouse" = ? AND "indicator" = ?',
                                 (wh, "intercept_rate")).fetchone()[0]
        # the record names its zone
        assert record.endswith("comes from shop 拼多多 家居店, SKU HOME-MASK-02 (14:00–15:00 Asia/Shanghai)")
        assert all(r.json["at"]["atMobiles"] == ["13800000001", "13900000002"] for r in ding.received)
        check(sdb, clock, wh, hour=hour, notify=notify)  # the same anomalies: nothing new to send
        assert deliver_due(sdb, clock, config.alert_channels) == (0, 0) and len(ding.received) == sent


def test_the_weekly_report_is_a_pdf_with_cjk_text_vector_charts_and_the_anomalies(
        seeded: tuple[ServerDb, dict[str, str]], tmp_path: Path) -> None:
    from pypdf import PdfReader

    from app.documents.words import document_words
    from server.health.report import period, write_report

    sdb, incidents = seeded
    zone = ZoneInfo("Asia/Shanghai")
    incident_day = parse_iso(incidents["refunds"]).astimezone(zone).date()
    span = period("weekly", None, incident_day + timedelta(days=7))  # the week holding the incidents
    assert span.first <= incident_day <= span.last and span.label.startswith("2026-W")
    hour = parse_iso(incidents["refunds"])
    check(sdb, FakeClock(hour + timedelta(hours=1)), WH, hour=hour, notify=lambda alert: "sent")
    out = tmp_path / "weekly.pdf"
    pages = write_report(sdb, WH, span, out, zone)
    reader = PdfReader(out)
    text = "".join(page.extract_text() for page in reader.pages)
    assert pages == len(reader.pages) >= 2
    assert "订单健康周报" in text and "扫描错误率" in text and "Anomalies" in text and "承运商时效" in text
    fonts = {str(f.get("/BaseFont", "")) for page in reader.pages
             for f in (page["/Resources"].get("/Font") or {}).values() for f in [f.get_object()]}
    assert any("PackBenchCJK" in f or "WenQuanYi" in f for f in fonts)  # the CJK font, embedded
    assert not any("/XObject" in page["/Resources"] for page in reader.pages)  # vector charts, no images
    chinese = tmp_path / "weekly-zh.pdf"
    write_report(sdb, WH, span, chinese, zone, document_words("zh_CN"))  # one language: no English words of its own
    zh = "".join(page.extract_text() for page in PdfReader(chinese).pages)
    for english in ("Order health", "Anomalies", "Each day against", "exception tags", "Delivery time", "Week",
                    "Parcels", "on-time rate ·", "of the excess", "comes from", "station"):
        assert english not in zh, english
    assert "订单健康周报" in zh and "每周异常单标签前五" in zh and "件数" in zh
    # The alerts' explanations, worded from the words the evaluation kept: Chinese in a Chinese report,
    # both in the bilingual one.
    zh_lines, both_lines = " ".join(zh.split()), " ".join(text.split())  # lines wrap anywhere
    assert "扫描错误率超出部分的" in zh_lines and "来自工位 HZ-1-BENCH-3" in zh_lines
    assert "来自店铺 拼多多 家居店" in zh_lines
    assert "扫描错误率超出部分的" in both_lines and "of the excess scan error rate comes from station" in both_lines
    # The incidents' 06:00 UTC is the report's (the warehouse's) 14:00, in the explanation and the alert's line.
    assert "来自工位 HZ-1-BENCH-3（14:00–15:00）" in zh_lines and "2026-12-04 14:00 ·" in zh_lines
    assert "UTC" not in zh and "06:00" not in zh
    with pytest.raises(HealthError, match="2026-W49"):
        period("weekly", "last week", incident_day)
    for kind, text in (("monthly", "0001-01"), ("weekly", "0001-W01"), ("monthly", "9999-12")):
        with pytest.raises(HealthError, match="--period"):  # no baseline weeks before, or no month after
            period(kind, text, incident_day)
    assert period("monthly", "2026-11", incident_day).last.day == 30


def _overlapping_text(path: Path) -> list[tuple[str, str]]:
    """Pairs of text runs drawn on the same line of a page where the first runs into the second (a table
    cell's text over its neighbour's), measured in the report's font."""
    from pypdf import PdfReader
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from app.documents.fonts import register_cjk_font

    font = register_cjk_font()
    clashes = []
    for page in PdfReader(path).pages:
        runs: list[tuple[float, float, float, str]] = []

        def seen(text: str, cm: list[float], tm: list[float], _font: object, size: float,
                 runs: list[tuple[float, float, float, str]] = runs) -> None:
            if text.strip():
                x = cm[4] + tm[4] * cm[0]
                runs.append((round(cm[5] + tm[5] * cm[3], 1), x, x + stringWidth(text.strip(), font, size * cm[0]),
                             text.strip()))

        page.extract_text(visitor_text=seen)
        for y, x0, x1, text in runs:
            clashes += [(text, other) for oy, ox0, _ox1, other in runs if oy == y and x0 < ox0 < x1 - 1]
    return clashes


def test_the_report_judges_days_over_wraps_long_names_shows_a_tag_heat_map_and_reconciles(
        seeded: tuple[ServerDb, dict[str, str]], tmp_path: Path) -> None:
    from pypdf import PdfReader

    from server.health.report import daily, period, write_report

    sdb, incidents = seeded
    zone = ZoneInfo("Asia/Shanghai")
    span = period("weekly", None, parse_iso(incidents["pickup"]).astimezone(zone).date() + timedelta(days=7))
    # The history ends at END (12-04 20:00 in Shanghai): 12-04 is not over, 12-05 and 12-06 have not begun.
    # Parcels not collected are counted at a day's end, so a day to come counted the stalled ZTO parcels
    # and was flagged; judged at END, a day not over has no value and is not judged.
    as_of = daily(sdb, WH, BY_NAME["not_collected"], span.days, zone, until=END)
    hindsight = daily(sdb, WH, BY_NAME["not_collected"], span.days, zone)
    for now, later in zip(as_of, hindsight, strict=True):
        if now.hour + timedelta(days=1) <= END:
            assert (now.value, now.baseline, now.flagged) == (later.value, later.baseline, later.flagged)
        else:
            assert now.value is None and not now.flagged, now
    out, whole = tmp_path / "as-of.pdf", tmp_path / "whole.pdf"
    write_report(sdb, WH, span, out, zone, until=END)
    write_report(sdb, WH, span, whole, zone)  # every day judged: the flagged days' long names in the table
    as_of_text = "".join(page.extract_text() for page in PdfReader(out).pages)
    whole_text = "".join(page.extract_text() for page in PdfReader(whole).pages)
    assert "2026-12-05" in whole_text and "2026-12-05" not in as_of_text
    # "handed over, not collected (6–48 h)" in both languages ran over the value beside it.
    assert "handed over, not collected" in whole_text and _overlapping_text(whole) == []
    # The top five tags per week as a heat map: the weeks as columns, a row per tag, cells shaded by count.
    tags = whole_text[whole_text.index("Top-5 exception tags per week"):]
    assert "2026-W47\n2026-W48\n2026-W49\n重量不符/Weight mismatch\n" in tags
    assert "装箱不符/Pack mismatch" in tags and "地址风险/Address risk" in tags
    shaded = sum(page.get_contents().get_data().count(b".86 .2 .15 rg") for page in PdfReader(whole).pages)
    assert shaded >= 6, shaded
    # The period's reconciliation per shop: the console's rows of its days, summed, with their shares.
    from server.console.reconcile import rows

    shop = "茶具旗舰店"
    days = [r for r in rows(sdb, WH, span.first, span.last, zone) if r.shop == shop]
    orders, handed = sum(r.orders for r in days), sum(r.handed_over for r in days)
    not_accepted = sum(r.lists.get("handed_over_not_accepted", 0) for r in days)
    assert not_accepted > 0
    reconciled = whole_text[whole_text.index("Reconciliation"):whole_text.index("Delivery time by carrier")]
    assert f"{shop}\n{orders}\n" in reconciled and f"{not_accepted} ({100 * not_accepted / handed:.1f}%)" in reconciled


def test_the_reports_flagged_days_name_the_slice_their_excess_comes_from(
        seeded: tuple[ServerDb, dict[str, str]], tmp_path: Path) -> None:
    """A day beyond 2σ is explained as an hour is: the day ZTO stopped collecting, by the carrier —
    each slice of the day against the same weekday of the weeks before."""
    from pypdf import PdfReader

    from app.documents.words import BILINGUAL_WORDS
    from server.health.report import daily, day_explanation, period, write_report

    sdb, incidents = seeded
    zone = ZoneInfo("Asia/Shanghai")
    day = parse_iso(incidents["pickup"]).astimezone(zone).date()
    span = period("weekly", None, day + timedelta(days=7))  # the last week over then: the incidents' week
    flagged = {r.hour.astimezone(zone).date(): r for r in daily(sdb, WH, BY_NAME["not_collected"], span.days, zone)
               if r.flagged}
    assert day in flagged, sorted(flagged)
    pickup = day_explanation(sdb, WH, flagged[day], zone)
    assert pickup is not None and (pickup.dimension, pickup.slice) == ("carrier", "ZTO") and pickup.share > 0.5
    out = tmp_path / "week.pdf"
    write_report(sdb, WH, span, out, zone)
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    # a cell wraps its words: compared without the spaces and line ends wrapping takes or leaves
    anomalies = re.sub(r"\s", "", text[text.index("Anomalies"):text.index("Top-5 exception tags per week")])
    assert "原因说明Explanation" in anomalies
    assert re.sub(r"\s", "", BILINGUAL_WORDS(pickup.words, sep="/")) in anomalies
    assert f"来自快递公司ZTO（{day.isoformat()}）" in anomalies


def test_an_alert_opened_before_its_words_were_kept_is_reported_as_recorded(
        seeded: tuple[ServerDb, dict[str, str]], tmp_path: Path) -> None:
    from pypdf import PdfReader

    from app.documents.words import document_words
    from server.health.report import period, write_report

    sdb, incidents = seeded
    zone = ZoneInfo("Asia/Shanghai")
    hour = parse_iso(incidents["refunds"]) - timedelta(hours=3)
    # Words kept while the hour was written in UTC: that text, which says its zone, is shown as it is.
    utc_words = dump_words(Phrase(EXPLANATION, {"share": "70%", "indicator": BY_NAME["reprint_rate"].named,
                                                "dimension": Named("carrier", DIMENSION_NAMES["carrier"]),
                                                "slice": "YTO", "hour": "03:00–04:00 UTC"}))
    with sdb.connection(), sdb.write():  # as migration 15 leaves an older alert: its English, no words
        sdb.execute('INSERT INTO "health_alert" ("warehouse", "indicator", "slice", "hour", "explanation", '
                    '"opened_at", "recovered_at") VALUES (?, ?, ?, ?, ?, ?, ?)',
                    ("HZ-OLD", "void_rate", "", iso(hour), "61% of the excess void rate comes from carrier SF",
                     iso(hour), iso(hour)))
        sdb.execute('INSERT INTO "health_alert" ("warehouse", "indicator", "slice", "hour", "explanation", '
                    '"explanation_words", "opened_at", "recovered_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                    ("HZ-OLD", "reprint_rate", "", iso(hour), "", json.dumps(utc_words), iso(hour), iso(hour)))
    out = tmp_path / "old.pdf"
    write_report(sdb, "HZ-OLD", period("weekly", None, hour.astimezone(zone).date() + timedelta(days=7)), out, zone,
                 document_words("zh_CN"))
    text = " ".join("".join(page.extract_text() for page in PdfReader(out).pages).split())
    assert "作废率" in text and "61% of the excess void rate" in text
    assert "重打率超出部分的 70% 来自快递公司 YTO（03:00–04:00 UTC）" in text


def test_z_far_beyond_the_baseline_is_shown_capped_and_json_keeps_the_number(
        seeded: tuple[ServerDb, dict[str, str]]) -> None:
    sdb, incidents = seeded
    # A carrier that stops collecting against a history of none: σ is floored at about one parcel, so z is
    # the parcels left (82 here: z ≈ 69; thousands at a large warehouse), a number that means only "far off".
    reading = _by_name(evaluate(sdb, WH, parse_iso(incidents["pickup"])))["not_collected"]
    assert reading.flagged and reading.z is not None and reading.z > 10, reading
    assert (reading.z_text("en"), reading.z_text("zh_CN")) == ("> 10σ", "＞10σ")
    assert reading.as_json("https://pb.example.com", WH)["z"] == round(reading.z, 4)  # JSON consumers: the number
    ordinary = replace(reading, z=2.345)
    assert ordinary.z_text("zh_CN") == "+2.3" and replace(reading, z=-10.5).z_text("zh_CN") == "＜−10σ"


def test_a_tag_leading_three_weeks_running_is_found_anywhere_and_through_ties() -> None:
    """The report's note: a run of three weeks or more that one tag led, wherever it is in the weeks shown
    (a month shows five), a tie for first not breaking it; the longest run is named with its weeks."""
    from server.health.report import Streak, leading_streak

    def weeks(*leaders: list[tuple[str, int]]) -> list[tuple[str, list[tuple[str, int]]]]:
        return [(f"2026-W{44 + n}", top) for n, top in enumerate(leaders)]

    weight, pack, address = "weight_mismatch", "pack_mismatch", "address_risk"
    seen = weeks([(address, 1)], [(weight, 9), (pack, 6)], [(weight, 7), (pack, 5)], [(weight, 7), (pack, 4)],
                 [(weight, 4), (address, 4)], [(pack, 1), (weight, 1)])
    assert leading_streak(seen) == Streak(weight, "2026-W45", "2026-W49", 5)  # tied in W48 and W49, still led
    assert leading_streak(weeks([(weight, 3)], [(weight, 2)], [(pack, 5)], [(pack, 4)], [])) is None
    assert leading_streak(weeks([(pack, 3)], [(weight, 5)], [(weight, 4)], [(weight, 2)], [(pack, 9)])) == Streak(
        weight, "2026-W45", "2026-W47", 3)  # in the middle of the month, not its last three weeks
    assert leading_streak(weeks([(weight, 3)], [], [(weight, 3)], [(weight, 3)])) is None  # a week with none breaks it
