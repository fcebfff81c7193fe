"""`packbench server …`: run the reference server and administer it from the shell.

    packbench server [--host H] [--port P] [--workers N] [--data-dir D]     run it (uvicorn)
    packbench server backup --to FILE          a verified copy of the database (SQLite backup or pg_dump)
    packbench server station-token --warehouse W [--ttl-hours N]
    packbench server stations [--json]        id, name, warehouse, enrolled, last seen, outbox lag, key, revoked
    packbench server station revoke ID [--reason TEXT]
    packbench server import-orders FILE --format F --warehouse W [--lines FILE]
    packbench server import-products FILE
    packbench server waybills import FILE --carrier C
    packbench server rules set FILE
    packbench server events [--limit N]        rejected and flagged station events, for a supervisor
    packbench server user add NAME --role viewer|supervisor|admin --warehouse W [--warehouse W2 …] --password-stdin
    packbench server user list | disable NAME | passwd NAME --password-stdin
    packbench server warehouse set|list …  /  carrier-jobs …      see server.cli_carriers
    packbench server reconcile --warehouse W [--day D]   rows of a day; alerts sent now (exit 1: a delivery failed)

The database is DATABASE_URL (or `database_url` in DATA_DIR/server.toml), else SQLite in the data
dir. Exit code 0 only on success; errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from app.cli import cli_text, print_import_report, subcommand
from app.clock import SystemClock, iso
from app.errors import report
from app.i18n import N_
from server.cli_carriers import register_carriers
from server.cli_console import register_console
from server.cli_health import register as register_health
from server.cli_stations import cmd_station_revoke, cmd_stations
from server.config import DEFAULT_PORT, ServerConfig, load_server_config
from server.db import ServerDb
from server.migrations import migrated
from server.serve import run_server
from server.states import EventStatus

Handler = Callable[[argparse.Namespace], int]


def _config(args: argparse.Namespace) -> ServerConfig:
    return load_server_config(Path(args.data_dir) if getattr(args, "data_dir", None) else None)


def _database(config: ServerConfig) -> AbstractContextManager[ServerDb]:
    return migrated(config.database)


def _guarded(handler: Callable[[argparse.Namespace, ServerConfig], int]) -> Handler:
    """The handler with the server's config, its failures through the one reporter (app.errors)."""
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args, _config(args))
        except (Exception, KeyboardInterrupt) as exc:
            return report(exc, getattr(args, "data_dir", None))
    return run


def cmd_backup(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.backup import back_up_server

    done = back_up_server(config, Path(args.to))
    print(cli_text(N_("{kind} backup written to {path} ({size:,} bytes), verified"), kind=done.kind, path=done.path,
                   size=done.size))
    return 0


def cmd_station_token(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.auth import issue_enrollment_token

    with _database(config) as sdb:
        token, expires = issue_enrollment_token(sdb, args.warehouse, SystemClock(), args.ttl_hours)
    print(token)
    print(cli_text(N_("one-time enrollment token for warehouse {warehouse}, valid until {until}: "
                      "packbench station enroll --server URL --token {token}"),
                   warehouse=args.warehouse, until=iso(expires), token=token), file=sys.stderr)
    return 0


def cmd_import_orders(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.intake import import_orders

    with _database(config) as sdb:
        print_import_report(import_orders(sdb, args.file, args.format, args.warehouse, SystemClock(), config.zone,
                              lines_path=args.lines))
    return 0


def cmd_import_products(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.intake import import_products

    with _database(config) as sdb:
        print_import_report(import_products(sdb, args.file, SystemClock()))
    return 0


def cmd_waybills_import(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.waybills import import_pool

    with _database(config) as sdb:
        result = import_pool(sdb, Path(args.file), args.carrier, SystemClock())
    print(cli_text(N_("{carrier}: {count} numbers imported; server pool now {free} free"), carrier=result.carrier,
                   count=result.imported, free=result.free))
    return 0


def cmd_rules_set(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.rules import set_rules

    with _database(config) as sdb:
        version, new = set_rules(sdb, Path(args.file), SystemClock())
    print(cli_text(N_("rule set version {version}") if new else
                   N_("rule set version {version} (unchanged: same text as the current version)"), version=version))
    return 0


def cmd_events(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.models import StationEvent

    with _database(config) as sdb, sdb.connection():
        rows = list(StationEvent.select()
                    .where((StationEvent.status == EventStatus.REJECTED) | StationEvent.note.is_null(False))
                    .order_by(StationEvent.id.desc()).limit(args.limit))
    for row in rows:
        # the reason and note are the server's English record; the kind and event id are codes
        if row.status == EventStatus.REJECTED:
            what = cli_text(N_("REJECTED {reason}"), reason=row.reason)
        else:
            what = cli_text(N_("flagged {note}"), note=row.note)
        seq = cli_text(N_("seq {seq}"), seq=row.seq)
        print(f"{row.received_at}\t{row.station_id}\t{seq}\t{row.kind}\t{row.event_id}\t{what}")
    return 0


def register(sub: Any) -> None:
    """Add `server` and its subcommands to the `packbench` parser's subcommands."""
    p = subcommand(sub, "server", _guarded(run_server), N_("run the central server, or administer it"),
                   N_("Run the PackBench central server (FastAPI), or administer it."))
    p.add_argument("--host", default="127.0.0.1", help=N_("address to listen on (default 127.0.0.1)"))
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=N_("port (default %(default)s)"))
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                   help=N_("proxies trusted for X-Forwarded-* headers (default 127.0.0.1)"))
    p.add_argument("--root-path", default="",
                   help=N_("the path prefix a reverse proxy strips (e.g. /packbench); stations sign it"))
    p.add_argument("--workers", type=int, default=1,
                   help=N_("worker processes (default 1); several need PostgreSQL to be worth it"))
    actions = p.add_subparsers(dest="server_action", metavar="ACTION")

    def action(name: str, handler: Callable[[argparse.Namespace, ServerConfig], int], text: str,
               parent: Any = actions) -> argparse.ArgumentParser:
        return subcommand(parent, name, _guarded(handler), text)

    a = action("backup", cmd_backup, N_("write a verified copy of the database (SQLite backup, or pg_dump)"))
    a.add_argument("--to", required=True, help=N_("the new backup file (never overwritten)"))
    a = action("station-token", cmd_station_token, N_("issue a one-time station enrollment token for a warehouse"))
    a.add_argument("--warehouse", required=True)
    a.add_argument("--ttl-hours", type=float, default=72.0, help=N_("hours the token stays valid (default 72)"))
    register_health(actions, action)
    a = action("stations", cmd_stations, N_("list enrolled stations: last seen, outbox lag, key, revoked"))
    a.add_argument("--json", action="store_true")
    st = actions.add_parser("station", help=N_("one station's lifecycle"))
    station_actions = st.add_subparsers(dest="station_action", metavar="ACTION", required=True)
    a = action("revoke", cmd_station_revoke, N_("revoke a station now (audited): its next request is 403"),
               station_actions)
    a.add_argument("station_id", metavar="ID")
    a.add_argument("--reason", default="", help=N_("why, recorded with who revoked it"))
    a = action("import-orders", cmd_import_orders, N_("import an order export into the server (all rows or none)"))
    a.add_argument("file")
    a.add_argument("--format", default="canonical", help=N_("canonical, shopify, taobao, pdd, or a profile .toml"))
    a.add_argument("--warehouse", required=True, help=N_("the warehouse these orders are routed to"))
    a.add_argument("--lines", help=N_("Taobao: the separate line-items (宝贝) export"))
    a = action("import-products", cmd_import_products, N_("import products with barcodes, weights and stock"))
    a.add_argument("file")
    w = actions.add_parser("waybills", help=N_("the server's waybill number pools"))
    pools = w.add_subparsers(dest="waybills_action", metavar="ACTION", required=True)
    a = action("import", cmd_waybills_import, N_("import a carrier's waybill numbers (all or none)"), pools)
    a.add_argument("file")
    a.add_argument("--carrier", required=True)
    r = actions.add_parser("rules", help=N_("exception rule sets served to stations"))
    rule_actions = r.add_subparsers(dest="rules_action", metavar="ACTION", required=True)
    a = action("set", cmd_rules_set, N_("upload a rule set (TOML) as the next version"), rule_actions)
    a.add_argument("file")
    register_console(actions, action)
    a = action("events", cmd_events, N_("list rejected and flagged station events, newest first"))
    a.add_argument("--limit", type=int, default=100)
    register_carriers(actions, action)
