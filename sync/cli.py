"""`packbench station enroll` and `packbench sync` (docs/architecture.md §10.1, §13).

    packbench station enroll --server URL --token T [--name NAME] [--force]
    packbench sync --once [--json]      one round now: push the outbox, pull products/orders/tracking
    packbench sync [--json]             enrollment and outbox state, no network
    packbench sync --rejected [--json]  events the server refused, for a supervisor

`register(sub)` adds them to `packbench`'s subparsers (main.py calls it). Exit codes:
0 success; 1 an error, one line on stderr — for `sync --once` that includes an unreachable server,
after printing what moved before it went away (nothing is lost: unsent events stay queued).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.cli import CliError, add_data_dir, cli_text, data_dir, hold_data_dir, subcommand
from app.clock import SystemClock
from app.errors import InputError, words_of
from app.i18n import N_, environment_language
from app.store import open_store
from sync.credentials import ENROLL_AGAIN, CredentialsError, credentials_path, load_credentials, save_credentials
from sync.outbox import oldest_unsent_at, outbox_depth, rejected_count, rejected_events

if TYPE_CHECKING:  # the client stack (requests, pydantic) loads only when a command talks to a server
    from sync.outbox import PushReport
    from sync.worker import RoundReport


ENROLL_FAILED = N_("enrollment failed: {problem}")

def register(sub: Any) -> None:
    """Add `station enroll` and `sync` to `packbench`'s subparsers."""
    st = sub.add_parser("station", help=N_("this station's enrollment with the central server"),
                        description=N_("this station's enrollment with the central server"))
    add_data_dir(st)
    st_sub = st.add_subparsers(dest="station_action", required=True)
    en = subcommand(st_sub, "enroll", cmd_enroll, N_("enroll this station with a token from the server (once)"),
                    N_("Enroll this station with the central server; stores its id and "
                    "secret in DATA_DIR/sync.toml (mode 0600) and registers its passport key."))
    en.add_argument("--server", required=True, help=N_("the central server, e.g. https://packbench.example.com"))
    en.add_argument("--token", required=True, help=N_("the one-time enrollment token an admin got from the server"))
    en.add_argument("--name", help=N_("station name shown on the server (default: station in station.toml)"))
    en.add_argument("--force", action="store_true", help=N_("enroll again, replacing the stored credentials"))

    sy = subcommand(sub, "sync", cmd_sync, N_("sync with the central server: one round now, or show the outbox"),
                    N_("Push this station's events and pull products, orders and tracking."))
    what = sy.add_mutually_exclusive_group()
    what.add_argument("--once", action="store_true", help=N_("run one round now and print what moved"))
    what.add_argument("--rejected", action="store_true", help=N_("list the events the server refused"))
    sy.add_argument("--json", action="store_true", help=N_("machine-readable output"))


def cmd_enroll(args: argparse.Namespace) -> int:
    from app.config import load_config, set_setting
    from app.keys import KeyFileError, load_or_create_station_key, public_pem
    from sync.client import SyncError, enroll

    folder = data_dir(args)
    hold_data_dir(args)  # a running station's sync worker must not see its credentials replaced mid-round
    try:
        existing = load_credentials(folder)
    except CredentialsError:
        existing = None  # unreadable: enrolling again is exactly the repair
    if existing is not None and not args.force:
        raise CliError(N_("this station is already enrolled as {station} with {server}; add --force to enroll again "
                          "(the stored credentials are replaced)"), station=existing.station_id, server=existing.server)
    name = args.name or load_config(folder).station
    try:
        pem = public_pem(load_or_create_station_key(folder).public_key()).decode("ascii")
    except KeyFileError as exc:
        raise CliError(exc.words) from exc
    try:
        creds = enroll(args.server, args.token, name, pem)
    except SyncError as exc:
        raise CliError(ENROLL_FAILED, problem=words_of(exc)) from exc
    except ValueError as exc:  # the server URL, the token or the station name given: unusable (exit 2)
        raise InputError(ENROLL_FAILED, problem=words_of(exc)) from exc
    path = save_credentials(folder, creds)
    set_setting(folder, "passport_base_url", creds.public_url)
    print(cli_text(N_("enrolled as station {station} ({name}) in warehouse {warehouse} with {server}; credentials in "
                      "{path}; passport QR codes now open {url}/p/…"), station=creds.station_id, name=name,
                   warehouse=creds.warehouse or "-", server=creds.server, path=path, url=creds.public_url))
    return 0


def _progress(report: PushReport) -> None:
    if sys.stderr.isatty():
        print("\r" + cli_text(N_("pushing: {count} events sent"), count=report.sent), end="", file=sys.stderr,
              flush=True)


def cmd_sync(args: argparse.Namespace) -> int:
    from sync.client import SyncClient
    from sync.worker import run_round

    folder = data_dir(args)
    try:
        creds = load_credentials(folder)
    except CredentialsError as exc:
        raise CliError(exc.words) from exc
    if args.once:  # a round writes (cursors, acks, pulled orders): never beside the station's own worker
        hold_data_dir(args)
    store = open_store(folder)
    try:
        if args.rejected:
            return _show_rejected(args.json)
        if not args.once:
            return _show_state(args.json, creds.server if creds else None, creds.station_id if creds else None)
        if creds is None:
            raise CliError(N_("this station is not enrolled: run `packbench station enroll --server URL --token T`"))
        clock = SystemClock()
        try:
            client = SyncClient.from_credentials(creds, clock=clock)
        except ValueError as exc:
            raise CliError(ENROLL_AGAIN, path=credentials_path(folder), problem=exc) from exc
        with client:
            report = run_round(store, client, clock, on_push=_progress)
        if sys.stderr.isatty() and report.push.sent:
            print(file=sys.stderr)
        return _print_round(report, args.json)
    finally:
        store.close()


def _print_round(report: RoundReport, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(report.summary(environment_language()))
        for feed in report.pull.feeds.values():
            if feed.intercepts:
                print(cli_text(N_("{count} INTERCEPT case(s) opened: orders cancelled or refunded after packing"),
                               count=feed.intercepts))
        if report.rejected_count:
            print(cli_text(N_("{count} event(s) refused by the server: see `packbench sync --rejected`"),
                           count=report.rejected_count))
    if report.error is not None:
        for error in report.errors:
            print(f"packbench: sync: {error.text(environment_language())}", file=sys.stderr)
        print("packbench: " + cli_text(N_("nothing lost: {count} event(s) stay queued for the next round"),
                                       count=report.outbox_depth),
              file=sys.stderr)
        return 1
    return 0


def _age(at: datetime | None) -> str:
    if at is None:
        return "-"
    seconds = max((SystemClock().now() - at).total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _show_state(as_json: bool, server: str | None, station_id: str | None) -> int:
    depth, oldest, rejected = outbox_depth(), oldest_unsent_at(), rejected_count()
    if as_json:
        print(json.dumps({"enrolled": server is not None, "server": server, "station_id": station_id,
                          "outbox_depth": depth, "oldest_unsent_at": oldest.isoformat() if oldest else None,
                          "rejected": rejected}))
        return 0
    if server is None:
        print(cli_text(N_("server: not enrolled")))
    elif station_id:
        print(cli_text(N_("server: {server} (station {station})"), server=server, station=station_id))
    else:
        print(cli_text(N_("server: {server}"), server=server))
    print(cli_text(N_("outbox: {count} event(s) unsent, oldest {age}; {refused} refused by the server"), count=depth,
                   age=_age(oldest), refused=rejected))
    return 0


def _show_rejected(as_json: bool) -> int:
    events = rejected_events()
    if as_json:
        print(json.dumps([{"seq": e.seq, "event_id": e.event_id, "kind": e.kind, "created_at": e.created_at,
                           "reason": e.reason, "payload": e.payload} for e in events], ensure_ascii=False))
        return 0
    if not events:
        print(cli_text(N_("no refused events")))
    for e in events:
        refused = cli_text(N_("refused: {reason}"), reason=e.reason)
        print(f"#{e.seq}  {e.created_at}  {e.kind}  {e.event_id}\n    {refused}")
    return 0
