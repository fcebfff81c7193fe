"""The health page's drill-down by SKU and by ten minutes, and an explanation that names the combination
the excess concentrates in (issue 14: "the distribution of the anomaly by station, packer, shop, carrier,
province, SKU and hour, with the dimension that explains most of the excess stated in words")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from console_harness import close_browsers, log_in, make_user
from server_harness import Running

from app.clock import iso, parse_iso
from server.health.evaluate import Reading
from server.health.explain import EXPLANATION, EXPLANATION_WITH, explain_slices, local_hours
from server.health.indicators import BY_NAME
from server.health.orders import Fact
from server.health.seed import LISTING_ERROR, SHOPS, seed_history

__all__ = ["close_browsers"]

HOUR = datetime(2026, 12, 4, 6, tzinfo=UTC)  # 14:00 in the warehouse's Asia/Shanghai
SHOP = SHOPS[1][1]


def _table(html: str, heading: str) -> list[list[str]]:
    """The body rows of the table under the <h3> `heading`, each as its cells' text."""
    part = html[html.index(f"<h3>{heading}</h3>"):]
    body = part[part.index("<tbody>"):part.index("</tbody>")]
    return [[re.sub(r"<[^>]*>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_refund_surge_is_drilled_down_by_sku_and_ten_minutes_and_explained_by_shop_and_listing(
        server: Running) -> None:
    sdb = server.services.sdb
    made = seed_history(sdb, "WH1", 30, datetime(2026, 12, 4, 12, tzinfo=UTC), orders_per_hour=30)
    hour = made.incidents["refunds"]
    assert parse_iso(hour) == HOUR
    with sdb.connection():  # the parcels packed in the hour: their order, status, minute and SKUs
        packed = sdb.execute(
            'SELECT o."order_id", o."status", p."packed_at", l."sku" FROM "parcel" p JOIN "order" o ON '
            'o."order_id" = p."order_id" JOIN "order_line" l ON l."order_id" = o."id" WHERE p."warehouse" = ? '
            'AND p."packed_at" >= ? AND p."packed_at" < ?', ("WH1", hour, iso(HOUR + timedelta(hours=1)))).fetchall()
    orders = {str(order): (str(status), parse_iso(str(at))) for order, status, at, _sku in packed}
    refunded = {order for order, (status, _at) in orders.items() if status == "refunded"}
    listing = {str(order) for order, status, _at, sku in packed if sku == LISTING_ERROR[0] and status == "refunded"}
    assert len(listing) >= 3 and len(listing) >= 0.8 * len(refunded)
    make_user(server, "li.na", warehouses=("WH1",))
    client = log_in(server, "li.na")
    asked = {"warehouse": "WH1", "hour": hour, "indicator": "intercept_rate"}
    english = client.get("/console/health", params=asked, headers={"Accept-Language": "en"}).text
    share = re.search(r"(\d+)% of the excess intercept / refund after pack comes from shop (.+?), SKU (\S+) "
                      r"\(14:00–15:00\)", english)
    assert share is not None and (share.group(2), share.group(3)) == (SHOP, LISTING_ERROR[0])
    assert int(share.group(1)) >= 80
    # By SKU: the listing first, with every refund of it; the bad facts add up to the hour's refunds.
    skus = _table(english, "By SKU")
    assert skus[0][0] == LISTING_ERROR[0] and int(skus[0][2]) == len(listing) and int(skus[0][3].rstrip("%")) >= 80
    # By ten minutes: six rows in the warehouse's clock, each with the parcels packed in it and their refunds.
    minutes = _table(english, "By ten minutes")
    assert [row[0] for row in minutes] == [f"14:{m:02d}–{'15:00' if m == 50 else f'14:{m + 10:02d}'}"
                                           for m in range(0, 60, 10)]
    for k, row in enumerate(minutes):
        inside = {o for o, (_s, at) in orders.items() if timedelta(minutes=10 * k) <= at - HOUR < timedelta(
            minutes=10 * (k + 1))}
        assert (int(row[1]), int(row[2])) == (len(inside), len(inside & refunded)), row
    chinese = client.get("/console/health", params=asked, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert f"来自店铺 {SHOP}、货号 {LISTING_ERROR[0]}（14:00–15:00）" in chinese
    assert "<h3>按货号</h3>" in chinese and "<h3>按十分钟</h3>" in chinese and "占超出部分" in chinese
    # The misreads are counted per station-hour: no SKU or minute, the explanation names the bench and hour.
    misreads = client.get("/console/health", params={**asked, "indicator": "scan_error_rate"},
                          headers={"Accept-Language": "en"}).text
    assert "comes from station WH1-BENCH-3 (14:00–15:00)" in misreads and "By SKU" not in misreads


def _reading(value: float, volume: int, slice_: str = "", dimension: str = "") -> Reading:
    indicator = BY_NAME["intercept_rate"]
    return Reading(indicator, dimension, slice_, HOUR, value, volume, 0.01, 0.02, (value - 0.01) / 0.02, True,
                   False, "2σ")


def _facts(bad_minutes: list[int], good_minutes: list[int], *, carrier: str = "SF", sku: str = "TEA-CUP-01",
           bad_sku: str | None = None, window: int = 0) -> list[Fact]:
    """Parcels of shop A packed at those minutes of the hour (`window` 0) or a baseline hour: refunded or not."""
    made = []
    for n, (minute, refunded) in enumerate([(m, True) for m in bad_minutes] + [(m, False) for m in good_minutes]):
        made.append(Fact(f"O{window}-{n}", 1.0 if refunded else 0.0, 1.0,
                         {"shop": "A", "station": "S1", "carrier": carrier},
                         HOUR - timedelta(weeks=window) + timedelta(minutes=minute),
                         ((bad_sku or sku) if refunded else sku,), window))
    return made


def test_the_explanation_names_a_part_of_the_hour_only_when_the_excess_bursts_in_it() -> None:
    whole = _reading(0.2, 40)
    slices = {"shop": [_reading(0.2, 40, "A", "shop"), _reading(0.0, 10, "B", "shop")]}
    history = [f for week in (1, 2, 3, 4) for f in _facts([], list(range(0, 60, 6)), window=week)]
    # Eight refunds between 14:40 and 15:00 of forty parcels packed through the hour: a burst.
    burst = explain_slices(whole, slices, _facts([41, 43, 45, 48, 50, 52, 55, 58], list(range(0, 60, 2))[:32])
                           + history)
    assert burst is not None and burst.span == (HOUR + timedelta(minutes=40), HOUR + timedelta(hours=1))
    assert burst.words.message == EXPLANATION
    assert local_hours(burst.words, ZoneInfo("UTC")).text("en").endswith("shop A (06:40–07:00)")
    # The same eight refunds spread over the hour: no part of it explains them better than the whole.
    spread = explain_slices(whole, slices, _facts([3, 10, 18, 25, 33, 40, 48, 55], list(range(0, 60, 2))[:32])
                            + history)
    assert spread is not None and spread.span is None
    assert local_hours(spread.words, ZoneInfo("UTC")).text("en").endswith("shop A (06:00–07:00)")


def test_a_second_dimension_is_named_only_when_its_usual_share_does_not_explain_the_refunds() -> None:
    whole = _reading(0.2, 40)
    slices = {"shop": [_reading(0.2, 40, "A", "shop")]}
    minutes = list(range(0, 60, 2))[:32]
    # Every parcel goes by SF, now as in the baseline hours: all refunds on SF is no news about SF.
    usual = [f for week in (1, 2, 3, 4) for f in _facts([], list(range(0, 60, 6)), window=week)]
    found = explain_slices(whole, slices, _facts(list(range(1, 60, 7))[:8], minutes, bad_sku="HOME-MASK-02") + usual)
    assert found is not None and found.also == ("sku", "HOME-MASK-02")  # a SKU never seen refunded: the news
    assert found.words.message == EXPLANATION_WITH and "shop A, SKU HOME-MASK-02" in found.words.text("en")
    assert "店铺 A、货号 HOME-MASK-02" in found.words.text("zh_CN")
    same_sku = explain_slices(whole, slices, _facts(list(range(1, 60, 7))[:8], minutes) + usual)
    assert same_sku is not None and same_sku.also is None and same_sku.words.message == EXPLANATION


def test_an_empty_slice_is_named_in_the_explanation() -> None:
    whole = _reading(0.2, 40)
    why = explain_slices(whole, {"province": [_reading(0.2, 40, "", "province")]})
    assert why is not None and why.slice == ""
    assert "province (none)" in why.words.text("en") and "（无）" in why.words.text("zh_CN")
