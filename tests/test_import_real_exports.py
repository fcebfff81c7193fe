"""Exports as shops really download them: lines that ship nothing,
lines without SKU, repeated SKUs, header vintages, discounts, the Taobao item report, one stock-gap
case per SKU, and a product import that refuses an orders file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.audit_rows import verify_store
from app.clock import FakeClock
from app.errors import ExitCode
from app.importers import ImportFileError, import_orders, import_products
from app.rules import load_book, run_rules
from app.store import Store
from app.store.models import AuditEntry, ExceptionCase, Order, OrderLine, Product
from main import main

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def lines(order_id: str) -> list[tuple[int, str, str, int, int]]:
    query = (OrderLine.select(OrderLine.line_no, OrderLine.sku, OrderLine.name, OrderLine.qty,
                              OrderLine.unit_price_cents)
             .join(Order).where(Order.order_id == order_id).order_by(OrderLine.line_no))
    return list(query.tuples())


def cases(tag: str) -> list[ExceptionCase]:
    return list(ExceptionCase.select().where(ExceptionCase.tag == tag).order_by(ExceptionCase.id))


def counts() -> tuple[int, int, int]:
    return Order.select().count(), OrderLine.select().count(), ExceptionCase.select().count()


# ---- Shopify ------------------------------------------------------------------------------------------

def test_shopify_skips_unshipped_lines_holds_sku_less_ones_and_merges_repeats(store: Store, clock: FakeClock) -> None:
    report = import_orders(store, FIXTURES / "shopify_orders_2026.csv", "shopify", clock)

    assert (report.rows, report.created, report.skipped_lines, report.empty_orders) == (7, 2, 3, 1)
    assert (report.merged_lines, report.held) == (1, 1)
    # The T-shirt's two rows are one line; the gift card is gone; the engraving has no SKU and stays.
    assert lines("#2001") == [(1, "TS-WHT-L", "Cotton T-Shirt - White / L", 2, 8900),
                              (2, "", "Custom engraving", 1, 3000)]
    held = Order.get(Order.order_id == "#2001")
    assert held.status == "on_hold"
    assert (held.discount_cents, held.shipping_cents) == (2000, 1200)
    [case] = cases("import_attention")
    assert case.order.order_id == "#2001" and case.route == "supervisor"
    assert json.loads(case.detail)["lines"] == ["row 5: line 'Custom engraving' has no SKU"]
    # The tip is skipped; the order itself is fine.
    assert Order.get(Order.order_id == "#2002").status == "paid"
    assert lines("#2002") == [(1, "MUG-01", "Ceramic Mug", 1, 4500)]
    assert Order.get_or_none(Order.order_id == "#2003") is None  # only a gift card: nothing to pack

    again = import_orders(store, FIXTURES / "shopify_orders_2026.csv", "shopify", clock)
    assert (again.created, again.unchanged) == (0, 2)
    assert len(cases("import_attention")) == 1  # the live case is not opened twice


def test_cli_report_names_what_was_skipped_and_held(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "s"), "import-orders", str(FIXTURES / "shopify_orders_2026.csv"),
                 "--format", "shopify"]) == 0
    captured = capsys.readouterr()
    assert "2 created" in captured.out
    assert "3 lines need no shipping (skipped)" in captured.out
    assert "1 order(s) with nothing to ship" in captured.out
    assert "1 repeated SKU line(s) merged" in captured.out
    assert "1 order(s) held: a line has no SKU" in captured.out
    assert "rules 2/2 orders" in captured.err


# ---- Pinduoduo ------------------------------------------------------------------------------------------

def test_pdd_newer_vintage_gb18030_excel_quoted(store: Store, clock: FakeClock) -> None:
    raw = (FIXTURES / "pdd_orders_2026_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "（元）".encode("gb18030") in raw and b"(\xd4\xaa)" in raw  # both parenthesis widths

    report = import_orders(store, FIXTURES / "pdd_orders_2026_gbk.csv", "pdd", clock)

    assert report.created == 3
    o = Order.get(Order.order_id == "260301-402918374650183")
    assert o.receiver_phone == "13500009999"  # 收货人手机, apostrophe gone
    assert o.receiver_address == "北京市 北京市 朝阳区 建国路 1号 SOHO 3期 1座 1203"  # 详细地址 kept
    assert (o.paid_cents, o.discount_cents, o.shipping_cents) == (16300, 1500, 0)  # 商家 10 + 平台 5
    mug = Order.get(Order.order_id == "260301-582019384756102")
    assert (mug.shipping_cents, mug.note) == (800, "请用纸箱（不要泡沫袋）")  # full-width parentheses kept
    assert Order.get(Order.order_id == "260301-700000000000001").status == "cancelled"  # no receiver: fine
    # paid = lines − discounts + postage on both open orders: no false payment case.
    assert cases("payment_anomaly") == []


def _pdd_rewritten(tmp_path: Path, old: str, new: str) -> Path:
    text = (FIXTURES / "pdd_orders_2026_gbk.csv").read_bytes().decode("gb18030").replace(old, new)
    path = tmp_path / "pdd.csv"
    path.write_bytes(text.encode("gb18030"))
    return path


@pytest.mark.parametrize(("old", "new", "row", "column", "message"), [
    # A vintage whose street column this profile does not know: refused at the header, not imported blank.
    ('"详细地址"', '"收货详细地址"', 1, "街道", "missing column (or '详细地址'), needed for receiver_address"),
    # An open order whose phone is blank after mapping.
    ('"13611112222"', '""', 3, "收货人手机", "receiver_phone is empty after mapping"),
], ids=["unknown-street-header", "blank-phone"])
def test_pdd_receiver_lost_in_mapping_refuses_the_file(store: Store, clock: FakeClock, tmp_path: Path, old: str,
                                                       new: str, row: int, column: str, message: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        import_orders(store, _pdd_rewritten(tmp_path, old, new), "pdd", clock)
    assert (caught.value.row, caught.value.column) == (row, column)
    assert message in str(caught.value)
    assert counts() == (0, 0, 0)


def test_a_real_payment_difference_still_opens_a_case(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = _pdd_rewritten(tmp_path, '"53.00","53.00"', '"50.00","50.00"')  # paid 50 for 45 + 8 postage
    import_orders(store, path, "pdd", clock)
    [case] = cases("payment_anomaly")
    assert case.order.order_id == "260301-582019384756102"


# ---- Taobao ---------------------------------------------------------------------------------------------

def test_taobao_order_report_alone_is_refused_saying_which_file_to_add(store: Store, clock: FakeClock) -> None:
    with pytest.raises(ImportFileError) as caught:
        import_orders(store, FIXTURES / "taobao_orders.csv", "taobao", clock)
    message = str(caught.value)
    assert "add the item report" in message and "--lines FILE" in message and "'购买数量'" in message
    assert counts() == (0, 0, 0)


def test_taobao_discounts_and_postage_explain_the_paid_amount(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    orders = tmp_path / "ExportOrderList.csv"
    orders.write_text(
        "\ufeff主订单编号,买家会员名,买家实付金额,买家应付邮费,店铺优惠,平台优惠,订单状态,收货人姓名,收货地址,联系手机,"
        "订单创建时间,买家付款时间\r\n"
        '="3745800000000000001",tb_a,86.00,8.00,10.00,10.00,买家已付款，等待卖家发货,陈静,'
        "四川省 成都市 武侯区 天府大道 100号,'13512345678,2026-03-01 12:00:00,2026-03-01 12:03:00\r\n",
        encoding="utf-8")
    items = tmp_path / "ExportOrderDetailList.csv"
    items.write_bytes("主订单编号,商品标题,商品价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码\r\n"
                      '="3745800000000000001",纯棉T恤,49.00,2,,颜色分类：白色,,,买家已付款，等待卖家发货,TS-WHT-L\r\n'
                      .encode("gb18030"))
    import_orders(store, orders, "taobao", clock, lines_path=items)
    o = Order.get(Order.order_id == "3745800000000000001")
    assert (o.paid_cents, o.discount_cents, o.shipping_cents) == (8600, 2000, 800)  # 98 − 20 + 8
    assert cases("payment_anomaly") == []


# ---- one stock-gap case per SKU -------------------------------------------------------------------------

def test_stock_gap_is_one_case_per_sku_listing_its_orders(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    import_products(store, FIXTURES / "products.csv", clock)  # UMB-01 has stock 0
    header = ("order_id,status,receiver_name,receiver_phone,receiver_address,created_at,paid_at,line_no,sku,qty,"
              "unit_price")
    paid = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def rows(first: int, n: int) -> str:
        return "".join(f"SG-{i:03d},paid,Ann,13800000000,Road 1,{paid},{paid},1,UMB-01,2,30.00\n"
                       f"SG-{i:03d},,,,,,,2,MUG-01,1,45.00\n" for i in range(first, first + n))

    path = tmp_path / "orders.csv"
    path.write_text(header + "\n" + rows(0, 22), encoding="utf-8")
    import_orders(store, path, "canonical", clock)
    [case] = cases("stock_gap")
    assert case.dedupe_key == "stock_gap:UMB-01" and case.order is None
    assert json.loads(case.detail)["orders"] == [f"SG-{i:03d}" for i in range(22)]
    assert case.title.startswith("UMB-01: ")

    path.write_text(header + "\n" + rows(22, 2), encoding="utf-8")
    import_orders(store, path, "canonical", clock)
    [case] = cases("stock_gap")  # still one: the new orders join its list
    assert json.loads(case.detail)["orders"][-2:] == ["SG-022", "SG-023"]
    run_rules(store, clock, load_book(store).current, "timer")
    assert len(cases("stock_gap")) == 1


# ---- streaming ------------------------------------------------------------------------------------------

def test_rows_of_one_order_far_apart_are_refused(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,line_no,sku,qty\nA1,1,SKU-1,1\nB1,1,SKU-1,1\nA1,2,SKU-2,1\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 4, column 'order_id': order 'A1' continues here, apart from its "
                                              r"rows from row 2: sort the file by order"):
        import_orders(store, path, "canonical", clock)
    assert counts() == (0, 0, 0)


def test_a_bad_row_after_many_chunks_rolls_everything_back(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    body = "".join(f"N{i},1,SKU-1,1\n" for i in range(4500))
    path.write_text("order_id,line_no,sku,qty\n" + body + "Z1,1,SKU-1,lots\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="row 4502, column 'qty'"):
        import_orders(store, path, "canonical", clock)
    assert counts() == (0, 0, 0)


# 4,500 orders no rule objects to (three write chunks of 2,000, three rule batches of 2,000).
MANY_ORDERS = "order_id,receiver_name,receiver_phone,receiver_address,line_no,sku,qty\n" + "".join(
    f"N{i},Ann,1380000{i:04d},浙江省 杭州市 西湖区 文三路 90号,1,SKU-1,1\n" for i in range(4500))


def test_a_many_chunk_import_is_sealed_chunk_by_chunk_and_verifies(store: Store, clock: FakeClock,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(MANY_ORDERS, encoding="utf-8")
    import_orders(store, path, "canonical", clock)
    kinds = [e.kind for e in AuditEntry.select().order_by(AuditEntry.seq)]
    assert kinds == ["rows.written", "rows.written", "import.orders"]  # 2000 + 2000 + 500 orders
    chain, rows = verify_store()
    assert chain.ok and rows.ok, rows.problems


def test_rules_report_progress_in_batches(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(MANY_ORDERS, encoding="utf-8")
    seen: list[tuple[int, int]] = []
    import_orders(store, path, "canonical", clock, rules_progress=lambda done, total: seen.append((done, total)))
    # The new orders have consecutive ids: read in id ranges of 2000, not IN lists of 500.
    assert seen == [(2000, 4500), (4000, 4500), (4500, 4500)]


# ---- import-products refuses an orders file -----------------------------------------------------------

@pytest.mark.parametrize(("name", "found"), [
    ("canonical_orders.csv", "'order_id', 'receiver_name', 'receiver_phone', 'receiver_address'"),
    ("shopify_orders.csv", "'Billing Name', 'Billing Phone', 'Shipping Name', 'Shipping Address1'"),
    ("pdd_orders.csv", "'订单号', '收货人', '手机', '省'"),
])
def test_import_products_refuses_an_orders_file_naming_its_columns(store: Store, clock: FakeClock, name: str,
                                                                   found: str) -> None:
    import_products(store, FIXTURES / "products.csv", clock)
    before = list(Product.select().order_by(Product.sku).tuples())
    with pytest.raises(ImportFileError) as caught:
        import_products(store, FIXTURES / name, clock)
    assert f"this looks like an order export (columns {found})" in str(caught.value)
    assert "use import-orders" in str(caught.value)
    assert list(Product.select().order_by(Product.sku).tuples()) == before


def test_cli_import_products_on_orders_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = FIXTURES / "canonical_orders.csv"
    assert main(["--data-dir", str(tmp_path / "s"), "import-products", str(orders)]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.startswith("packbench: canonical_orders.csv row 1: this looks like an order export")
    assert err.count("\n") == 1


def test_products_need_sku_and_name_columns(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("sku,barcodes,weight_g\nA-1,6901234567892,10\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"column 'name': missing column: a product list needs sku, name "
                                              r"\(found 'sku', 'barcodes', 'weight_g'\)"):
        import_products(store, path, clock)


def _taobao_workbook(path: Path) -> Path:
    """A Taobao order report as the seller centre also offers it: an .xlsx workbook."""
    book = Workbook()
    book.active.append(["订单编号", "买家会员名", "收货人姓名", "收货地址", "联系手机", "宝贝标题", "宝贝总数量"])
    book.active.append(["3012345678901234", "tb_buyer", "张三", "浙江省杭州市西湖区文三路 1 号", "13800138000",
                        "西湖龙井 250g", 2])
    book.save(path)
    return path


def _old_excel_workbook(path: Path) -> Path:
    """An .xls: an OLE compound file (its signature, then binary sectors no text encoding reads)."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4)
    return path


@pytest.mark.parametrize(("make", "kind"), [(_taobao_workbook, "xlsx"), (_old_excel_workbook, "xls")])
def test_a_workbook_is_refused_as_one_not_as_undecodable_bytes(store: Store, clock: FakeClock, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str],
                                                               make: Callable[[Path], Path], kind: str) -> None:
    """Excel's own format names what the file is and how to save it as CSV, for products and orders alike,
    instead of "cannot decode bytes …: save it again as UTF-8", and changes nothing."""
    workbook = make(tmp_path / f"ExportOrderList.{kind}")
    import_products(store, FIXTURES / "products.csv", clock)
    before = list(Product.select().order_by(Product.sku).tuples()), counts()
    refusal = f"this is a spreadsheet workbook ({kind}), not a CSV file"
    with pytest.raises(ImportFileError, match=re.escape(refusal)):
        import_products(store, workbook, clock)
    with pytest.raises(ImportFileError, match=re.escape(refusal)):
        import_orders(store, workbook, "taobao", clock)
    assert (list(Product.select().order_by(Product.sku).tuples()), counts()) == before

    assert main(["--data-dir", str(tmp_path / "s"), "import-products", str(workbook)]) == ExitCode.INPUT
    assert capsys.readouterr().err == (f"packbench: {workbook.name}: {refusal}: open it in Excel or WPS, save it as "
                                       "\"CSV UTF-8\" and import that file\n")
