"""`packbench server report weekly|monthly --warehouse W [--period …] -o FILE.pdf`: order health on paper.

A4, CJK font embedded, charts drawn as vector graphics (reportlab's own lines and polygons, no
images). For each indicator: its daily value over the period against the baseline of the same
weekday over the four weeks before (median ± MAD-based σ, as the hourly evaluation), as a chart and a
line of figures; the days beyond 2σ in the bad direction are listed, each with the slice its excess
comes from (`day_explanation`), and the hourly anomalies the server alerted in the period with their
explanations; then the top five exception tags per week as a heat map (a row per tag, a column per
week), with a note when one tag leads three weeks running, a reconciliation summary by shop, and
delivery time by carrier. A report of a period not over yet (the CLI's current week) judges only its
days that are over.

Its words come from the catalog (docs/i18n.md, app.documents.words): a scheduled report is written
once for everyone who reads it, in both languages, Chinese first, like the evidence pack; the
indicators and a case tag are shown by their names. An alert's explanation is worded from the words
the evaluation kept (`health_alert.explanation_words`), its hour in the report's zone like every date
and hour of the report; an alert opened before they were kept shows the English it recorded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.clock import iso, parse_iso
from app.documents.words import BILINGUAL_WORDS, DocumentWords
from app.i18n import N_, Phrase
from app.stored_words import load_words
from app.terms import CASE_TAGS
from server.db import ServerDb
from server.health.evaluate import Measure, Reading, Rows, judge, measure
from server.health.explain import Explanation, explain_slices, local_hours
from server.health.indicators import BY_NAME, INDICATORS, Indicator, what
from server.health.state import HealthError

if TYPE_CHECKING:
    from server.console.reconcile import Row

BASELINE_WEEKS = 4




@dataclass(frozen=True)
class Period:
    kind: str  # weekly | monthly
    first: date
    last: date  # inclusive

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}"


def period(kind: str, text: str | None, today: date) -> Period:
    """`weekly` 2026-W49 / `monthly` 2026-11; default the last complete week or month before `today`."""
    try:
        if kind == "weekly":
            if text:
                iso_year, iso_week = text.upper().split("-W")
                first = date.fromisocalendar(int(iso_year), int(iso_week), 1)
            else:
                first = today - timedelta(days=today.weekday() + 7)
            made = Period(kind, first, first + timedelta(days=6))
        else:
            if text:
                year, month = (int(part) for part in text.split("-"))
                first = date(year, month, 1)
            else:
                first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            made = Period(kind, first, following - timedelta(days=1))
        # The report reads the baseline weeks and two weeks of tags before the period: year 1 has none.
        _ = made.first - timedelta(weeks=BASELINE_WEEKS + 3)
        return made
    except (ValueError, OverflowError):
        pass
    example = "2026-W49" if kind == "weekly" else "2026-11"
    raise HealthError(N_("--period for a {kind} report looks like {example}, not {text!r}"), kind=kind,
                      example=example, text=text)


def _day_window(day: date, zone: ZoneInfo) -> tuple[str, str]:
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    return iso(start), iso(start + timedelta(days=1))


def daily(sdb: ServerDb, warehouse: str, indicator: Indicator, days: list[date], zone: ZoneInfo,
          until: datetime | None = None) -> list[Reading]:
    """Each day's value against the same weekday of the previous four weeks. A day not over at `until`
    (a report of the current week or month) has no value and is not judged: its facts are still coming
    (a morning's orders are not a day's), and an indicator judged at the window's end, such as parcels
    not collected, would count a day that has not happened yet."""
    spans: list[tuple[str, str]] = []
    for day in days:
        spans += [_day_window(day - timedelta(weeks=k), zone) for k in range(BASELINE_WEEKS + 1)]
    with sdb.connection():
        measured = measure(sdb, indicator, warehouse, spans, None)
    step = BASELINE_WEEKS + 1
    out = []
    for n, day in enumerate(days):
        over = until is None or parse_iso(_day_window(day, zone)[1]) <= until
        now = measured.get((n * step, ""), Measure(None, 0)) if over else Measure(None, 0)
        history = [measured.get((n * step + k, ""), Measure(None, 0)) for k in range(1, step)]
        start = datetime.combine(day, time(0), zone).astimezone(UTC)
        out.append(judge(_per_day(indicator), now, history, hour=start))
    return out


def _per_day(indicator: Indicator) -> Indicator:
    """The indicator judged by the day: a count's minimum volume is per hour, and a day holds about
    twenty working hours of it."""
    return indicator if indicator.kind != "count" else replace(indicator, min_volume=indicator.min_volume * 20)


def day_explanation(sdb: ServerDb, warehouse: str, reading: Reading, zone: ZoneInfo) -> Explanation | None:
    """Where a flagged day's excess comes from: the day by each dimension the indicator is sliced by,
    each slice against the same weekday of the four weeks before (as `daily`), and `explain_slices`
    names the slice holding the largest share of it — worded with the day where an hour's explanation
    has its hour. By slices alone: a day's facts are too many to narrow by SKU and minutes, and the
    hours that narrow it are the alerts listed beside."""
    day = reading.hour.astimezone(zone).date()
    spans = [_day_window(day - timedelta(weeks=k), zone) for k in range(BASELINE_WEEKS + 1)]
    indicator = _per_day(reading.indicator)
    slices: dict[str, list[Reading]] = {}
    with sdb.connection():
        for dimension in indicator.slices:
            measured = measure(sdb, indicator, warehouse, spans, dimension)
            slices[dimension] = [
                judge(indicator, measured[(0, key)], [measured.get((k, key), Measure(None, 0))
                                                      for k in range(1, len(spans))],
                      dimension=dimension, slice_=key, hour=reading.hour)
                for key in sorted(key for n, key in measured if n == 0)]
    found = explain_slices(reading, slices)
    if found is None:
        return None
    return replace(found, words=Phrase(found.words.message, {**found.words.fields, "hour": day.isoformat()}))


def top_tags(sdb: ServerDb, warehouse: str, period_: Period, zone: ZoneInfo) -> list[tuple[str, list[tuple[str, int]]]]:
    """Per ISO week of the period (and the two before, to judge a tag leading three weeks running):
    the five most-opened exception tags."""
    first = period_.first - timedelta(days=period_.first.weekday() + 14)
    lo, _ = _day_window(first, zone)
    _, hi = _day_window(period_.last, zone)
    with sdb.connection():
        rows = sdb.execute('SELECT e."at", e."payload" FROM "station_event" e JOIN "station" s '
                           'ON s."station_id" = e."station_id" WHERE s."warehouse" = ? AND e."kind" = ? '
                           'AND e."at" >= ? AND e."at" < ?', (warehouse, "exception.opened", lo, hi)).fetchall()
    weeks: dict[str, Counter[str]] = {}
    for at, payload in rows:
        local = datetime.fromisoformat(str(at).replace("Z", "+00:00")).astimezone(zone).date()
        year, week, _ = local.isocalendar()
        try:
            tag = str(json.loads(payload).get("tag") or "?")
        except ValueError:
            tag = "?"
        weeks.setdefault(f"{year}-W{week:02d}", Counter())[tag] += 1
    return [(week, weeks[week].most_common(5)) for week in sorted(weeks)]


@dataclass(frozen=True)
class Streak:
    tag: str
    first: str  # ISO weeks, "2026-W45"
    last: str
    weeks: int


def leading_streak(tags: list[tuple[str, list[tuple[str, int]]]]) -> Streak | None:
    """The longest run of three or more weeks in a row that one tag led (the most opened that week, a
    tie included): anywhere in the weeks shown, not only the last three — a month's report shows four
    or five weeks, and a tie for first with another tag does not break a run."""
    best: Streak | None = None
    runs: dict[str, tuple[str, int]] = {}  # tag → (its run's first week, weeks so far)
    for week, top in tags:
        leaders = {tag for tag, count in top if count == top[0][1]} if top else set()
        runs = {tag: (runs[tag][0], runs[tag][1] + 1) if tag in runs else (week, 1) for tag in sorted(leaders)}
        for tag, (first, length) in runs.items():
            if length >= 3 and (best is None or length > best.weeks):
                best = Streak(tag, first, week, length)
    return best


@dataclass(frozen=True)
class Alerted:
    """An hourly anomaly the server alerted in the period."""

    hour: str
    indicator: str
    slice: str  # Reading.key
    explanation: str | Phrase  # its words; the English recorded, for an alert opened before they were kept


def alerted(sdb: ServerDb, warehouse: str, period_: Period, zone: ZoneInfo) -> list[Alerted]:
    lo, _ = _day_window(period_.first, zone)
    _, hi = _day_window(period_.last, zone)
    with sdb.connection():
        rows = sdb.execute('SELECT "hour", "indicator", "slice", "explanation", "explanation_words" FROM '
                           '"health_alert" WHERE "warehouse" = ? AND "hour" >= ? AND "hour" < ? ORDER BY "hour"',
                           (warehouse, lo, hi))
        return [Alerted(str(h), str(i), str(s), _kept_words(kept) or str(e)) for h, i, s, e, kept in rows.fetchall()]


def _kept_words(data: str | None) -> Phrase | None:
    try:
        return load_words(json.loads(data)) if data else None
    except ValueError:
        return None


TITLES = {"weekly": N_("Order health weekly report"), "monthly": N_("Order health monthly report")}
SUBJECT = N_("{warehouse} {report} {period}")  # the alert that announces a report


def write_report(sdb: ServerDb, warehouse: str, period_: Period, out: Path, zone: ZoneInfo,
                 words: DocumentWords = BILINGUAL_WORDS, until: datetime | None = None) -> int:
    """Write the PDF in `words`' language(s), judging the days over at `until` (default: every day of
    the period); returns its page count."""
    from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from app.documents.fonts import register_cjk_font

    font = register_cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    head = ParagraphStyle("head", fontName=font, fontSize=16, leading=20, spaceAfter=6)
    sub = ParagraphStyle("sub", fontName=font, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
    _ = words
    title = _(TITLES[period_.kind])
    method = _("Each day against the same weekday of the four weeks before: median ± 2σ (σ = 1.4826 × MAD).")
    story: list[object] = [Paragraph(f"{title} · {warehouse} · {period_.label}", head),
                           Paragraph(f"{period_.first.isoformat()} – {period_.last.isoformat()} ({zone.key}). "
                                     f"{method}", body)]
    flagged_days: list[tuple[str, str, str, str, str]] = []
    width, height = 170 * mm, 32 * mm
    for indicator in INDICATORS:
        series = daily(sdb, warehouse, indicator, period_.days, zone, until)
        values = [r.value for r in series]
        # The band where a day had facts and a baseline: (index, baseline, σ).
        judged = [(i, r.baseline, r.sigma) for i, r in enumerate(series)
                  if r.baseline is not None and r.sigma is not None and r.volume > 0]
        highs = [v for v in values if v is not None] + [b + 2 * s for _, b, s in judged]
        top = max(highs, default=1.0) or 1.0
        drawing = Drawing(width, height)
        step = width / max(len(series) - 1, 1)

        def y(value: float, top: float = top) -> float:
            return float(4 + (height - 8) * max(value, 0.0) / top)

        band_up = [(i * step, y(b + 2 * s)) for i, b, s in judged]
        band_down = [(i * step, y(b - 2 * s)) for i, b, s in judged]
        if band_up:
            points = [c for p in band_up + band_down[::-1] for c in p]
            drawing.add(Polygon(points, fillColor=colors.Color(0.12, 0.44, 0.92, 0.15), strokeColor=None))
        line = [c for i, v in enumerate(values) if v is not None for c in (i * step, y(v))]
        if len(line) >= 4:
            drawing.add(PolyLine(line, strokeColor=colors.HexColor("#1f6feb"), strokeWidth=1.2))
        drawing.add(Line(0, 4, width, 4, strokeColor=colors.HexColor("#cccccc"), strokeWidth=0.5))
        drawing.add(String(width - 2, height - 8, series[0].shown(top), fontName=font, fontSize=7,
                           textAnchor="end", fillColor=colors.grey))
        for i, r in enumerate(series):
            if r.flagged and r.value is not None:
                drawing.add(Polygon([i * step - 2, y(r.value) - 2, i * step + 2, y(r.value) - 2, i * step + 2,
                                     y(r.value) + 2, i * step - 2, y(r.value) + 2], fillColor=colors.red,
                                    strokeColor=None))
                lead = day_explanation(sdb, warehouse, r, zone)
                flagged_days.append((r.hour.astimezone(zone).date().isoformat(), _name(indicator, words),
                                     r.shown(r.value), r.shown(r.baseline),
                                     words(lead.words, sep=" / ") if lead else "—"))
        shown = ", ".join(f"{r.hour.astimezone(zone):%m-%d} {r.shown(r.value)}" for r in series)
        story += [Paragraph(_name(indicator, words, " · "), sub), drawing,
                  Paragraph(shown, body)]
    story.append(Paragraph(_("Anomalies", sep=" · "), sub))
    if flagged_days:
        # An indicator's name in both languages is longer than its column: a paragraph wraps it, a
        # plain cell ran over the value beside it.
        table = Table([[_("Day"), _("Indicator"), _("Value"), _("Baseline"), Paragraph(_("Explanation"), body)],
                       *[[day, Paragraph(name, body), value, baseline, Paragraph(why, body)]
                         for day, name, value, baseline, why in flagged_days]],
                      colWidths=[22 * mm, 48 * mm, 20 * mm, 20 * mm, 60 * mm])
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                                   ("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    else:
        story.append(Paragraph(_("No day beyond 2σ in this period."), body))
    for alert in alerted(sdb, warehouse, period_, zone):
        subject = words(what(BY_NAME[alert.indicator], alert.slice), sep=" / ") if alert.indicator in BY_NAME \
            else f"{alert.indicator} {alert.slice}"
        why = words(local_hours(alert.explanation, zone), sep=" / ") if isinstance(alert.explanation, Phrase) \
            else alert.explanation
        story.append(Paragraph(f"{parse_iso(alert.hour).astimezone(zone):%Y-%m-%d %H:%M} · {subject} — {why}", body))
    story.append(Paragraph(_("Top-5 exception tags per week", sep=" · "), sub))
    tags = top_tags(sdb, warehouse, period_, zone)
    story.append(heat_map(tags, lambda tag: _tag(tag, words), _("Tag"), font))
    streak = leading_streak(tags)
    if streak:
        story.append(Paragraph(_("Note: {tag} has led {weeks} weeks running ({first} – {last}).",
                                 tag=_tag(streak.tag, words), weeks=streak.weeks, first=streak.first,
                                 last=streak.last), body))
    story.append(Paragraph(_("Reconciliation", sep=" · "), sub))
    by_shop = reconciliation(sdb, warehouse, period_, zone)
    shops = [[row.shop, str(row.orders), *(_share(row.lists.get(name, 0), whole) for name, whole in (
        ("not_packed", row.shippable), ("packed_not_handed_over", row.packed),
        ("handed_over_not_accepted", row.handed_over)))] for row in by_shop if row.shop]
    head = [Paragraph(_(name), body) for name in ("Shop", "Orders", "Not packed", "Packed, not handed over",
                                                   "Handed over, not accepted")]  # two languages: wrapped
    table = Table([head, *shops] if shops else [[head[0], "—"]],
                  colWidths=[46 * mm, 20 * mm, 34 * mm, 36 * mm, 34 * mm])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    story.append(table)
    unknown = sum(row.lists.get("packed_not_on_platform", 0) for row in by_shop if not row.shop)
    if unknown:
        label = _("Packed but unknown to the platform")
        story.append(Paragraph(f"{label}: {unknown}", body))
    story.append(Paragraph(_("Delivery time by carrier (handed over → delivered, p50 / p90)", sep=" · "), sub))
    lo = _day_window(period_.first, zone)[0]
    hi = _day_window(period_.last, zone)[1]
    read: dict[str, Rows] = {}  # p50 and p90 are one query's facts
    with sdb.connection():
        p50, p90 = (measure(sdb, BY_NAME[name], warehouse, [(lo, hi)], "carrier", read)
                    for name in ("delivery_time_p50", "delivery_time_p90"))
    sla = [[key[1] or "?", _hours(p50[key].value), _hours(m.value), str(m.volume)]
           for key, m in sorted(p90.items())] or [["—", "—", "—", "0"]]
    table = Table([[_("Carrier"), "p50", "p90", _("Parcels")], *sla], colWidths=[40 * mm, 30 * mm, 30 * mm, 30 * mm])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    story += [table, Spacer(1, 4 * mm)]
    pages: list[int] = []
    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{title} {warehouse} {period_.label}")
    doc.build(story, onLaterPages=lambda canvas, d: pages.append(d.page),
              onFirstPage=lambda canvas, d: pages.append(d.page))
    return len(pages)


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def reconciliation(sdb: ServerDb, warehouse: str, period_: Period, zone: ZoneInfo) -> list[Row]:
    """The period's reconciliation per shop (the console's rows of its days, summed); the parcels the
    platform does not know are a row of shop ""."""
    from server.console.reconcile import Row, rows  # the console's package imports this module

    totals: dict[str, Row] = {}
    for row in rows(sdb, warehouse, period_.first, period_.last, zone):
        total = totals.setdefault(row.shop, Row(row.shop, period_.first))
        total.orders += row.orders
        total.shippable += row.shippable
        total.packed += row.packed
        total.handed_over += row.handed_over
        total.lists = dict(Counter(total.lists) + Counter(row.lists))
    return sorted(totals.values(), key=lambda row: row.shop)


def _share(part: int, whole: int) -> str:
    """A reconciliation count with its share of what it is a part of: '12 (1.3%)'."""
    return f"{part} ({100 * part / whole:.1f}%)" if whole else str(part)


def _ranked(tags: list[tuple[str, list[tuple[str, int]]]]) -> list[str]:
    """The tags that were in some week's top five, the most opened over the weeks first."""
    total: Counter[str] = Counter()
    for _week, top in tags:
        total.update(dict(top))
    return [tag for tag, _n in total.most_common()]


def heat_map(tags: list[tuple[str, list[tuple[str, int]]]], name: Callable[[str], str], corner: str,
             font: str) -> object:
    """The top five tags per week as a heat map: a row per tag (by `name`, the most opened first), a column
    per week, each cell its count on a shade of red as deep as its share of the busiest cell; a tag
    outside a week's top five is left blank that week. Cells are filled rectangles: vector."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    weeks = [week for week, _top in tags]
    counts = {(week, tag): n for week, top in tags for tag, n in top}
    most = max(counts.values(), default=1)
    ranked = _ranked(tags)
    rows = [[name(tag), *(str(counts.get((week, tag), "")) for week in weeks)] for tag in ranked]
    cell = min(25 * mm, 120 * mm / max(len(weeks), 1))
    table = Table([[corner, *weeks], *rows] if rows else [[corner, "—"]], colWidths=[50 * mm, *[cell] * len(weeks)])
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
             ("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("ALIGN", (1, 1), (-1, -1), "CENTER")]
    for r, tag in enumerate(ranked, start=1):
        for c, week in enumerate(weeks, start=1):
            n = counts.get((week, tag))
            if n:
                share = n / most
                style.append(("BACKGROUND", (c, r), (c, r), colors.Color(0.86, 0.2, 0.15, 0.1 + 0.8 * share)))
                if share > 0.6:
                    style.append(("TEXTCOLOR", (c, r), (c, r), colors.white))
    table.setStyle(TableStyle(style))
    return table


def _name(indicator: Indicator, words: DocumentWords, sep: str = " ") -> str:
    """An indicator's name in the report's language(s)."""
    return words(indicator.title, sep=sep)


def _tag(tag: str, words: DocumentWords) -> str:
    """A case tag by its name (a site's own tag by its code)."""
    return words(CASE_TAGS.get(tag, tag), sep="/")
