"""Order and product import (docs/architecture.md §3.3, §13): `packbench import-orders` and `import-products`.

    OrderStream(path, profile)       pure: file → validated OrderRecords, streamed (constant memory)
    parse_orders(path, profile)      the same as a list (the server reuses it)
    apply_orders(store, records, clock, source=...)   one transaction + one audit entry
    import_orders(store, path, fmt, clock, progress=None, lines_path=None, rules_progress=None)
                                     both, then the import rules, for the CLI and UI

A file imports all-or-nothing: rows are validated as they stream and written chunk by chunk inside
one `store.atomic()` transaction that also holds its `import.orders` / `import.products` audit
entry, so a bad row anywhere rolls the whole file back.
Errors are `ImportFileError`, whose message is one line naming the file, the row (the physical line,
header = 1) and the column. Re-import semantics: see `app.importers.apply`. Platform formats are
TOML profiles (`app.importers.profile`); `fmt` is a built-in name or a path to a profile file.

After an order import commits, `import_orders` runs the exception rules with trigger "import" over
the imported orders, batch by batch with progress of their own; a rule failure is logged and never
fails the import (it is already committed).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.clock import Clock
from app.importers.apply import Counts, Source, apply_orders, apply_products
from app.importers.orders import LineRecord, OrderRecord, OrderStream, ParseStats, Progress, parse_orders
from app.importers.products import ProductRecord, parse_products
from app.importers.profile import Profile, ProfileError, builtin_names, load_profile
from app.importers.source import ImportFileError
from app.store import Store

__all__ = [
    "Counts", "ImportFileError", "ImportReport", "LineRecord", "OrderRecord", "OrderStream", "ParseStats",
    "ProductRecord", "Profile",
    "ProfileError", "Source", "apply_orders", "apply_products", "builtin_names", "import_orders",
    "import_products", "load_profile", "parse_orders", "parse_products",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    profile: str  # profile name ("products" for a product import)
    rows: int  # data rows read (both files for an order import with a lines file)
    created: int
    updated: int
    unchanged: int
    skipped_lines: int = 0  # lines that need no shipping (gift cards, tips)
    empty_orders: int = 0  # orders with nothing to ship: not imported
    merged_lines: int = 0  # the same SKU twice in an order, folded into one line
    held: int = 0  # orders held because a line has no SKU (each with a case)
    cases: int = 0  # cases the import rules opened


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_orders(store: Store, path: Path | str, fmt: str | Path, clock: Clock, progress: Progress | None = None,
                  lines_path: Path | str | None = None, *, actor: str = "import",
                  rules_progress: Progress | None = None) -> ImportReport:
    """Stream, validate and apply one order export in one transaction (ImportFileError or
    ProfileError: nothing written), then run the import rules over its orders in batches.

    `progress(done, total)` counts rows (total is the file's line count until the last call, made
    once the import is committed); `rules_progress(done, total)` counts orders the rules have seen.
    """
    path = Path(path)
    profile = load_profile(fmt)
    stream = OrderStream(path, profile, lines_path, _Deferred(progress))
    order_ids: list[str] = []

    def records() -> Iterator[OrderRecord]:
        for record in stream:
            order_ids.append(record.order_id)
            yield record

    def source() -> Source:
        lines_file = stream.lines_path
        return Source(path, stream.sniffed.sha256, stream.stats.rows, profile.name, lines_file,
                      stream.lines_sniffed.sha256 if stream.lines_sniffed else None)

    counts = apply_orders(store, records(), clock, source=source, actor=actor)
    if progress is not None:
        progress(stream.stats.rows, stream.stats.rows)
    cases = _run_import_rules(store, clock, order_ids, rules_progress)
    stats = stream.stats
    return ImportReport(profile.name, stats.rows, counts.created, counts.updated, counts.unchanged,
                        stats.skipped_lines, stats.empty_orders, stats.merged_lines, stats.attention, cases)


class _Deferred:
    """Passes the parser's progress on, except its last call: an import is done when it is committed."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, done: int, total: int) -> None:
        if self.progress is not None and done < total:
            self.progress(done, total)


def _run_import_rules(store: Store, clock: Clock, order_ids: Sequence[str], progress: Progress | None) -> int:
    """The "import" rules over the imported orders (after the commit), in batches that report their
    progress; returns the cases opened. Failures are only logged: the import stands."""
    if not order_ids:
        return 0
    try:
        from app.rules import load_book, run_rules

        return len(run_rules(store, clock, load_book(store).current, "import", order_ids, progress=progress))
    except Exception:
        log.exception("exception rules failed after importing %d order(s); the import stands", len(order_ids))
        return 0


def import_products(store: Store, path: Path | str, clock: Clock, progress: Progress | None = None, *,
                    actor: str = "import") -> ImportReport:
    path = Path(path)
    records = parse_products(path, _Deferred(progress))
    source = Source(path, _sha256(path), len(records), "products")
    counts = apply_products(store, records, clock, source=source, actor=actor)
    if progress is not None:
        progress(len(records), len(records))
    return ImportReport("products", len(records), counts.created, counts.updated, counts.unchanged)
