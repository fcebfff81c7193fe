"""`packbench exceptions`: the exception case queue (docs/architecture.md §9.1).

    packbench exceptions list [--open] [--json] [--tag T] [--severity S] [--route R]
    packbench exceptions ack ID [--by BADGE]
    packbench exceptions resolve ID --note TEXT [--by BADGE]

`list` prints one case a line (or, with --json, a list of objects): id, order id, tag, rule id,
severity, route, state, opened at (in the station's time zone), title. A line names the severity,
state and route in the CLI's language (app.terms); the JSON keeps their codes, as --severity and
--route take them. `--open` keeps the live cases
(open or acknowledged). `ack` and `resolve` go through `app.case_roles` (audited): with `--by BADGE`
the badge's operator is the actor and must have the role the case is routed to; without it only a
case anyone may work that is not critical can be changed, as "cli". A refused change or an unknown
badge is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from zoneinfo import ZoneInfo

from app.cli import CommandFactory, cli_text, column, data_dir, read_store, store_for, subcommand
from app.clock import SystemClock, parse_iso
from app.i18n import N_, environment_language
from app.store.states import CaseState
from app.terms import CASE_STATES, ROLES, SEVERITIES, named

BY_HELP = N_("the badge of who acts, recorded as the actor; required for critical cases and for cases routed "
           "to supervisors or admins (then the badge must have that role)")


def register(sub: Any, command: CommandFactory) -> None:
    """Add `exceptions` to `packbench`'s subparsers (`command` is `app.cli.build_parser`'s factory)."""
    p = command("exceptions", cmd_exceptions_list, N_("the exception case queue: list, acknowledge, resolve"))
    es = p.add_subparsers(dest="exceptions_action", required=True)
    ls = subcommand(es, "list", cmd_exceptions_list, N_("list exception cases, oldest first"))
    ls.add_argument("--open", action="store_true", help=N_("only live cases (open or acknowledged)"))
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--tag", help=N_("only this tag, e.g. address_risk"))
    ls.add_argument("--severity", choices=tuple(SEVERITIES))
    ls.add_argument("--route", help=N_("only cases routed to this role: packer, supervisor, admin"))
    ack = subcommand(es, "ack", cmd_exceptions_ack, N_("acknowledge a case: someone is on it"))
    ack.add_argument("case_id", type=int, metavar="ID")
    ack.add_argument("--by", metavar="BADGE", help=BY_HELP)
    res = subcommand(es, "resolve", cmd_exceptions_resolve, N_("resolve a case with a note for the next person"))
    res.add_argument("case_id", type=int, metavar="ID")
    res.add_argument("--note", required=True, help=N_("what was done"))
    res.add_argument("--by", metavar="BADGE", help=BY_HELP)


def _zone(args: argparse.Namespace) -> ZoneInfo:
    from app.config import load_config

    return ZoneInfo(load_config(data_dir(args)).timezone)


def case_row(case: Any, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": case.id,
        "order_id": case.order.order_id if case.order_id is not None else None,
        "tag": case.tag,
        "rule_id": case.rule_id,
        "severity": case.severity,
        "route": case.route,
        "state": case.state,
        "opened_at": parse_iso(case.opened_at).astimezone(zone).isoformat(timespec="seconds"),
        "title": case.title,
    }


def cmd_exceptions_list(args: argparse.Namespace) -> int:
    from app.cases import case_title, detail_words, list_cases

    read_store(args)
    zone = _zone(args)
    cases = list_cases(bool(getattr(args, "open", False)), getattr(args, "tag", None), getattr(args, "severity", None),
                       getattr(args, "route", None))
    rows = [case_row(c, zone) for c in cases]
    if getattr(args, "json", False):
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    lang = environment_language()
    # Codes are as long as they come (a Pinduoduo order id, builtin.call_supervisor): a column is as
    # wide as its longest, so the route and title columns stay aligned.
    width = {key: max([least, *(len(r[key] or "-") for r in rows)])
             for key, least in (("order_id", 20), ("tag", 18), ("rule_id", 22))}
    for r, case in zip(rows, cases, strict=True):  # the JSON keeps the English record and codes; a line words them
        opened = r["opened_at"][:16].replace("T", " ")
        title = case_title(case.title, detail_words(case.detail)).text(lang)
        severity, state, route = (named(table, r[key]).text(lang) for table, key in
                                  ((SEVERITIES, "severity"), (CASE_STATES, "state"), (ROLES, "route")))
        print(f"{r['id']:>5}  {column(severity, 8)} {column(state, 12)} {opened}  "
              f"{r['order_id'] or '-':<{width['order_id']}} {r['tag']:<{width['tag']}} "
              f"{r['rule_id']:<{width['rule_id']}} {column(route, 14)} {title}")
    if not rows:
        print(cli_text(N_("no cases")))
    return 0


def _transition(args: argparse.Namespace, state: str, note: str = "") -> int:
    from app.case_roles import act_by_badge, act_without_badge
    from app.cases import case_title, detail_words

    store = store_for(args)
    if args.by is None:
        case = act_without_badge(store, SystemClock(), args.case_id, state, note)
    else:
        case = act_by_badge(store, SystemClock(), args.case_id, state, args.by, note)
    by = case.acked_by if state == CaseState.ACKNOWLEDGED else case.resolved_by
    title = case_title(case.title, detail_words(case.detail))
    state_name = named(CASE_STATES, case.state)
    print(cli_text(N_("case {case} {state} by {by}: {title}"), case=case.id, state=state_name, by=by, title=title))
    return 0


def cmd_exceptions_ack(args: argparse.Namespace) -> int:
    return _transition(args, CaseState.ACKNOWLEDGED)


def cmd_exceptions_resolve(args: argparse.Namespace) -> int:
    return _transition(args, CaseState.RESOLVED, args.note)
