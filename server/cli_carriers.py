"""The carriers' administration (docs/architecture.md §11.4), registered by `server.cli`:

    packbench server warehouse set WH --sender-name N --sender-phone P --sender-address A --carrier C
    packbench server warehouse list
    packbench server carrier-jobs [--all] [--retry KIND SUBJECT]   dead carrier calls (e-waybills,
                                               cancels, subscriptions) for an admin; retry one
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli import cli_text
from app.clock import SystemClock
from app.errors import NotFoundError
from app.i18n import N_, Phrase
from server.config import ServerConfig
from server.states import JobState

Action = Callable[..., argparse.ArgumentParser]


def _database(config: ServerConfig) -> Any:
    from server.cli import _database as opened

    return opened(config)


def cmd_warehouse_set(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.warehouses import set_warehouse

    with _database(config) as sdb:
        row = set_warehouse(sdb, args.warehouse, args.carrier, args.sender_name, args.sender_phone,
                            args.sender_address, args.sender_company, SystemClock())
    ready = N_("ships with Kuaidi100 e-waybills") if config.kuaidi100_ewaybills else \
        N_("e-waybills start once kuaidi100_key, kuaidi100_secret and kuaidi100_partner_id are set")
    print(cli_text(N_("warehouse {code}: {carrier}, sender {name} {phone} {address}; {ready}"), code=row.code,
                   carrier=row.carrier, name=row.sender_name, phone=row.sender_phone, address=row.sender_address,
                   ready=Phrase(ready)))
    return 0


def cmd_warehouse_list(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.warehouses import list_warehouses

    with _database(config) as sdb:
        for row in list_warehouses(sdb):
            company = f" ({row.sender_company})" if row.sender_company else ""
            print(f"{row.code}\t{row.carrier}\t{row.sender_name}{company}\t{row.sender_phone}\t{row.sender_address}")
    return 0


def cmd_carrier_jobs(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.kuaidi100 import jobs

    with _database(config) as sdb:
        if args.retry:
            kind, subject = args.retry
            with sdb.connection(), sdb.write():
                if not jobs.rerun(sdb, kind, subject, SystemClock().now()):
                    raise NotFoundError(N_("no dead or finished {kind} job for {subject!r}"), kind=kind,
                                        subject=subject)
            print(cli_text(N_("{kind} {subject}: queued again"), kind=kind, subject=subject))
            return 0
        states = tuple(JobState) if args.all else (JobState.DEAD,)
        for row in jobs.listing(sdb, states, args.limit):
            attempts = cli_text(N_("attempts {count}"), count=row.attempts)  # the state and kind stay codes
            print(f"{row.updated_at}\t{row.state}\t{row.kind}\t{row.subject}\t{attempts}\t{row.last_error}")
    return 0


def register_carriers(actions: Any, action: Action) -> None:
    h = actions.add_parser("warehouse", help=N_("warehouses as shippers: sender and carrier of their e-waybills"))
    houses = h.add_subparsers(dest="warehouse_action", metavar="ACTION", required=True)
    a = action("set", cmd_warehouse_set, N_("set a warehouse's sender and carrier (Kuaidi100 e-waybills)"), houses)
    a.add_argument("warehouse")
    a.add_argument("--sender-name", required=True)
    a.add_argument("--sender-phone", required=True)
    a.add_argument("--sender-address", required=True, help=N_("the full address printed as the sender's"))
    a.add_argument("--sender-company", default="")
    a.add_argument("--carrier", required=True, help=N_("SF, ZTO, YTO, STO, YUNDA, JD, EMS or JT"))
    action("list", cmd_warehouse_list, N_("list warehouses with their sender and carrier"), houses)
    a = action("carrier-jobs", cmd_carrier_jobs, N_("carrier calls that gave up (dead letters), newest first"))
    a.add_argument("--all", action="store_true", help=N_("every job, not only the dead ones"))
    a.add_argument("--retry", nargs=2, metavar=("KIND", "SUBJECT"), help=N_("queue a dead job again (ewaybill ORDER, "
                   "cancel ORDER, subscribe NUMBER)"))
    a.add_argument("--limit", type=int, default=100)
