"""`packbench server health …` and `packbench server demo seed` (see `server.health`).

    packbench server health --warehouse W [--json] [--notify] [--hour ISO] [--by DIMENSION] [--weeks N]
    packbench server health silence --warehouse W --hours H --reason TEXT [--indicator NAME]
    packbench server health threshold --warehouse W --indicator NAME (--max X | --min X)
    packbench server demo seed --warehouse W --days N
    packbench server report weekly|monthly --warehouse W [--period 2026-W49|2026-11] -o FILE.pdf
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from app.cli import cli_text
from app.clock import SystemClock, iso, parse_iso
from app.i18n import N_, Phrase, environment_language, localize
from server.config import ServerConfig
from server.db import ServerDb
from server.health.evaluate import NOT_MATERIAL
from server.health.explain import Explanation, local_hours
from server.health.indicators import DIMENSIONS, slice_words
from server.health.state import HealthError
from server.migrations import migrated

CLI_ACTOR = "cli"
# A reading's reason as the CLI says it; "2σ" is a symbol, a threshold's "max 5" its option and value.
REASONS = {"too few facts": N_("too few facts"), "no baseline yet": N_("no baseline yet"),
           NOT_MATERIAL: N_("beyond 2σ, but too small or too likely by chance to flag")}
THRESHOLD = "threshold "


def _reason(why: str) -> str:
    if why.startswith(THRESHOLD):
        return cli_text(N_("threshold {limit}"), limit=why.removeprefix(THRESHOLD))
    return cli_text(REASONS.get(why, why))


def _hour(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text if "T" in text else text.replace(" ", "T")).replace(minute=0, second=0, microsecond=0)
    except ValueError as exc:
        raise HealthError(N_("--hour must be an ISO time like 2026-12-04T06:00Z, not {text!r}"), text=text) from exc


def _hour_shown(hour: datetime, config: ServerConfig) -> str:
    """The hour in the warehouse's zone, as the health page heads it, and as the UTC instant --hour takes."""
    local = hour.astimezone(config.zone)
    return f"{local:%Y-%m-%d %H:%M}–{(hour + timedelta(hours=1)).astimezone(config.zone):%H:%M} {config.zone.key} " \
           f"({iso(hour)})"


def _known(sdb: ServerDb, warehouse: str) -> None:
    """Refuse a warehouse the server has never heard of: a mistyped code would silence, set a threshold
    for or report on nothing, and the real warehouse would keep alerting."""
    from server.alerts.reconciliation import warehouses
    from server.warehouses import list_warehouses

    known = sorted({*warehouses(sdb), *(w.code for w in list_warehouses(sdb))})
    if warehouse not in known:
        raise HealthError(N_("unknown warehouse {warehouse!r}: no station, order or shipper settings have it "
                             "(known: {known})"), warehouse=warehouse, known=", ".join(known) or "—")


def cmd_health(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.health import check, explain_kept
    from server.health.state import NewAlert

    if not args.warehouse:
        raise HealthError(N_("--warehouse is required"))
    if not 1 <= args.weeks <= 26:
        raise HealthError(N_("--weeks must be 1 to 26, not {weeks}"), weeks=args.weeks)
    clock = SystemClock()
    with migrated(config.database) as sdb:
        _known(sdb, args.warehouse)
        notify: Callable[[NewAlert], str] | None = None
        if args.notify:
            from server.health.notify import channel_notifier

            notify = channel_notifier(sdb, config, clock, args.warehouse)
        readings, alerts = check(sdb, clock, args.warehouse, hour=_hour(args.hour), weeks=args.weeks,
                                 dimension=args.by, notify=notify, zone=config.zone)
        # Where a flagged whole-warehouse reading's excess comes from, as its alert says it (a new alert's
        # explanation is already made).
        explained = {(a.reading.indicator.name, a.reading.key): a.explanation for a in alerts}
        for r in readings:
            if r.flagged and not r.key and (r.indicator.name, r.key) not in explained:
                explained[(r.indicator.name, r.key)] = explain_kept(sdb, clock, args.warehouse, r, args.weeks)
        if alerts:
            from server.alerts.store import deliver_due

            sent, failed = deliver_due(sdb, clock, config.alert_channels)  # the rest retry on the schedule
            print(cli_text(N_("{count} new alert(s): {sent} deliveries sent, {failed} failed (retried by the server)"),
                           count=len(alerts), sent=sent, failed=failed), file=sys.stderr)
            if not config.alert_channels:  # raised, and not to be raised again until it recovers: say so
                print(cli_text(N_("no [[alert_channels]] in server.toml: the alerts reach no one, they are only "
                                  "listed on the console's Alerts page")), file=sys.stderr)
    base = config.public_url or f"http://127.0.0.1:{8700}"
    if args.json:
        print(json.dumps([{**r.as_json(base, args.warehouse),
                           "explanation": _explanation_json(explained.get((r.indicator.name, r.key)), config)}
                          for r in readings], ensure_ascii=False))
        return 0
    hour = readings[0].hour if readings else _hour(args.hour)
    print(cli_text(N_("order health of {warehouse}, hour {hour}, against the same hour of the previous {weeks} "
                      "weeks"), warehouse=args.warehouse, hour=_hour_shown(hour, config) if hour else "?",
                   weeks=args.weeks))
    marks = {(True, True): cli_text(N_("SILENCED")), (True, False): cli_text(N_("FLAGGED")), (False, False): ""}
    width = max(len(mark) for mark in marks.values()) + 1
    for r in readings:
        # The indicator's code and its slice as --indicator and --by take them.
        print(marks[(r.flagged, r.silenced and r.flagged)].ljust(width) + cli_text(
            N_("{indicator}{where}: {value} (n={volume}) baseline {baseline} ± {sigma}{z}{why}"),
            indicator=r.indicator.name, where=f" [{_key(r.dimension, r.slice)}]" if r.key else "",
            value=r.shown(r.value), volume=r.volume, baseline=r.shown(r.baseline), sigma=r.shown(r.sigma),
            z="" if r.z is None else f" z={r.z_text(environment_language())}",
            why=f" — {_reason(r.why)}" if r.why else ""))
        why = explained.get((r.indicator.name, r.key))
        if why is not None:
            print(" " * width + "↳ " + local_hours(why.words, config.zone, named=True).text(environment_language()))
    for alert in alerts:
        print(cli_text(N_("new alert: {indicator} {slice} {explanation}"), indicator=alert.reading.indicator.name,
                       slice=_key(alert.reading.dimension, alert.reading.slice) if alert.reading.key else "",
                       explanation=local_hours(alert.explanation.words, config.zone, named=True)
                       if alert.explanation else ""))
    return 0


def _key(dimension: str, slice_: str) -> str:
    """A slice as --by names it ("packer=WH1-BENCH-3-A"), an empty one named in the CLI's language."""
    return f"{dimension}={localize(slice_words(slice_), environment_language())}"


def _explanation_json(why: Explanation | None, config: ServerConfig) -> dict[str, object] | None:
    """A flagged reading's explanation for programs: the slice, its share of the excess, the second slice and
    the part of the hour it narrows to (null: none), the English words."""
    if why is None:
        return None
    also = {"dimension": why.also[0], "slice": why.also[1]} if why.also else None
    return {"dimension": why.dimension, "slice": why.slice, "share": round(why.share, 4), "also": also,
            "span": [iso(t) for t in why.span] if why.span else None,
            "text": local_hours(why.words, config.zone, named=True).plain()}


def cmd_health_silence(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.health.state import silence

    with migrated(config.database) as sdb:
        _known(sdb, args.warehouse)
        made = silence(sdb, SystemClock(), args.warehouse, args.hours, args.reason, CLI_ACTOR, args.indicator or "")
    print(cli_text(N_("silenced {indicator} of {warehouse} until {until}: still computed and shown, no alerts "
                      "({reason})"), indicator=made.indicator or Phrase(N_("every indicator")),
                   warehouse=args.warehouse, until=made.ends_at, reason=made.reason))
    return 0


def cmd_health_threshold(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.health.state import set_threshold

    if (args.max is None) == (args.min is None):
        raise HealthError(N_("give exactly one of --max or --min"))
    op, limit = ("max", args.max) if args.max is not None else ("min", args.min)
    with migrated(config.database) as sdb:
        _known(sdb, args.warehouse)
        set_threshold(sdb, SystemClock(), args.warehouse, args.indicator, op, limit, CLI_ACTOR)
    flagged = N_("{indicator} of {warehouse} is flagged whenever it is above {limit:g} (rates as fractions: "
                 "0.05 = 5%)") if op == "max" else \
        N_("{indicator} of {warehouse} is flagged whenever it is below {limit:g} (rates as fractions: 0.05 = 5%)")
    print(cli_text(flagged, indicator=args.indicator, warehouse=args.warehouse, limit=limit))
    return 0


def cmd_demo_seed(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.health.seed import seed_history

    if not 1 <= args.days <= 400:
        raise HealthError(N_("--days must be 1 to 400, not {days}"), days=args.days)
    with migrated(config.database) as sdb:
        made = seed_history(sdb, args.warehouse, args.days, SystemClock().now(), seed=args.seed)
    print(cli_text(N_("{warehouse}: {orders:,} orders, {parcels:,} parcels, {tracking:,} tracking events over {days} "
                      "days; incidents planted at {incidents}"), warehouse=args.warehouse, orders=made.orders,
                   parcels=made.parcels, tracking=made.tracking, days=args.days,
                   incidents=", ".join(f"{k} {v}" for k, v in made.incidents.items())))
    return 0


def cmd_report(args: argparse.Namespace, config: ServerConfig) -> int:
    from pathlib import Path

    from server.health.report import TITLES, period, write_report

    out = Path(args.output)
    if not out.parent.is_dir():
        raise HealthError(N_("{folder} is not a folder: the report goes into an existing one"), folder=out.parent)
    now = SystemClock().now()
    span = period(args.kind, args.period, now.astimezone(config.zone).date())
    with migrated(config.database) as sdb:
        _known(sdb, args.warehouse)
        pages = write_report(sdb, args.warehouse, span, out, config.zone, until=now)
    print(cli_text(N_("{report} of {warehouse} for {period} written to {path} ({pages} pages)"),
                   report=Phrase(TITLES[args.kind]), warehouse=args.warehouse, period=span.label, path=out,
                   pages=pages))
    return 0


def register(actions: Any, action: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `health` (with `silence`, `threshold`) and `demo seed` to `packbench server`."""
    h = action("health", cmd_health, N_("order-health indicators against their baseline (2σ), with alerts"))
    h.add_argument("--warehouse", help=N_("the warehouse to evaluate"))
    h.add_argument("--json", action="store_true", help=N_("a JSON list of readings"))
    h.add_argument("--notify", action="store_true", help=N_("alert newly flagged indicators (once until recovered)"))
    h.add_argument("--hour", help=N_("the hour to evaluate (default: the last complete hour), e.g. 2026-12-04T06:00Z"))
    h.add_argument("--by", choices=DIMENSIONS, help=N_("slice every indicator by this dimension"))
    h.add_argument("--weeks", type=int, default=4, help=N_("baseline weeks (default 4)"))
    sub = h.add_subparsers(dest="health_action", metavar="ACTION")
    s = action("silence", cmd_health_silence, N_("no alerts for a while (a campaign): still computed and shown"), sub)
    s.add_argument("--warehouse", required=True)
    s.add_argument("--hours", type=float, required=True)
    s.add_argument("--reason", required=True)
    s.add_argument("--indicator", help=N_("one indicator (default: all)"))
    t = action("threshold", cmd_health_threshold, N_("flag an indicator beyond a fixed limit, besides 2σ"), sub)
    t.add_argument("--warehouse", required=True)
    t.add_argument("--indicator", required=True)
    t.add_argument("--max", type=float)
    t.add_argument("--min", type=float)
    r = action("report", cmd_report, N_("the weekly or monthly order-health report (PDF)"))
    r.add_argument("kind", choices=("weekly", "monthly"))
    r.add_argument("--warehouse", required=True)
    r.add_argument("--period", help=N_("2026-W49 (weekly) or 2026-11 (monthly); default: the last complete one"))
    r.add_argument("-o", "--output", required=True, help=N_("the PDF to write"))
    d = actions.add_parser("demo", help=N_("demo data for the console, health page and reports"))
    seeds = d.add_subparsers(dest="demo_action", metavar="ACTION", required=True)
    a = action("seed", cmd_demo_seed, N_("fill a realistic, seeded order history with a few planted incidents"), seeds)
    a.add_argument("--warehouse", required=True)
    a.add_argument("--days", type=int, default=35)
    a.add_argument("--seed", type=int, default=7, help=N_("the random seed (the same seed, the same history)"))
