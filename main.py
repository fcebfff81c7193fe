"""PackBench entry point and composition root.

`packbench` with no command starts the station window; `packbench pack` runs the same flow headless
for automated lines; every other command is in `app.cli`. This module is where devices (drivers/)
meet the domain (app/), which itself never imports a driver.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from app import cli
from app.clock import SystemClock
from app.config import load_config
from app.errors import DeviceError, NotFoundError, report
from app.i18n import N_
from app.version import version_text

if TYPE_CHECKING:
    from app.labels import Label

UNENROLLED_QR = N_("this station is not enrolled: the passport QR codes on its labels point nowhere a customer "
                   "can open; run `packbench station enroll` ({url})")


def _add_pack_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = cli.subcommand(sub, "pack", run_pack, N_("run the pack flow headless (automated lines)"),
                       N_("Run the pack flow with no screen; one JSON object per outcome on stdout."))
    p.add_argument("--scanner", default="sim", help=N_("serial:PORT?baud=N, tcp:HOST:PORT, file:PATH or sim"))
    p.add_argument("--scale", default="sim", help=N_("serial:PORT?baud=N, file:PATH or sim"))
    p.add_argument("--printer", default="sim", help=N_("sim, file:PATH, ..."))
    p.add_argument("--scans", help=N_("read one scan per line from FILE (- for stdin) instead of a scanner"))
    p.add_argument("--weights", help=N_("read one weight per line (1.234kg or 1234g) instead of a scale"))
    p.add_argument("--operator", help=N_("operator the outcomes are attributed to (e.g. the line's own)"))
    p.add_argument("--station", help=N_("station id (default: from station.toml)"))
    t = cli.subcommand(sub, "print-test", run_print_test,
                       N_("print a test label (Chinese text, Code 128, QR) on a printer SPEC"))
    t.add_argument("--printer", required=True,
                   help=N_("e.g. tcp:192.168.1.50:9100?lang=zpl&dpi=203, pdf:/tmp/test.pdf"))
    g = cli.subcommand(sub, "gui", run_gui, N_("start the station window (the default)"))
    g.add_argument("--demo", action="store_true", help=N_("simulated devices and seeded demo orders"))
    cli.subcommand(sub, "doctor", run_doctor,
                   N_("check this bench: config, store, disk, devices, server, clock, backups"),
                   N_("One line per check (ok / warn / FAIL); exit 1 if any check failed."))


def run_pack(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.headless import run_line
    from app.store.models import Operator
    from drivers.scales import WeightsFileScale
    from drivers.scanners import FileScanner
    from wiring import open_devices, open_station

    data_dir = cli.data_dir(args)
    scans = cli.input_file("--scans", args.scans) if args.scans else None
    weights = cli.input_file("--weights", args.weights) if args.weights else None
    config = replace(load_config(data_dir), scanner=args.scanner, scale=args.scale, printer=args.printer)
    if args.station:
        config.station = args.station
    clock = SystemClock()
    store = cli.store_for(args)
    if args.operator and Operator.get_or_none(Operator.name == args.operator) is None:
        raise NotFoundError(N_("no operator {name!r}: add one with `packbench operator add {name!r} --role line "
                               "--badge CODE`"), name=args.operator)
    devices = open_devices(config, clock, FileScanner(scans, clock=clock) if scans else None,
                           WeightsFileScale(weights, clock=clock) if weights else None,
                           source=lambda key: f"--{key}")
    if devices.scanner is None:
        raise cli.CliError(N_("a keyboard-wedge scanner needs the station window: give --scanner SPEC or --scans FILE"))
    station = open_station(store, data_dir, config, clock, devices)
    try:
        return run_line(station.runtime, sys.stdout, getattr(devices.scanner, "done", None), operator=args.operator)
    finally:
        station.close()


def run_print_test(args: argparse.Namespace) -> int:
    from app.devices import PrinterError
    from app.labels import print_test_label
    from drivers.printers.factory import open_printer
    from sync.credentials import CredentialsError, load_credentials

    data_dir = cli.data_dir(args)
    config = load_config(data_dir)
    cli.hold_data_dir(args)  # a bench printing its labels must not see test labels slip in between
    printer = open_printer(args.printer)
    try:
        printer.print_label(print_test_label(config.sender_party(), config.station))
    except PrinterError as exc:
        raise DeviceError(N_("test label not printed: {reason}"), reason=exc.words) from exc
    print(cli.cli_text(N_("test label sent to {printer}"), printer=printer.name))
    try:
        enrolled = load_credentials(data_dir) is not None
    except CredentialsError:
        enrolled = False
    if not enrolled:
        print("WARNING " + cli.cli_text(UNENROLLED_QR, url=config.passport_base_url), file=sys.stderr)
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from doctor import run_doctor as doctor

    return doctor(args)


def run_gui(args: argparse.Namespace) -> int:
    from ui.app import run_station

    return run_station(cli.data_dir(args), demo=getattr(args, "demo", False))


def _label_renderer() -> Callable[[Label], bytes]:
    from drivers.printers.preview import render_png

    return render_png


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:  # before a command started; cli.run reports those during one
        return report(exc)


def _main(argv: list[str] | None) -> int:
    from app.evidence.cli import register as register_evidence
    from server.cli import register as register_server
    from sync.cli import register as register_sync

    parser, sub = cli.build_parser()
    _add_pack_command(sub)
    register_evidence(sub, renderer=_label_renderer)
    register_sync(sub)
    register_server(sub)
    parser.add_argument("--version", action="version", version=version_text(),
                        help=N_("print the version and build, then exit"))
    parser.add_argument("--self-test", action="store_true",
                        help=N_("check headless that this build can run a bench "
                                "(Qt, store, labels, barcodes, drivers)"))
    args = parser.parse_args(argv)
    if args.self_test:
        from selftest import run_self_test

        return run_self_test()
    if getattr(args, "handler", None) is None:
        args.handler = run_gui
    return cli.run(args)  # the one reporter: every failure is one line and its family's exit code


if __name__ == "__main__":
    sys.exit(main())
