"""The `packbench` subcommands that need only the domain (imports, operators, audit, backup, ...).

`main.py` is the composition root: it adds the commands that need devices (`pack`, the GUI) and
dispatches here for the rest. Every command runs through `run`, so every failure goes through the
one reporter (`app.errors.report`): one line on stderr and the exit code of its family.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys
import unicodedata
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from app.clock import SystemClock
from app.config import default_data_dir, load_config
from app.errors import InputError, NotFoundError, PackBenchError, os_problem, report
from app.i18n import LANGUAGES, N_, environment_language, render, translator
from app.importers import ImportReport
from app.operators import FOLLOW_STATION, ROLES, add_operator, set_language
from app.store import Store, open_store
from app.store.db import as_store_fault
from app.store.lock import hold_data_dir as hold_data_dir_lock
from app.store.lock import release_data_dirs
from app.tracking_states import status_words

Handler = Callable[[argparse.Namespace], int]
CommandFactory = Callable[[str, Handler, str], argparse.ArgumentParser]  # `subcommand` bound to a parent


class CliError(PackBenchError):
    """A command cannot go on: printed as one line on stderr, exit code 1."""


def cli_text(message: str, /, **values: Any) -> str:
    """One of the CLI's own lines (a summary, a note), a msgid marked `N_` with its values, in the
    environment's language as the reporter words errors (docs/i18n.md, "The CLI")."""
    return render(message, environment_language(), values)


def column(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns; a Chinese character takes two (str.ljust counts one)."""
    shown = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(0, width - shown)


class TranslatedHelp(argparse.HelpFormatter):
    """`--help` in the CLI's language: every help and description text is a msgid (marked `N_`),
    translated as it is shown. argparse's own words ("usage:", "options:") are Python's, English."""

    def __init__(self, prog: str, **options: Any) -> None:
        super().__init__(prog, **options)
        self._translate = translator(environment_language()).gettext

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return self._translate(action.help) if action.help else action.help

    def _format_text(self, text: str) -> str:
        return super()._format_text(self._translate(text))


class Parser(argparse.ArgumentParser):
    """packbench's parser: its help in the CLI's language; `add_subparsers` makes its sub-parsers of
    this class too, so every command's --help is translated."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", TranslatedHelp)
        super().__init__(*args, **kwargs)


def add_data_dir(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Subcommands accept --data-dir too, but must not overwrite one given before the subcommand.
    parser.add_argument("--data-dir", type=Path, default=None if top else argparse.SUPPRESS,
                        help=N_("station data directory (default: the platform's user data dir)"))


def subcommand(sub: Any, name: str, handler: Handler, help_text: str,
               description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand of `sub` that takes --data-dir and runs `handler` (every packbench command is made so,
    in app/, sync/, server/ and main.py alike); `description` is its --help text when longer than the help."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=description or help_text)
    add_data_dir(p)
    p.set_defaults(handler=handler)
    return p


def output_file(text: str | Path) -> Path:
    """A file the person asked us to write: its folder must already exist. A mistyped folder is an
    error, never a tree of new folders (`-o /missing/x.pdf` must not create /missing)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise InputError(N_("{path}: the folder {folder} does not exist"), path=path, folder=path.parent)
    if path.is_dir():
        raise InputError(N_("{path} is a folder: give a file name"), path=path)
    return path


def input_file(option: str, text: str) -> str:
    """A file the person gave to read from (`-`: standard input), refused before anything starts when
    it is missing, a folder or unreadable: a mistyped name is exit 2, not a run that read nothing and
    reported success. Only looked at, not opened: opening a FIFO would wait for its writer, and a
    reader that leaves again breaks the writer's pipe."""
    if text == "-":
        return text
    try:
        mode = os.stat(text).st_mode
        problem = errno.EISDIR if stat.S_ISDIR(mode) else None if os.access(text, os.R_OK) else errno.EACCES
    except OSError as exc:
        problem = exc.errno
    if problem is not None:
        raise InputError(N_("{option} {path}: {problem}"), option=option, path=text,
                         problem=os_problem(OSError(problem, os.strerror(problem))))
    return text


def output_folder(text: str | Path) -> Path:
    """A folder the person asked us to write into: created if missing, but only that one folder."""
    path = Path(text)
    if not path.is_dir():
        output_file(path).mkdir()
    return path


def data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else default_data_dir()


def hold_data_dir(args: argparse.Namespace) -> None:
    """This process becomes the data dir's one writer, or is refused (`DataDirBusyError`) before it
    writes anything. Held until the command ends (`run`) or the process exits."""
    hold_data_dir_lock(data_dir(args), f"packbench {getattr(args, 'command', None) or 'gui'}")


def store_for(args: argparse.Namespace) -> Store:
    """The store for a command that writes: one writing process per data dir."""
    hold_data_dir(args)
    store = open_store(data_dir(args))
    store.recover()  # after a crash or a full disk: this process is the one that may write
    return store


def read_store(args: argparse.Namespace) -> Store:
    """The store for a command that only reads: it works beside a running station."""
    return open_store(data_dir(args))


def _progress(line: str) -> Callable[[int, int], None]:
    """Progress on stderr: one rewritten line on a terminal; when piped, a line per tenth and the end
    (a long step must not look finished, as "100%" did while rules ran for minutes). `line` is a msgid
    with {done}, {total} and {pct}."""
    shown = [-1]
    lang = environment_language()

    def report(done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        tty = sys.stderr.isatty()
        if not tty and done != total and pct // 10 == shown[0] // 10:
            return
        shown[0] = pct
        end = "\n" if done == total or not tty else ""
        print("\r" + render(line, lang, {"done": done, "total": total, "pct": pct}), end=end, file=sys.stderr,
              flush=True)
    return report


IMPORTED_ROWS = N_("import {done:,}/{total:,} rows ({pct}%)")


def print_import_report(report: ImportReport) -> None:
    """An import's summary: its rows and what became of them (the station's and the server's imports)."""
    print(cli_text(N_("{profile}: {rows} rows; {created} created, {updated} updated, {unchanged} unchanged"),
                   profile=report.profile, rows=report.rows, created=report.created, updated=report.updated,
                   unchanged=report.unchanged))
    notes = [(report.skipped_lines, N_("{count} lines need no shipping (skipped)")),
             (report.empty_orders, N_("{count} order(s) with nothing to ship (not imported)")),
             (report.merged_lines, N_("{count} repeated SKU line(s) merged")),
             (report.held, N_("{count} order(s) held: a line has no SKU (see the cases)")),
             (report.cases, N_("{count} case(s) opened by the rules"))]
    for count, note in notes:
        if count:
            print("  " + cli_text(note, count=count))


def cmd_import_orders(args: argparse.Namespace) -> int:
    from app.importers import import_orders

    store = store_for(args)
    report = import_orders(store, Path(args.file), args.format, SystemClock(), progress=_progress(IMPORTED_ROWS),
                           lines_path=Path(args.lines) if args.lines else None,
                           rules_progress=_progress(N_("rules {done:,}/{total:,} orders ({pct}%)")))
    print_import_report(report)
    return 0


def cmd_import_products(args: argparse.Namespace) -> int:
    from app.importers import import_products

    store = store_for(args)
    report = import_products(store, Path(args.file), SystemClock(), progress=_progress(IMPORTED_ROWS))
    print_import_report(report)
    return 0


def cmd_order_show(args: argparse.Namespace) -> int:
    from app.orders import order_snapshot

    read_store(args)
    snapshot = order_snapshot(args.order_id, reveal_phone=args.reveal_phone)
    if snapshot is None:
        raise NotFoundError(N_("no order {order!r} in this store"), order=args.order_id)
    if args.json:
        print(json.dumps(snapshot, ensure_ascii=False, indent=2))
    else:
        print(_order_text(snapshot))
    return 0


def _order_text(snap: dict[str, Any]) -> str:
    lines = [f"{snap['order_id']}  [{snap['status']}]  {snap['platform']}/{snap['shop']}",
             "  " + cli_text(N_("to {name} {phone}  {address}"), name=snap["receiver_name"],
                             phone=snap["receiver_phone"], address=snap["receiver_address"])]
    lines += [f"  {ln['line_no']:>3} {ln['sku']:<16} x{ln['qty']}  {ln['name']}" for ln in snap["lines"]]
    lines += ["  " + cli_text(N_("session {id} {state} by {operator} at {time}"), id=s["id"], state=s["state"],
                              operator=s["operator"], time=s["started_at"]) for s in snap["sessions"]]
    lines += ["  " + cli_text(N_("shipment {carrier} {tracking} {weight} g VOIDED") if s["voided"]
                              else N_("shipment {carrier} {tracking} {weight} g"), carrier=s["carrier"],
                              tracking=s["tracking_no"], weight=s["weight_g"]) for s in snap["shipments"]]
    chinese = environment_language() == "zh_CN"  # the state's name in the CLI's language
    if snap["tracking"]:
        lines.append("  " + cli_text(N_("tracking, newest first:")))
        several = len({t["tracking_no"] for t in snap["tracking"]}) > 1
        for t in snap["tracking"]:
            state = status_words(t["state"])[0 if chinese else 1]
            code = f" [{t['code']}]" if t["code"] else ""
            head = f"    {t['time']}  {state}{code}" + (f"  {t['tracking_no']}" if several else "")
            lines += [head, f"      {t['site'] + ': ' if t['site'] else ''}{t['text']}"]
    else:
        lines.append("  " + cli_text(N_("tracking: no carrier events yet")))
    return "\n".join(lines)


def cmd_operator_add(args: argparse.Namespace) -> int:
    store = store_for(args)
    op = add_operator(store, SystemClock(), args.name, args.role, args.badge, language=args.language)
    print(cli_text(N_("added {role} {name} (badge {badge}, language {language})"), role=op.role,
                   name=op.name, badge=op.badge, language=op.language or FOLLOW_STATION))
    return 0


def cmd_operator_set_language(args: argparse.Namespace) -> int:
    store = store_for(args)
    op = set_language(store, SystemClock(), args.operator, args.language)
    if op.language:
        print(cli_text(N_("{name} now works in {language} (from the next badge login)"), name=op.name,
                       language=op.language))
    else:
        print(cli_text(N_("{name} now works in the station's language (from the next badge login)"), name=op.name))
    return 0


def cmd_operator_list(args: argparse.Namespace) -> int:
    from app.store.models import Operator

    read_store(args)
    for op in Operator.select().order_by(Operator.name):
        # Tab-separated for scripts: role and language stay the codes `operator add` takes.
        state = cli_text(N_("active")) if op.active else cli_text(N_("inactive"))
        print(f"{op.name}\t{op.role}\t{op.badge}\t{state}\t{op.language or FOLLOW_STATION}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit 3 when the chain is broken, a covered row was edited, deleted or slipped in, or the chain no
    longer holds the head the server acknowledged (truncated or re-hashed)."""
    from app import audit_anchor
    from app.audit_rows import BEFORE_MIGRATION, verify_store

    read_store(args)
    chain, rows = verify_store()
    anchor = audit_anchor.judge(chain)
    if chain.ok:
        print(f"audit chain ok: {chain.entries} entries, head {chain.head_hash}")
    else:
        print(f"audit chain BROKEN after {chain.entries} good entries: {chain.problem}", file=sys.stderr)
    for problem in rows.problems:
        print(problem.line())
    summary = f"rows: {rows.checked} covered rows checked, {len(rows.problems)} problems"
    if chain.legacy or rows.before_migration:
        summary += (f"; {chain.legacy} entries and {rows.before_migration} rows {BEFORE_MIGRATION}")
    if rows.uncovered_skipped:
        summary += "; rows past the break in the chain not judged"
    print(summary)
    print(f"anchor: {anchor.text}", file=sys.stdout if anchor.ok else sys.stderr)
    return 0 if chain.ok and rows.ok and anchor.ok else 3


def cmd_backup(args: argparse.Namespace) -> int:
    store = read_store(args)
    store.backup(output_file(args.to))
    print(cli_text(N_("backup written to {path}"), path=args.to))
    return 0


def cmd_command_sheet(args: argparse.Namespace) -> int:
    from app.documents.command_sheet import write_command_sheet

    lang = args.lang or load_config(data_dir(args)).language  # the bench's packers read it
    write_command_sheet(output_file(args.output), lang=lang)
    print(cli_text(N_("command sheet written to {path}"), path=args.output))
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from app.demo import demo_summary, seed_demo

    store = store_for(args)
    seeded = seed_demo(store, SystemClock())
    print(demo_summary() if seeded else cli_text(N_("store already holds orders; nothing seeded")))
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = Parser(prog="packbench", description=N_("PackBench pack station"))
    add_data_dir(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    command: CommandFactory = partial(subcommand, sub)

    p = command("import-orders", cmd_import_orders, N_("import an order export (all rows or none)"))
    p.add_argument("file")
    p.add_argument("--format", default="canonical",
                   help=N_("canonical, shopify, taobao, pdd, or the path of a mapping profile (.toml)"))
    p.add_argument("--lines", help=N_("Taobao: the separate line-items (宝贝) export"))
    p = command("import-products", cmd_import_products, N_("import products with barcodes, weights and stock"))
    p.add_argument("file")

    p = command("order", cmd_order_show, N_("show one order: lines, status, pack sessions, shipments"))
    p.add_argument("action", choices=["show"])
    p.add_argument("order_id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--reveal-phone", action="store_true", help=N_("show the full phone number (supervisors)"))

    p = command("operator", cmd_operator_add, N_("add or list operators"))
    op_sub = p.add_subparsers(dest="operator_action", required=True)
    add = subcommand(op_sub, "add", cmd_operator_add, N_("add an operator with a badge"))
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--badge", required=True)
    # Checked by the domain rather than argparse `choices`: a wrong value is one line, exit 2.
    add.add_argument("--language", metavar="|".join(LANGUAGES),
                     help=N_("the language the bench speaks after this operator's badge login "
                             "(default: the station's)"))
    lang = subcommand(op_sub, "set-language", cmd_operator_set_language,
                      N_("change an operator's language (applies from their next badge login)"))
    lang.add_argument("operator", help=N_("the operator's name or badge"))
    lang.add_argument("language", metavar="|".join((*LANGUAGES, FOLLOW_STATION)),
                      help=N_("station: follow the station's language again"))  # FOLLOW_STATION
    subcommand(op_sub, "list", cmd_operator_list, N_("list operators"))

    p = command("audit", cmd_audit_verify, N_("verify the hash-chained audit log"))
    p.add_argument("action", choices=["verify"])
    p = command("backup", cmd_backup, N_("copy the live store with SQLite's online backup"))
    p.add_argument("--to", required=True)
    p = command("command-sheet", cmd_command_sheet, N_("print the command barcodes to pin at the bench (PDF)"))
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--lang", choices=LANGUAGES, help=N_("the captions' language (default: the station's)"))
    p = command("demo", cmd_demo_seed, N_("seed demo operators, products, orders and waybills"))
    p.add_argument("action", choices=["seed"])

    from app.cli_logistics import register as register_logistics  # it imports this module

    register_logistics(sub, command)
    from app.cli_exceptions import register as register_exceptions  # it imports this module

    register_exceptions(sub, command)
    return parser, sub


def run(args: argparse.Namespace) -> int:
    """Run the command `args` names; any failure, Ctrl-C included, ends as one line and its exit code."""
    try:
        return int(args.handler(args))
    except (Exception, KeyboardInterrupt) as exc:
        return report(as_store_fault(exc, data_dir(args)), data_dir(args))
    finally:
        release_data_dirs()
