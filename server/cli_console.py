"""Console users and the reconciliation job from the shell (docs/architecture.md §11.5), registered by `server.cli`:

    packbench server user add NAME --role viewer|supervisor|admin --warehouse W [--warehouse W2 …] --password-stdin
    packbench server user list | disable NAME | passwd NAME --password-stdin
    packbench server reconcile --warehouse W [--day D]   rows of a day; alerts sent now (exit 1: a delivery failed)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from app.cli import cli_text
from app.clock import SystemClock
from app.errors import BadValue, InputError
from app.i18n import N_, Phrase
from server.config import ServerConfig
from server.console.accounts import ROLES
from server.db import ServerDb

Action = Callable[..., argparse.ArgumentParser]


def _database(config: ServerConfig) -> Any:
    from server.cli import _database as opened

    return opened(config)


def _password(args: argparse.Namespace) -> str:
    """The password from standard input (never from the command line, where `ps` shows it)."""
    if not args.password_stdin:
        raise InputError(N_("give the password on standard input with --password-stdin"))
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError(N_("no password on standard input"))
    return password


def cmd_user_add(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.console.accounts import add_user
    from server.console.audit import record_now

    password = _password(args)
    with _database(config) as sdb:
        user = add_user(sdb, args.name, args.role, args.warehouse, password, SystemClock())
        record_now(sdb, SystemClock(), "cli", "user.add", target=user.name,
                   detail=f"role {user.role}, warehouses {' '.join(user.warehouses)}")
    print(cli_text(N_("user {name} added: {role} of {warehouses}"), name=user.name, role=Phrase(user.role),
                   warehouses=", ".join(user.warehouses)))
    return 0


def cmd_user_list(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.console.accounts import list_users

    with _database(config) as sdb:
        users = list_users(sdb)
    for u in users:  # the role stays the code --role takes; the account's state is words
        if u.disabled_at:
            state = cli_text(N_("disabled"))
        elif u.locked_until:
            state = cli_text(N_("locked until {time}"), time=u.locked_until)
        else:
            state = cli_text(N_("active"))
        print(f"{u.name}\t{u.role}\t{u.warehouses.replace(' ', ',')}\t{state}")
    return 0


def cmd_user_disable(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.console.accounts import disable_user
    from server.console.audit import record_now

    with _database(config) as sdb:
        disable_user(sdb, args.name, SystemClock())
        record_now(sdb, SystemClock(), "cli", "user.disable", target=args.name)
    print(cli_text(N_("user {name} disabled; their sessions ended"), name=args.name))
    return 0


def cmd_user_passwd(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.console.accounts import set_password
    from server.console.audit import record_now

    password = _password(args)
    with _database(config) as sdb:
        set_password(sdb, args.name, password, SystemClock())
        record_now(sdb, SystemClock(), "cli", "user.passwd", target=args.name)
    print(cli_text(N_("password of {name} changed; their sessions ended"), name=args.name))
    return 0


def cmd_reconcile(args: argparse.Namespace, config: ServerConfig) -> int:
    import time
    from datetime import date

    from server.alerts.reconciliation import NOT_ON_PLATFORM, check
    from server.alerts.store import deliver_due, next_due
    from server.auth import check_warehouse

    clock = SystemClock()
    warehouse = check_warehouse(args.warehouse)
    try:
        day = date.fromisoformat(args.day) if args.day else clock.now().astimezone(config.zone).date()
    except ValueError:
        raise BadValue(N_("--day {given!r}: write the day as YYYY-MM-DD"), given=args.day) from None
    with _database(config) as sdb:
        result = check(sdb, config, clock, warehouse, [day])
        print("shop\tday\torders\tcancelled\tpacked\thanded_over\tcarrier_accepted\t"
              "dev_packed%\tdev_handed_over%\tdev_carrier%\tover")
        for row in result.rows:
            deviations = row.deviations()
            over = "OVER" if row.deviation > config.reconciliation_alert_pct else ""
            values = [row.shop or cli_text(NOT_ON_PLATFORM), row.day.isoformat(), row.orders, row.cancelled, row.packed,
                      row.handed_over, row.accepted, *(f"{v:.2f}" for v in deviations.values()), over]
            print("\t".join(str(v) for v in values))
        print(cli_text(N_("{alerts} new alerts; {channels} channels"), alerts=len(result.raised),
                       channels=len(config.alert_channels)), file=sys.stderr)
        sent = failed = 0
        while True:  # send now, retrying with the store's backoff until sent or given up
            done, tries_failed = deliver_due(sdb, clock, config.alert_channels)
            sent += done
            failed += tries_failed
            due = next_due(sdb)
            if due is None:
                break
            time.sleep(max(0.0, min(60.0, (due - clock.now()).total_seconds())))
        given_up = _failed_deliveries(sdb, [r.alert_id for r in result.raised])
    for alert_id, channel, error in given_up:
        print("packbench server: " + cli_text(N_("alert {alert} to {channel} not delivered: {error}"), alert=alert_id,
                                              channel=channel, error=error), file=sys.stderr)
    print(cli_text(N_("{sent} deliveries sent, {given_up} given up"), sent=sent, given_up=len(given_up)),
          file=sys.stderr)
    return 1 if given_up else 0


def _failed_deliveries(sdb: ServerDb, alert_ids: list[int]) -> list[tuple[int, str, str]]:
    if not alert_ids:
        return []
    from server.db import placeholders

    with sdb.connection():
        return [(int(a), str(c), str(e)) for a, c, e in sdb.execute(
            f'SELECT "alert_id", "channel", "last_error" FROM "alert_delivery" WHERE "status" = \'failed\' '
            f'AND "alert_id" IN ({placeholders(len(alert_ids))}) ORDER BY "id"', alert_ids)]


def register_console(actions: Any, action: Action) -> None:
    u = actions.add_parser("user", help=N_("console users (supervisors' web console)"))
    user_actions = u.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    a = action("add", cmd_user_add, N_("add a console user"), user_actions)
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--warehouse", action="append", required=True, help=N_("a warehouse the user sees (repeatable)"))
    a.add_argument("--password-stdin", action="store_true", help=N_("read the password from standard input"))
    action("list", cmd_user_list, N_("list console users"), user_actions)
    a = action("disable", cmd_user_disable, N_("disable a console user and end their sessions"), user_actions)
    a.add_argument("name")
    a = action("passwd", cmd_user_passwd, N_("set a console user's password (lifts a lockout)"), user_actions)
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true", help=N_("read the password from standard input"))
    a = action("reconcile", cmd_reconcile, N_("reconcile a warehouse's day, print the rows and send alerts now"))
    a.add_argument("--warehouse", required=True)
    a.add_argument("--day", help=N_("the business day, YYYY-MM-DD (default: today in the server's timezone)"))
