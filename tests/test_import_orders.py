"""Order import: four platform profiles, one engine; all-or-nothing; idempotent re-import."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.importers import ImportFileError, ProfileError, import_orders, load_profile, parse_orders
from app.store import Store
from app.store.models import AuditEntry, Order, OrderLine, PackSession, Product
from tests.fixtures.imports.generate import generate_shopify_csv

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
CANONICAL_HEADER = (
    "order_id,platform,shop,status,buyer,receiver_name,receiver_phone,receiver_address,created_at,paid_at,"
    "ship_by,total,paid,carrier,tracking_no,note,line_no,sku,name,qty,unit_price"
)


def fixture(name: str) -> Path:
    return FIXTURES / name


def order(order_id: str) -> Order:
    return Order.get(Order.order_id == order_id)


def lines(order_id: str) -> list[tuple[int, str, str, int, int]]:
    query = (OrderLine.select(OrderLine.line_no, OrderLine.sku, OrderLine.name, OrderLine.qty,
                              OrderLine.unit_price_cents)
             .join(Order).where(Order.order_id == order_id).order_by(OrderLine.line_no))
    return list(query.tuples())


def counts() -> tuple[int, int, int, int]:
    return (Order.select().count(), OrderLine.select().count(), Product.select().count(),
            AuditEntry.select().count())


def canonical(tmp_path: Path, *rows: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((CANONICAL_HEADER, *rows)) + "\n", encoding="utf-8")
    return path


# ---- each platform's export ------------------------------------------------------------------------

def test_shopify_groups_line_rows_by_name_and_maps_status(store: Store, clock: FakeClock) -> None:
    report = import_orders(store, fixture("shopify_orders.csv"), "shopify", clock)

    assert (report.profile, report.rows, report.created, report.updated, report.unchanged) == ("shopify", 6, 4, 0, 0)
    o = order("#1001")
    assert o.platform == "shopify"
    assert o.status == "paid"
    assert o.created_at == "2026-02-13T13:05:12.000Z"  # +0800 → UTC
    assert o.paid_at == "2026-02-13T13:07:00.000Z"
    assert o.total_cents == 26700
    assert o.buyer == "li.na@example.com"
    assert o.receiver_name == "Li Na"
    assert o.receiver_phone == "13812345678"  # apostrophe, spaces and +86 gone, not masked
    assert o.receiver_address == "文三路 90号, 3单元 1201, 杭州市, Zhejiang, 310012, CN"  # no "'" before the zip
    assert o.note == "请用纸箱包装,\nno paper invoice please"
    assert o.updated_at == "2026-11-25T02:00:00.000Z"
    assert lines("#1001") == [(1, "TS-WHT-L", "Cotton T-Shirt - White / L", 2, 8900),
                              (2, "BAG-CNV", "Canvas Tote Bag", 1, 7900)]
    assert order("#1002").status == "refunded"
    assert order("#1003").status == "cancelled"  # Cancelled at filled, Financial Status pending
    assert order("#1003").paid_at is None
    assert lines("#1003") == [(1, "BAG-CNV", "Canvas Tote Bag", 1, 7900), (2, "MUG-01", "Ceramic Mug", 1, 4500)]
    shipped = order("#1004")
    assert (shipped.status, shipped.paid_at) == ("shipped", "2026-02-15T23:59:59.000Z")  # +0000 stays as is


def test_taobao_gb18030_with_item_report_as_lines_file(store: Store, clock: FakeClock) -> None:
    assert fixture("taobao_orders.csv").read_bytes().decode("gb18030")  # the fixture really is GB18030
    with pytest.raises(UnicodeDecodeError):
        fixture("taobao_orders.csv").read_bytes().decode("utf-8")

    report = import_orders(store, fixture("taobao_orders.csv"), "taobao", clock,
                           lines_path=fixture("taobao_lines.csv"))

    assert (report.rows, report.created) == (3 + 4, 3)
    o = order("3745812345678901234")  # ="..." unwrapped
    assert (o.platform, o.status, o.shop) == ("taobao", "paid", "小白杂货铺")
    assert o.receiver_name == "张伟"
    assert o.receiver_address == "浙江省 杭州市 西湖区 文三路 90号"
    assert o.receiver_phone == "13812345678"
    assert (o.paid_cents, o.total_cents) == (12850, 12850)
    assert o.created_at == "2026-02-13T13:05:12.000Z"  # naive Asia/Shanghai → UTC
    assert o.paid_at == "2026-02-13T13:07:00.000Z"
    assert o.note == "请尽快发货"
    assert lines("3745812345678901234") == [(1, "TS-WHT-L", "纯棉T恤 男女同款", 2, 4900),
                                            (2, "BAG-CNV", "帆布托特包", 1, 3050)]  # 商家编码 empty → 外部系统编号
    unpaid = order("3745812345678905678")
    assert (unpaid.status, unpaid.paid_at, unpaid.paid_cents) == ("new", None, 0)  # 付款时间 "null"
    assert order("3745812345678909999").status == "cancelled"  # 交易关闭


def test_taobao_header_aliases_of_the_2023_reports(store: Store, clock: FakeClock) -> None:
    import_orders(store, fixture("taobao_orders_2023.csv"), "taobao", clock,
                  lines_path=fixture("taobao_lines_2023.csv"))

    shipped = order("3745899990000000001")
    assert (shipped.paid_cents, shipped.paid_at) == (9800, "2026-03-01T04:03:00.000Z")  # 买家实付金额, 买家付款时间
    assert (shipped.tracking_no, shipped.carrier, shipped.status) == ("SF1234567890123", "顺丰速运", "shipped")
    assert shipped.receiver_phone == "13512345678"
    assert lines("3745899990000000001") == [(1, "TS-WHT-L", "纯棉T恤 白色 L", 2, 4900)]  # 主订单编号, 商品标题
    assert lines("3745899990000000002") == [(1, "MUG-01", "陶瓷马克杯 350ml", 1, 4500)]  # 外部系统编号


def test_pinduoduo_utf8_bom_with_full_width_parentheses(store: Store, clock: FakeClock) -> None:
    raw = fixture("pdd_orders.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "（件）".encode() in raw and b"(\xe5\x85\x83)" in raw

    import_orders(store, fixture("pdd_orders.csv"), "pdd", clock)

    o = order("260213-058796374930512")
    assert (o.platform, o.status, o.paid_cents) == ("pdd", "paid", 24700)
    assert o.receiver_address == "广东省 深圳市 南山区 科技园南区 深南大道 9988号"
    assert o.ship_by == "2026-02-15T13:07:05.000Z"
    assert lines("260213-058796374930512") == [(1, "TS-WHT-L", "纯棉T恤 男女同款 白色,L", 2, 8900),
                                               (2, "BAG-CNV", "帆布托特包 米白", 1, 7900)]
    refunded = order("260214-117364829104733")
    assert (refunded.status, refunded.tracking_no, refunded.carrier) == ("refunded", "YT7512345678901", "圆通快递")
    umbrella = order("260214-220194857362019")
    assert umbrella.receiver_phone == "13500009999"
    assert lines("260214-220194857362019") == [(1, "UMB-01", "折叠雨伞 黑色 三折", 3, 3333)]  # 100.00 / 3, half up


def test_canonical_file_with_english_and_chinese_receivers(store: Store, clock: FakeClock) -> None:
    import_orders(store, fixture("canonical_orders.csv"), "canonical", clock)

    alice = order("PB-0001")
    assert (alice.platform, alice.shop, alice.receiver_name, alice.receiver_phone) == (
        "canonical", "Flagship", "Alice Smith", "13900001111")
    assert alice.created_at == "2026-11-24T13:07:00.000Z"  # naive = Asia/Shanghai
    assert alice.paid_at == "2026-11-24T13:10:30.000Z"  # +08:00
    assert alice.ship_by == "2026-11-26T12:00:00.000Z"  # Z
    assert (alice.total_cents, alice.carrier, alice.tracking_no, alice.note) == (25700, "SF", None, "gift wrap")
    assert lines("PB-0001") == [(1, "TS-WHT-L", "Cotton T-Shirt White L", 2, 8900),
                                (2, "BAG-CNV", "Canvas Tote Bag", 1, 7900)]
    zhang = order("PB-0002")
    assert (zhang.platform, zhang.status, zhang.receiver_name, zhang.total_cents) == ("taobao", "new", "张伟", 4550)
    assert zhang.note == "要发票，抬头：杭州某某科技有限公司"
    assert order("PB-0003").tracking_no == "ZT1000000000001"


def test_parse_is_pure_and_records_carry_rows(store: Store) -> None:
    records = parse_orders(fixture("shopify_orders.csv"), load_profile("shopify"))
    assert Order.select().count() == 0
    assert [(r.order_id, r.row) for r in records] == [("#1001", 2), ("#1002", 5), ("#1003", 6), ("#1004", 8)]
    assert [line.row for line in records[0].lines] == [2, 4]  # the Notes cell spans lines 2-3


# ---- re-import -------------------------------------------------------------------------------------

def test_reimport_changes_nothing_and_audits_each_import(store: Store, clock: FakeClock) -> None:
    path = fixture("shopify_orders.csv")
    import_orders(store, path, "shopify", clock)
    before = counts()
    clock.advance(3600)

    again = import_orders(store, path, "shopify", clock)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert counts()[:3] == before[:3]
    assert order("#1001").updated_at == "2026-11-25T02:00:00.000Z"  # untouched
    entries = list(AuditEntry.select().order_by(AuditEntry.seq))
    assert [e.kind for e in entries] == ["import.orders", "import.orders"]
    payload = json.loads(entries[-1].payload)
    assert payload["file"] == "shopify_orders.csv"
    assert payload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (payload["created"], payload["updated"], payload["unchanged"], payload["rows"]) == (0, 0, 4, 6)
    assert entries[-1].actor == "import"


def test_reimport_updates_changed_orders_and_replaces_their_lines(store: Store, clock: FakeClock,
                                                                  tmp_path: Path) -> None:
    first = canonical(tmp_path, "A1,,,paid,,Ann,,Old street,,,,10,,,,,1,SKU-1,One,1,5",
                      "A1,,,,,,,,,,,,,,,,2,SKU-2,Two,1,5", "B1,,,paid,,Ben,,Road,,,,5,,,,,1,SKU-1,One,1,5")
    import_orders(store, first, "canonical", clock)
    clock.advance(60)
    second = canonical(tmp_path, "A1,,,paid,,Ann,,New street,,,,10,,,,,1,SKU-1,One,3,5",
                       "B1,,,paid,,Ben,,Road,,,,5,,,,,1,SKU-1,One,1,5", "C1,,,new,,Cat,,Lane,,,,1,,,,,1,SKU-3,3,1,1",
                       name="orders2.csv")

    report = import_orders(store, second, "canonical", clock)

    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    a1 = order("A1")
    assert (a1.receiver_address, a1.updated_at) == ("New street", "2026-11-25T02:01:00.000Z")
    assert lines("A1") == [(1, "SKU-1", "One", 3, 500)]
    assert order("B1").updated_at == "2026-11-25T02:00:00.000Z"
    assert counts()[:2] == (3, 3)


def test_a_column_the_file_lacks_keeps_its_stored_value(store: Store, clock: FakeClock) -> None:
    import_orders(store, fixture("shopify_orders.csv"), "shopify", clock)
    Order.update(tracking_no="SF0000000001", carrier="SF").where(Order.order_id == "#1001").execute()

    import_orders(store, fixture("shopify_orders.csv"), "shopify", clock)  # Shopify has no tracking column

    assert (order("#1001").tracking_no, order("#1001").carrier) == ("SF0000000001", "SF")


def _pack(order_id: str, clock: FakeClock, *, state: str = "completed", status: str | None = None) -> None:
    o = order(order_id)
    PackSession.create(order=o, station="T-1", started_at="2026-11-25T02:00:00.000Z", state=state)
    if status:
        Order.update(status=status).where(Order.id == o.id).execute()


def test_cancel_after_pack_applies_status_but_keeps_lines(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    import_orders(store, canonical(tmp_path, "A1,,,paid,,Ann,,Road,,,,10,,,,,1,SKU-1,One,2,5"), "canonical", clock)
    _pack("A1", clock, status="packed")
    later = canonical(tmp_path, "A1,,,cancelled,,Ann,,Road,,,,10,,,,,1,SKU-9,Nine,1,5", name="later.csv")

    report = import_orders(store, later, "canonical", clock)

    assert report.updated == 1
    assert order("A1").status == "cancelled"
    assert lines("A1") == [(1, "SKU-1", "One", 2, 500)]


@pytest.mark.parametrize(("state", "status"), [("completed", None), ("short_shipped", None), ("open", "shipped")])
def test_packed_order_keeps_local_status_and_lines(store: Store, clock: FakeClock, tmp_path: Path,
                                                   state: str, status: str | None) -> None:
    import_orders(store, canonical(tmp_path, "A1,,,paid,,Ann,,Road,,,,10,,,,,1,SKU-1,One,2,5"), "canonical", clock)
    _pack("A1", clock, state=state, status=status)
    local = order("A1").status
    later = canonical(tmp_path, "A1,,,new,,Ann,,Other road,,,,10,,,,,1,SKU-9,Nine,1,5", name="later.csv")

    import_orders(store, later, "canonical", clock)

    assert order("A1").status == local
    assert order("A1").receiver_address == "Other road"  # order-level data still follows the platform
    assert lines("A1") == [(1, "SKU-1", "One", 2, 500)]


def test_an_open_session_does_not_freeze_lines(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    import_orders(store, canonical(tmp_path, "A1,,,paid,,Ann,,Road,,,,10,,,,,1,SKU-1,One,2,5"), "canonical", clock)
    _pack("A1", clock, state="aborted")
    import_orders(store, canonical(tmp_path, "A1,,,paid,,Ann,,Road,,,,10,,,,,1,SKU-1,One,1,5", name="b.csv"),
                  "canonical", clock)
    assert lines("A1") == [(1, "SKU-1", "One", 1, 500)]


# ---- progress and scale ----------------------------------------------------------------------------

def test_progress_every_thousand_rows_and_last_after_commit(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = generate_shopify_csv(tmp_path / "big.csv", 1250, 2)
    calls: list[tuple[int, int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total, Order.select().count()))

    report = import_orders(store, path, "shopify", clock, progress=progress)

    assert (report.rows, report.created) == (2500, 1250)
    assert [(d, t) for d, t, _ in calls] == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert calls[-1][2] == 1250  # "done" is said only once the import is committed
    assert OrderLine.select().count() == 2500


# ---- a fifth platform is just a file ---------------------------------------------------------------

CUSTOM_PROFILE = """
name = "douyin"
platform = "douyin"
timezone = "Asia/Shanghai"
date_formats = ["%Y/%m/%d %H:%M"]
money = "fen"
line_key = "sku"
[order]
order_id = ["主订单编号", "订单编号"]
receiver_name = "收件人"
receiver_phone = "收件人手机号"
receiver_address = { join = ["省份", "城市", "详细地址"], sep = "" }
paid_at = "支付完成时间"
paid = "订单应付金额（分）"
[line]
sku = "商家编码"
name = "商品名称"
qty = "商品数量"
unit_price = "单价（分）"
[status]
default = "paid"
[[status.rules]]
column = "订单状态"
strict = true
map = { "待发货" = "paid", "已关闭" = "cancelled" }
"""


def test_a_new_platform_is_a_profile_file(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    profile = tmp_path / "douyin.toml"
    profile.write_text(CUSTOM_PROFILE, encoding="utf-8")
    export = tmp_path / "douyin.csv"
    export.write_text(
        "主订单编号,订单状态,收件人,收件人手机号,省份,城市,详细地址,支付完成时间,订单应付金额(分),商家编码,商品名称,商品数量,单价(分)\n"
        "DY1,待发货,孙丽,13812340000,江苏省,南京市,中山路 18号,2026/11/24 21:07,4500,MUG-01,马克杯,1,4500\n"
        "DY2,已关闭,周杰,13500009999,北京市,北京市,建国路 1号,2026/11/24 22:00,200,UMB-01,雨伞,2,100\n",
        encoding="utf-8-sig",
    )

    report = import_orders(store, export, str(profile), clock)

    assert (report.profile, report.created) == ("douyin", 2)
    dy1 = order("DY1")
    assert (dy1.platform, dy1.status, dy1.paid_cents) == ("douyin", "paid", 4500)
    assert dy1.paid_at == "2026-11-24T13:07:00.000Z"
    assert dy1.receiver_address == "江苏省南京市中山路 18号"
    assert lines("DY2") == [(1, "UMB-01", "雨伞", 2, 100)]
    assert order("DY2").status == "cancelled"


def test_unknown_format_and_broken_profile_are_profile_errors(store: Store, clock: FakeClock,
                                                             tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"unknown format 'ebay'.*canonical, pdd, shopify, taobao"):
        import_orders(store, fixture("canonical_orders.csv"), "ebay", clock)
    bad = tmp_path / "bad.toml"
    bad.write_text('[order]\norder_id = "id"\nweight = "x"\n[line]\nsku = "s"\nqty = "q"\nline_no = "n"\n')
    with pytest.raises(ProfileError, match=r"bad.toml: \[order\] weight: not a field"):
        load_profile(bad)
    bad.write_text('line_key = "sku"\n[order]\norder_id = "id"\n[line]\nsku = "s"\nqty = "q"\n'
                   '[status]\ndefault = "lost"\n')
    with pytest.raises(ProfileError, match="'lost' is not a status"):
        load_profile(bad)


# ---- broken files: the row and column are named, nothing is imported --------------------------------

ROW = "A1,,,paid,,Ann,,Road,2026-11-24 10:00:00,,,10.00,,,,,1,SKU-1,One,1,5"
BROKEN_CANONICAL = [
    pytest.param([ROW, "A1,,,,,,,,,2026-13-45,,,,,,,2,SKU-2,Two,1,5"], 3, "paid_at",
                 "not a date: '2026-13-45'", id="bad-date"),
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,12.5x,,,,,1,SKU-1,One,1,5"], 3, "total",
                 "not a number: '12.5x'", id="bad-money"),
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,1.005,,,,,1,SKU-1,One,1,5"], 3, "total",
                 "more than two decimals: '1.005'", id="fraction-of-a-fen"),
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,1,,,,,1,SKU-1,One,-2,5"], 3, "qty",
                 "must be at least 1, not '-2'", id="negative-qty"),
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,1,,,,,1,SKU-1,One,1.5,5"], 3, "qty",
                 "not a whole number: '1.5'", id="fractional-qty"),
    # These overflowed SQLite's integers when stored: 'unexpected error OverflowError', logged as a bug.
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,1,,,,,1,SKU-1,One,99999999999999999999999,5"], 3, "qty",
                 "too large: '99999999999999999999999'", id="huge-qty"),
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,99999999999999999999.00,,,,,1,SKU-1,One,1,5"], 3, "total",
                 "too large: '99999999999999999999.00'", id="huge-money"),
    pytest.param([ROW, "A1,,,,,,,,,,,,,,,,1,SKU-2,Two,1,5"], 3, "line_no",
                 "duplicate line: order 'A1' already has line_no '1' on row 2", id="duplicate-line"),
    pytest.param([ROW, "A1,,,,,Anna,,,,,,,,,,,2,SKU-2,Two,1,5"], 3, "receiver_name",
                 "order 'A1': receiver_name is 'Anna' here but 'Ann' on row 2", id="conflicting-order-fields"),
    pytest.param([ROW, "B1,,,lost,,Ben,,Road,,,,1,,,,,1,SKU-1,One,1,5"], 3, "status",
                 "unknown status 'lost'", id="unknown-status"),
    pytest.param([ROW, "B1,,,paid,,Ben,,Road,,,,1,,,,,1,SKU-1,One,1,5,surplus"], 3, None,
                 "22 cells but the header has 21", id="shifted-row"),
]


@pytest.fixture
def seeded(store: Store, clock: FakeClock) -> tuple[int, int, int, int]:
    """A store that already holds orders, so "nothing imported" also means "nothing changed"."""
    import_orders(store, fixture("canonical_orders.csv"), "canonical", clock)
    return counts()


def assert_fails(store: Store, clock: FakeClock, seeded: tuple[int, int, int, int], path: Path, fmt: str,
                 row: int, column: str | None, message: str, lines_path: Path | None = None) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        import_orders(store, path, fmt, clock, lines_path=lines_path)
    err = caught.value
    assert (err.row, err.column) == (row, column), str(err)
    assert message in str(err)
    assert "\n" not in str(err)
    assert counts() == seeded
    return err


@pytest.mark.parametrize(("rows", "row", "column", "message"), BROKEN_CANONICAL)
def test_broken_canonical_rows(store: Store, clock: FakeClock, seeded: tuple[int, int, int, int], tmp_path: Path,
                               rows: list[str], row: int, column: str | None, message: str) -> None:
    assert_fails(store, clock, seeded, canonical(tmp_path, *rows), "canonical", row, column, message)


def test_error_message_is_one_line_naming_file_row_and_column(store: Store, clock: FakeClock,
                                                              seeded: tuple[int, int, int, int],
                                                              tmp_path: Path) -> None:
    path = canonical(tmp_path, *[ROW.replace("A1", f"N{i}") for i in range(15)],
                     "Z9,,,paid,,Zed,,Road,,2026-13-45,,1,,,,,1,SKU-1,One,1,5")
    err = assert_fails(store, clock, seeded, path, "canonical", 17, "paid_at", "not a date")
    assert str(err) == "orders.csv row 17, column 'paid_at': not a date: '2026-13-45'"


def test_missing_column_is_named_on_row_1(store: Store, clock: FakeClock, seeded: tuple[int, int, int, int],
                                          tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,line_no,sku,name\nA1,1,SKU-1,One\n", encoding="utf-8")
    assert_fails(store, clock, seeded, path, "canonical", 1, "qty", "missing column")
    taobao = tmp_path / "taobao.csv"
    taobao.write_text("订单编号,订单状态,收货地址\n1,交易成功,北京\n", encoding="utf-8")
    err = assert_fails(store, clock, seeded, taobao, "taobao", 1, "联系手机", "missing column",
                       lines_path=fixture("taobao_lines.csv"))
    assert "(or '联系电话'), needed for receiver_phone" in str(err)


def test_bad_encoding_names_row_and_encodings_tried(store: Store, clock: FakeClock,
                                                    seeded: tuple[int, int, int, int], tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    good = (CANONICAL_HEADER + "\n" + ROW + "\n").encode("utf-8")
    path.write_bytes(good + b"B1,,,paid,,\xff\xfe,,Road,,,,1,,,,,1,SKU-1,One,1,5\n")
    assert_fails(store, clock, seeded, path, "canonical", 3, None, "encodings tried (utf-8, gb18030)")


@pytest.mark.parametrize(("content", "row", "message"), [
    (b"", 1, "the file is empty"),
    (b"\xef\xbb\xbf\r\n  \r\n", 1, "the file is empty"),
    ((CANONICAL_HEADER + "\n").encode(), 2, "has a header but no rows"),
])
def test_empty_files(store: Store, clock: FakeClock, seeded: tuple[int, int, int, int], tmp_path: Path,
                     content: bytes, row: int, message: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    assert_fails(store, clock, seeded, path, "canonical", row, None, message)


def test_shopify_same_sku_twice_in_an_order_is_one_line(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    records = fixture("shopify_orders.csv").read_bytes().split(b"\r\n")  # the Notes cell holds a bare \n
    records.insert(3, records[2])  # the second line row of #1001 (physical line 4) twice
    path = tmp_path / "shopify.csv"
    path.write_bytes(b"\r\n".join(records))
    report = import_orders(store, path, "shopify", clock)
    assert report.merged_lines == 1
    assert lines("#1001") == [(1, "TS-WHT-L", "Cotton T-Shirt - White / L", 2, 8900),
                              (2, "BAG-CNV", "Canvas Tote Bag", 2, 7900)]


def test_shopify_row_numbers_count_physical_lines(store: Store, clock: FakeClock,
                                                  seeded: tuple[int, int, int, int], tmp_path: Path) -> None:
    data = fixture("shopify_orders.csv").read_bytes().replace(b"2026-02-14 09:30:00 +0800", b"2026-02-31 09:30")
    path = tmp_path / "shopify.csv"
    path.write_bytes(data)
    assert_fails(store, clock, seeded, path, "shopify", 5, "Paid at", "not a date: '2026-02-31 09:30'")


def test_taobao_lines_file_row_for_an_unknown_order(store: Store, clock: FakeClock,
                                                    seeded: tuple[int, int, int, int], tmp_path: Path) -> None:
    data = fixture("taobao_lines.csv").read_bytes().decode("gb18030").replace("3745812345678909999", "999")
    path = tmp_path / "lines.csv"
    path.write_bytes(data.encode("gb18030"))
    assert_fails(store, clock, seeded, fixture("taobao_orders.csv"), "taobao", 5, "订单编号",
                 "order '999' is not in taobao_orders.csv", lines_path=path)


def test_a_failure_while_writing_leaves_the_store_as_it_was(store: Store, clock: FakeClock,
                                                            seeded: tuple[int, int, int, int],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    before = {o.order_id: (o.status, o.updated_at) for o in Order.select()}

    def broken_audit(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr("app.importers.apply.record_fact", broken_audit)
    with pytest.raises(RuntimeError, match="disk full"):
        import_orders(store, fixture("shopify_orders.csv"), "shopify", clock)
    assert counts() == seeded
    assert {o.order_id: (o.status, o.updated_at) for o in Order.select()} == before
