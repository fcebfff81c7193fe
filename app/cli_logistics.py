"""`packbench waybills`, `packbench passport` and `packbench handover` (docs/architecture.md §6.4, §6.5, §9.4).

`register(sub, command)` adds them to the parser `app.cli.build_parser` builds: `command` is its
`command(name, handler, help)` factory (one is made from `sub` when omitted). Exit codes: 0 success;
1 an error (one line on stderr); 4 a passport that does not verify; 5 a handover manifest was written
but some parcels were refused or intercepted (they are on stderr as `REFUSED …` and must be pulled).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from app.cli import CommandFactory, cli_text, data_dir, input_file, output_file, read_store, store_for, subcommand
from app.clock import SystemClock, parse_iso
from app.errors import InputError, NotFoundError
from app.i18n import N_, environment_language

EXIT_PASSPORT_REJECTED = 4
EXIT_PARCELS_REFUSED = 5
DEFAULT_ACTOR = "cli"


def register(sub: Any, command: CommandFactory | None = None) -> None:
    """Add the logistics subcommands to `packbench`'s subparsers."""
    command = command or partial(subcommand, sub)
    child = subcommand

    p = command("waybills", cmd_waybills_status, N_("waybill number pools per carrier: import, status"))
    ws = p.add_subparsers(dest="waybills_action", required=True)
    imp = child(ws, "import", cmd_waybills_import, N_("import a carrier's numbers, one per line (all or none)"))
    imp.add_argument("file")
    imp.add_argument("--carrier", required=True, help=N_("SF, ZTO, YTO, STO, YUNDA, JD, JT or EMS"))
    imp.add_argument("--operator", help=N_("who imports (recorded in the audit log)"))
    st = child(ws, "status", cmd_waybills_status, N_("free and used numbers per carrier; warns when low"))
    st.add_argument("--json", action="store_true")

    p = command("passport", cmd_passport_verify, N_("logistics passports: verify a token, show the station key"))
    ps = p.add_subparsers(dest="passport_action", required=True)
    v = child(ps, "verify", cmd_passport_verify, N_("check a passport token or URL offline (exit 4 if not genuine); "
              "a URL must point at this station's server (passport_base_url)"))
    v.add_argument("token", help=N_("the token, or the whole URL from the QR code"))
    v.add_argument("--json", action="store_true")
    child(ps, "key", cmd_passport_key, N_("show this station's passport public key (created if missing)"))

    p = command("handover", cmd_handover,
                N_("scan parcels out to a carrier's courier and write the manifest PDF to sign"))
    p.add_argument("--carrier", help=N_("the courier's carrier: SF, ZTO, ..."))
    p.add_argument("--courier", default="", help=N_("the courier's name, printed on the manifest"))
    p.add_argument("--scans", default="-", help=N_("read one label scan per line from FILE (default - : stdin)"))
    p.add_argument("-o", "--output", help=N_("manifest PDF to write"))
    p.add_argument("--operator", help=N_("who hands over (recorded in the audit log)"))
    p.add_argument("--station", help=N_("station id (default: from station.toml)"))
    hs = p.add_subparsers(dest="handover_action", required=False, metavar="{overdue,manifest}")
    od = child(hs, "overdue", cmd_handover_overdue, N_("parcels packed long ago and never handed over"))
    od.add_argument("--hours", type=float, default=None,
                    help=N_("older than this (default: handover_overdue_hours in station.toml, 12)"))
    od.add_argument("--only-carrier", help=N_("only this carrier's parcels"))
    od.add_argument("--json", action="store_true")
    mf = child(hs, "manifest", cmd_handover_manifest, N_("write the manifest PDF of a batch again"))
    mf.add_argument("batch_id")
    mf.add_argument("-o", "--output", dest="manifest_output", required=True)


def _config(args: argparse.Namespace) -> Any:
    from app.config import load_config

    return load_config(data_dir(args))


def _actor(args: argparse.Namespace) -> str:
    from app.store.models import Operator

    name = getattr(args, "operator", None)
    if not name:
        return DEFAULT_ACTOR
    if Operator.get_or_none(Operator.name == name) is None:
        raise NotFoundError(N_("no operator {name!r}: add one with `packbench operator add`"), name=name)
    return str(name)


# ----- waybills -----
def cmd_waybills_import(args: argparse.Namespace) -> int:
    from app.waybills import LowWater, import_waybills

    store = store_for(args)
    config = _config(args)
    report = import_waybills(store, Path(args.file), args.carrier, SystemClock(), _actor(args),
                             low_water=LowWater.from_config(config))
    print(report.summary(environment_language()))
    for warning in report.warnings:
        print(f"WARNING {warning.text(config.language)}", file=sys.stderr)
    return 0


def cmd_waybills_status(args: argparse.Namespace) -> int:
    from app.waybills import LowWater, pool_summary, pool_warnings

    read_store(args)
    config = _config(args)
    limits = LowWater.from_config(config)
    summary = pool_summary()
    warnings = pool_warnings(limits)
    if args.json:
        print(json.dumps({
            "pools": {c: {"free": f, "used": u, "low_water": limits.for_carrier(c)} for c, (f, u) in summary.items()},
            "warnings": [{"carrier": w.carrier, "free": w.free, "threshold": w.threshold, "level": w.level,
                          "message": w.text(config.language)} for w in warnings],
        }, ensure_ascii=False))
    elif not summary:
        print(cli_text(N_("no waybill numbers in the pool; import some with "
                          "`packbench waybills import FILE --carrier CODE`")))
    else:
        for carrier, (free, used) in summary.items():
            print(cli_text(N_("{carrier:<6} free {free:>7}  used {used:>7}  (warn below {threshold})"), carrier=carrier,
                           free=free, used=used, threshold=limits.for_carrier(carrier)))
    for warning in warnings:
        print(f"WARNING {warning.text(config.language)}", file=sys.stderr)
    return 0


# ----- passports -----
REJECTED = N_("passport rejected: {reason}")


def cmd_passport_verify(args: argparse.Namespace) -> int:
    from app.keys import key_id, load_station_public_key, verification_keys
    from app.passport import PassportError, foreign_host, verify_token

    directory = data_dir(args)
    try:
        fields = verify_token(args.token, verification_keys(directory))
    except PassportError as exc:
        print("packbench: " + cli_text(REJECTED, reason=exc.text(environment_language())), file=sys.stderr)
        return EXIT_PASSPORT_REJECTED
    elsewhere = foreign_host(args.token, _config(args).passport_base_url)
    if elsewhere:
        print("packbench: " + cli_text(REJECTED, reason=elsewhere), file=sys.stderr)
        return EXIT_PASSPORT_REJECTED
    own = load_station_public_key(directory)
    mine = own is not None and key_id(own) == fields.key_id
    signer = "this station" if mine else "trusted key"  # a code in the JSON
    data = {**fields.as_json(), "signed_by": signer}
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        local = fields.issued_at.astimezone(ZoneInfo(_config(args).timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")
        print(cli_text(N_("passport {passport}: genuine, signed by this station (key {key})") if mine else
                       N_("passport {passport}: genuine, signed by trusted key (key {key})"),
                       passport=fields.passport_id, key=fields.key_id.hex()))
        for name in ("station", "order_id", "carrier", "tracking_no"):
            print(f"  {name:<12} {data[name]}")
        print(f"  {'issued_at':<12} {data['issued_at']} ({local})")
    return 0


def cmd_passport_key(args: argparse.Namespace) -> int:
    from app.keys import key_id, load_or_create_station_key, private_key_path, public_pem

    key = load_or_create_station_key(data_dir(args))
    print(cli_text(N_("key id {key}  (private key: {path})"), key=key_id(key.public_key()).hex(),
                   path=private_key_path(data_dir(args))))
    print(public_pem(key.public_key()).decode("ascii"), end="")
    return 0


# ----- handover -----
def _scans(source: str) -> Iterator[str]:
    # Bytes that are not UTF-8 (a misread label) are refused as an unknown code, as any misread is,
    # instead of a decoding error ending the batch half-scanned.
    stream: TextIO = sys.stdin if source == "-" else open(source, encoding="utf-8-sig", errors="replace")  # noqa: SIM115
    if isinstance(stream, io.TextIOWrapper) and stream is sys.stdin:
        stream.reconfigure(errors="replace")
    try:
        for line in stream:
            text = line.strip()
            if text:
                yield text
    finally:
        if stream is not sys.stdin:
            stream.close()


def _emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _loud(outcome: Any, lang: str) -> None:
    """A handover outcome as JSON, a refusal also on stderr: both in the station's language."""
    _emit(outcome.as_json(lang))
    if outcome.refused:
        print(f"REFUSED {outcome.text(lang)}", file=sys.stderr, flush=True)


def cmd_handover(args: argparse.Namespace) -> int:
    from app.documents.manifest import write_manifest
    from app.handover import HandoverError, HandoverService

    if not args.carrier or not args.output:
        raise InputError(N_("handover needs --carrier CODE and -o MANIFEST.pdf (or: handover overdue | manifest)"))
    input_file("--scans", args.scans)  # before a batch is opened: a mistyped name must leave none open
    store = store_for(args)
    config = _config(args)
    service = HandoverService(store, SystemClock(), args.station or config.station, _actor(args), config.timezone)
    batch = service.open_batch(args.carrier)
    _emit({"event": "batch_resumed" if batch.resumed else "batch_opened", "level": "warn" if batch.resumed else "ok",
           "code": None, "tracking_no": None, "order_id": None, "batch_id": batch.batch_id, "carrier": batch.carrier,
           "count": batch.count})
    refused = 0
    for code in _scans(args.scans):
        outcome = service.scan(batch, code)
        refused += outcome.refused
        _loud(outcome, config.language)
    try:
        manifest = service.close(batch, args.courier)
    except HandoverError as exc:
        for outcome in exc.intercepted:
            _loud(outcome, config.language)
        raise
    for outcome in manifest.intercepted:
        _loud(outcome, config.language)
    refused += len(manifest.intercepted)
    pages = write_manifest(output_file(args.output), manifest, warehouse=config.sender.name, tz=config.timezone,
                           lang=config.language)
    _emit({"event": "batch_closed", "level": "ok", "code": None, "tracking_no": None, "order_id": None,
           "batch_id": manifest.batch_id, "carrier": manifest.carrier, "count": manifest.count,
           "courier": manifest.courier, "refused": refused, "manifest": str(args.output), "pages": pages})
    if refused:
        print("packbench: " + cli_text(N_("{count} parcel(s) REFUSED — pull them from the courier's pile"),
                                       count=refused), file=sys.stderr)
        return EXIT_PARCELS_REFUSED
    return 0


def cmd_handover_overdue(args: argparse.Namespace) -> int:
    from app.handover import HandoverService

    store = store_for(args)
    config = _config(args)
    hours = args.hours if args.hours is not None else config.handover_overdue_hours
    service = HandoverService(store, SystemClock(), args.station or config.station, DEFAULT_ACTOR, config.timezone)
    parcels = service.overdue_parcels(timedelta(hours=float(hours)), carrier=args.only_carrier)
    if args.json:
        print(json.dumps([p.as_json() for p in parcels], ensure_ascii=False))
        return 0
    zone = ZoneInfo(config.timezone)
    for p in parcels:
        packed = parse_iso(p.packed_at).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        extra = f"  in open batch {p.open_batch}" if p.open_batch else ""
        print(f"{p.tracking_no:<18} {p.order_id:<22} {p.carrier:<6} packed {packed}  {p.age_hours:6.1f} h"
              f"  [{p.order_status}]{extra}")
    print(cli_text(N_("{count} parcel(s) packed more than {hours:g} h ago and not handed over"), count=len(parcels),
                   hours=float(hours)))
    return 0


def cmd_handover_manifest(args: argparse.Namespace) -> int:
    from app.documents.manifest import write_manifest
    from app.handover import HandoverService

    store = store_for(args)
    config = _config(args)
    service = HandoverService(store, SystemClock(), args.station or config.station, DEFAULT_ACTOR, config.timezone)
    manifest = service.manifest(args.batch_id)
    pages = write_manifest(output_file(args.manifest_output), manifest, warehouse=config.sender.name,
                           tz=config.timezone, lang=config.language)
    print(cli_text(N_("manifest of {batch} ({count} parcels, {pages} page(s)) written to {path}"),
                   batch=manifest.batch_id, count=manifest.count, pages=pages, path=args.manifest_output))
    return 0
