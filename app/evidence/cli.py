"""`packbench evidence ORDER... -o FILE.pdf | --per-order DIR [--reveal-phone]` (docs/architecture.md §9.2).

The pack shows the label as printed, which needs a label renderer from `drivers/`; `app` never
imports `drivers`, so the composition root (`main.py`) registers this command and passes a factory
that imports the renderer only when the command runs:

    from app.evidence.cli import register as register_evidence
    register_evidence(sub, renderer=lambda: importlib.import_module("drivers.printers.preview").render_png)

Exit codes: 0 written; 1 an error (one line on stderr, nothing written); 3 written, but the audit chain
is broken, a row the pack prints no longer matches the audit entry that wrote it, or a packing photo is
altered or missing (the packs say so in red, and so does stderr) — the same code as `packbench audit verify`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from app.cli import CommandFactory, data_dir, output_file, output_folder, read_store, subcommand
from app.documents.words import BOTH
from app.errors import InputError
from app.i18n import LANGUAGES

EXIT_CHAIN_BROKEN = 3

LabelRenderer = Callable[[Any], bytes]


def register(sub: Any, command: CommandFactory | None = None, *,
             renderer: Callable[[], LabelRenderer]) -> argparse.ArgumentParser:
    """Add `evidence` to `packbench`'s subparsers. `renderer()` returns the label renderer
    (`drivers.printers.preview.render_png`); it is called only when the command runs."""
    command = command or partial(subcommand, sub)

    def handler(args: argparse.Namespace) -> int:
        return cmd_evidence(args, renderer)

    p = command("evidence", handler, "write the evidence pack PDF of orders: scans, label, handover, tracking, "
                                     "SLA verdict, passport QR, audit digest")
    p.add_argument("order_ids", nargs="*", metavar="ORDER", help="order ids (platform order numbers)")
    p.add_argument("--orders-file", help="read more order ids from FILE, one per line")
    p.add_argument("-o", "--output", help="the PDF to write, one section per order")
    p.add_argument("--per-order", metavar="DIR", help="write one PDF per order into DIR instead")
    p.add_argument("--reveal-phone", action="store_true", help="print receivers' full phone numbers (supervisors)")
    p.add_argument("--lang", choices=(*LANGUAGES, BOTH), default=BOTH,
                   help="the pack's language: zh_CN, en, or both side by side (default: both, for a dispute's "
                        "reader, who may read either)")
    return p


def _order_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.order_ids)
    if args.orders_file:
        text = Path(args.orders_file).read_text("utf-8-sig")
        ids += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not ids:
        raise InputError("evidence needs at least one ORDER id (or --orders-file FILE)")
    return ids


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total:
        print(f"\revidence: {done}/{total} orders ({100 * done // total}%)", end="\n" if done == total else "",
              file=sys.stderr, flush=True)


def cmd_evidence(args: argparse.Namespace, renderer: Callable[[], LabelRenderer]) -> int:
    from app.config import load_config
    from app.evidence.service import EvidenceSettings, gather_evidence, write_evidence

    if bool(args.output) == bool(args.per_order):
        raise InputError("evidence needs either -o FILE.pdf (one file) or --per-order DIR (one file per order)")
    ids = _order_ids(args)
    store = read_store(args)
    config = load_config(data_dir(args))
    settings = EvidenceSettings.from_config(config, reveal_phone=args.reveal_phone, lang=args.lang)
    target = output_folder(args.per_order) if args.per_order else output_file(args.output)
    batch = gather_evidence(store, ids, render_label_png=renderer(), settings=settings)
    chain = batch.chain
    paths = write_evidence(batch, target, per_order=bool(args.per_order), progress=_progress)
    count = f"{len(batch.items)} order(s)"
    print(f"evidence pack of {count} written to {target} ({len(paths)} files)" if args.per_order
          else f"evidence pack of {count} written to {paths[0]}")
    failed = not chain.ok
    if failed:
        print(f"packbench: WARNING the audit chain is BROKEN ({chain.problem}); the pack says so",
              file=sys.stderr)
    for item in batch.items:
        order_id = item.evidence.order.order_id
        for problem in item.rows.problems if item.rows is not None else ():
            print(f"packbench: WARNING order {order_id}: {problem}; the pack says so", file=sys.stderr)
            failed = True
        for photo in item.evidence.photos:
            if photo.status != "ok":
                print(f"packbench: WARNING order {order_id}: packing photo {photo.file} is {photo.status} "
                      f"(audit entry {photo.audit_seq} holds its SHA-256); the pack says so", file=sys.stderr)
                failed = True
    return EXIT_CHAIN_BROKEN if failed else 0
