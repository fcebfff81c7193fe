"""Product import: barcodes keyed by their normalised GTIN, one sku per barcode, all-or-nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.importers import ImportFileError, import_products
from app.store import Store
from app.store.models import AuditEntry, Product, ProductBarcode

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
HEADER = "sku,name,barcodes,weight_g,stock"


def products_file(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "products.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def codes(sku: str) -> dict[str, str]:
    query = ProductBarcode.select(ProductBarcode.key, ProductBarcode.raw).join(Product).where(Product.sku == sku)
    return dict(query.tuples())


def product(sku: str) -> Product:
    return Product.get(Product.sku == sku)


def counts() -> tuple[int, int, int]:
    return Product.select().count(), ProductBarcode.select().count(), AuditEntry.select().count()


def test_products_and_normalised_barcode_keys(store: Store, clock: FakeClock) -> None:
    report = import_products(store, FIXTURES / "products.csv", clock)

    assert (report.profile, report.rows, report.created, report.updated, report.unchanged) == ("products", 4, 4, 0, 0)
    shirt = product("TS-WHT-L")
    assert (shirt.name, shirt.weight_g, shirt.stock, shirt.updated_at) == (
        "纯棉T恤 白色 L", 180, 120, "2026-11-25T02:00:00.000Z")
    assert codes("TS-WHT-L") == {"06901234567892": "6901234567892"}  # EAN-13 → GTIN-14 key
    assert codes("BAG-CNV") == {"00012345678905": "012345678905", "BAG-CNV-INT": "BAG-CNV-INT"}  # UPC-A; own code
    assert codes("MUG-01") == {"00000096385074": "96385074"}  # EAN-8
    assert codes("UMB-01") == {}
    entry = AuditEntry.get()
    payload = json.loads(entry.payload)
    assert entry.kind == "import.products"
    assert payload["sha256"] == hashlib.sha256((FIXTURES / "products.csv").read_bytes()).hexdigest()
    assert (payload["file"], payload["created"]) == ("products.csv", 4)


def test_reimport_is_unchanged_and_update_replaces_barcodes(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    import_products(store, FIXTURES / "products.csv", clock)
    again = import_products(store, FIXTURES / "products.csv", clock)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert counts()[:2] == (4, 4)

    clock.advance(60)
    changed = products_file(tmp_path, "BAG-CNV,Canvas Tote Bag,0012345678905,260,35", "NEW-1,新品,,0,0")
    report = import_products(store, changed, clock)

    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    bag = product("BAG-CNV")
    assert (bag.weight_g, bag.stock, bag.updated_at) == (260, 35, "2026-11-25T02:01:00.000Z")
    assert codes("BAG-CNV") == {"00012345678905": "0012345678905"}  # BAG-CNV-INT gone
    assert product("MUG-01").updated_at == "2026-11-25T02:00:00.000Z"  # not in the file: untouched


def test_missing_optional_columns_keep_stored_values(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    import_products(store, FIXTURES / "products.csv", clock)
    import_products(store, products_file(tmp_path, "MUG-01,陶瓷马克杯 Ceramic Mug,3", header="sku,name,stock"), clock)
    mug = product("MUG-01")
    assert (mug.stock, mug.weight_g) == (3, 420)
    assert codes("MUG-01") == {"00000096385074": "96385074"}


def test_a_barcode_may_move_to_another_sku_listed_in_the_same_file(store: Store, clock: FakeClock,
                                                                   tmp_path: Path) -> None:
    import_products(store, FIXTURES / "products.csv", clock)
    moved = products_file(tmp_path, "MUG-01,Mug,,420,8", "UMB-01,Umbrella,96385074,300,0")
    import_products(store, moved, clock)
    assert codes("MUG-01") == {}
    assert codes("UMB-01") == {"00000096385074": "96385074"}


def test_progress(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = products_file(tmp_path, *[f"SKU-{i},Item {i},INT-{i},{i},{i}" for i in range(2100)])
    calls: list[tuple[int, int]] = []
    import_products(store, path, clock, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1000, 2100), (2000, 2100), (2100, 2100)]


@pytest.fixture
def seeded(store: Store, clock: FakeClock) -> tuple[int, int, int]:
    import_products(store, FIXTURES / "products.csv", clock)
    return counts()


@pytest.mark.parametrize(("rows", "row", "column", "message"), [
    pytest.param(["A,Alpha,6901234567890,1,1"], 3, "barcodes", "check digit wrong in 6901234567890", id="check-digit"),
    pytest.param(["A,Alpha,6.90123E+12,1,1"], 3, "barcodes", "scientific notation", id="excel-mangled"),
    pytest.param(["A,Alpha,X-1,1,1", "B,Beta,Y-1|X-1,1,1"], 4, "barcodes",
                 "barcode 'X-1' is also listed for sku 'A' on row 3", id="same-code-two-skus"),
    pytest.param(["A,Alpha,012345678905,1,1", "B,Beta,0012345678905,1,1"], 4, "barcodes",
                 "not to 'A' and 'B'", id="upc-a-and-its-ean-13-form"),
    pytest.param(["A,Alpha,6901234567892,1,1"], 3, "barcodes",
                 "barcode '6901234567892' is already bound to sku 'TS-WHT-L', not 'A'", id="bound-in-store"),
    pytest.param(["A,Alpha,,1,1", "A,Again,,1,1"], 4, "sku", "sku 'A' is already on row 3", id="duplicate-sku"),
    pytest.param(["A,Alpha,,1,-4"], 3, "stock", "must not be negative: '-4'", id="negative-stock"),
    pytest.param(["A,Alpha,,heavy,1"], 3, "weight_g", "not a number: 'heavy'", id="bad-weight"),
    pytest.param(["A,Alpha,,99999999999999999999,1"], 3, "weight_g", "too large: '99999999999999999999'",
                 id="huge-weight"),  # it overflowed SQLite's integers when stored: reported as a bug
    pytest.param(["A,,,1,1"], 3, "name", "name is empty", id="empty-name"),
])
def test_broken_rows_name_row_and_column_and_import_nothing(store: Store, clock: FakeClock, tmp_path: Path,
                                                            seeded: tuple[int, int, int], rows: list[str], row: int,
                                                            column: str, message: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        # A valid row 2 first: its barcode must not be stored either.
        import_products(store, products_file(tmp_path, "OK-1,Fine,OK-CODE,1,1", *rows), clock)
    err = caught.value
    assert (err.row, err.column) == (row, column), str(err)
    assert message in str(err)
    assert str(err).startswith(f"products.csv row {row}, column {column!r}: ")
    assert counts() == seeded
    assert ProductBarcode.get_or_none(ProductBarcode.key == "OK-CODE") is None


def test_missing_sku_column(store: Store, clock: FakeClock, tmp_path: Path, seeded: tuple[int, int, int]) -> None:
    with pytest.raises(ImportFileError, match=r"products.csv row 1, column 'sku': missing column"):
        import_products(store, products_file(tmp_path, "Alpha,1", header="name,stock"), clock)
    assert counts() == seeded
