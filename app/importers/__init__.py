"""Order and product import (design §3, §11): `packbench import-orders` and `import-products`.

    parse_orders(path, profile)      pure: file → validated OrderRecords (the server reuses it)
    apply_orders(store, records, clock, source=...)   one transaction + one audit entry
    import_orders(store, path, fmt, clock, progress=None, lines_path=None)   both, for the CLI and UI

A file imports all-or-nothing: every row is validated before anything is written, and the write is
one `store.atomic()` transaction together with its `import.orders` / `import.products` audit entry.
Errors are `ImportFileError`, whose message is one line naming the file, the row (the physical line,
header = 1) and the column. Re-import semantics: see `app.importers.apply`. Platform formats are
TOML profiles (`app.importers.profile`); `fmt` is a built-in name or a path to a profile file.

After an order import commits, `import_orders` runs the exception rules with trigger "import" over
the imported orders; a rule failure is logged and never fails the import (it is already committed).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.clock import Clock
from app.importers.apply import Counts, Source, apply_orders, apply_products
from app.importers.orders import LineRecord, OrderRecord, Progress, parse_orders
from app.importers.products import ProductRecord, parse_products
from app.importers.profile import Profile, ProfileError, builtin_names, load_profile
from app.importers.source import ImportFileError
from app.store import Store

__all__ = [
    "Counts", "ImportFileError", "ImportReport", "LineRecord", "OrderRecord", "ProductRecord", "Profile",
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _RowCount:
    """Passes the parser's progress on, except its last call: an import is done when it is committed."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.total = progress, 0

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        if self.progress is not None and done < total:
            self.progress(done, total)

    def committed(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def import_orders(store: Store, path: Path | str, fmt: str | Path, clock: Clock, progress: Progress | None = None,
                  lines_path: Path | str | None = None, *, actor: str = "import") -> ImportReport:
    """Parse and apply one order export; raises ImportFileError (nothing written) or ProfileError."""
    path = Path(path)
    profile = load_profile(fmt)
    rows = _RowCount(progress)
    records = parse_orders(path, profile, lines_path, rows)
    source = Source(path, _sha256(path), rows.total, profile.name,
                    Path(lines_path) if lines_path else None, _sha256(Path(lines_path)) if lines_path else None)
    counts = apply_orders(store, records, clock, source=source, actor=actor)
    rows.committed()
    _run_import_rules(store, clock, [r.order_id for r in records])
    return ImportReport(profile.name, rows.total, counts.created, counts.updated, counts.unchanged)


def _run_import_rules(store: Store, clock: Clock, order_ids: Sequence[str]) -> None:
    """The "import" rules over the imported orders (after the commit); failures are only logged."""
    if not order_ids:
        return
    try:
        from app.rules import load_book, run_rules

        run_rules(store, clock, load_book(store).current, "import", list(dict.fromkeys(order_ids)))
    except Exception:
        log.exception("exception rules failed after importing %d order(s); the import stands", len(order_ids))


def import_products(store: Store, path: Path | str, clock: Clock, progress: Progress | None = None, *,
                    actor: str = "import") -> ImportReport:
    path = Path(path)
    rows = _RowCount(progress)
    records = parse_products(path, rows)
    source = Source(path, _sha256(path), rows.total, "products")
    counts = apply_products(store, records, clock, source=source, actor=actor)
    rows.committed()
    return ImportReport("products", rows.total, counts.created, counts.updated, counts.unchanged)
