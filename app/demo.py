"""Demo data: what `make run` shows on a fresh machine (simulated devices, seeded orders)."""

from __future__ import annotations

import json
from datetime import timedelta

from app.audit import record_fact
from app.barcodes import gtin_check_digit, gtin_key
from app.clock import Clock, iso
from app.store import Store
from app.store.models import Operator, Order, OrderLine, Product, ProductBarcode, WaybillPool
from app.store.states import OrderStatus

# line-1 is the headless line the README's `pack --operator line-1` example runs as.
OPERATORS = [("王芳", "packer", "B-1001"), ("Alex Chen", "packer", "B-1002"), ("李强", "supervisor", "S-2001"),
             ("admin", "admin", "A-9001"), ("line-1", "line", "L-1001")]

# sku, name, weight_g, stock, EAN-13 or UPC-A body without its check digit (computed below)
PRODUCTS = [
    ("TEA-LJ-250", "西湖龙井 250g", 280, 120, "690123456001"),
    ("MUG-CER-01", "Ceramic mug 350 ml 陶瓷杯", 410, 40, "690123456002"),
    ("CHOP-BMB-5", "竹筷 5 双装 Bamboo chopsticks", 95, 300, "690123456003"),
    ("SILK-SCF-R", "真丝围巾 红色 Silk scarf", 60, 25, "690123456004"),
    ("USB-C-1M", "USB-C cable 1 m", 45, 500, "03600029145"),  # a UPC-A code (12 digits)
    ("NB-A5-DOT", "A5 dotted notebook 点阵笔记本", 230, 75, "690123456006"),
]

ORDERS = [
    ("TB2026112500001", "taobao", "张伟", "13812345678", "浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢",
     [("TEA-LJ-250", 2), ("CHOP-BMB-5", 1)]),
    ("TB2026112500002", "taobao", "李娜", "13987654321", "上海市浦东新区世纪大道 100 号 环球金融中心 18 楼",
     [("MUG-CER-01", 1)]),
    ("PDD20261125-0003", "pdd", "刘洋", "15011112222", "广东省深圳市南山区科技园南区 深南大道 9988 号",
     [("SILK-SCF-R", 1), ("NB-A5-DOT", 2)]),
    ("#1004", "shopify", "Emily Zhang", "+86 186 0000 1234", "88 Nanjing Road West, Jing'an, Shanghai 200041",
     [("USB-C-1M", 3)]),
    ("#1005", "shopify", "Tom Wang 王涛", "17722223333", "北京市朝阳区建国路 87 号 SKP 写字楼 A 座",
     [("MUG-CER-01", 2), ("TEA-LJ-250", 1)]),
    ("TB2026112500006", "taobao", "陈静", "13600001111", "四川省成都市锦江区春熙路 1 号 菜鸟驿站代收",
     [("CHOP-BMB-5", 4)]),
]


def product_barcode(sku: str) -> str:
    body = next(p[4] for p in PRODUCTS if p[0] == sku)
    return body + str(gtin_check_digit(body))


def seed_demo(store: Store, clock: Clock, waybills: int = 200) -> bool:
    """Seed once; returns False when the store already holds orders (nothing is touched then)."""
    if Order.select().exists():
        return False
    now = clock.now()
    stamp = iso(now)
    with store.atomic():
        for name, role, badge in OPERATORS:
            Operator.create(name=name, role=role, badge=badge, created_at=stamp)
        for sku, name, weight, stock, body in PRODUCTS:
            product = Product.create(sku=sku, name=name, weight_g=weight, stock=stock, updated_at=stamp)
            code = body + str(gtin_check_digit(body))
            ProductBarcode.create(key=gtin_key(code), raw=code, product=product)
        for n, (order_id, platform, name, phone, address, lines) in enumerate(ORDERS):
            paid = now - timedelta(hours=6 - n)
            total = 0
            order = Order.create(
                order_id=order_id, platform=platform, shop=f"{platform}-demo", status=OrderStatus.PAID, buyer=name,
                receiver_name=name, receiver_phone=phone, receiver_address=address, created_at=iso(paid),
                paid_at=iso(paid), ship_by=iso(paid + timedelta(hours=48)), updated_at=stamp,
            )
            for line_no, (sku, qty) in enumerate(lines, start=1):
                OrderLine.create(order=order, line_no=line_no, sku=sku, qty=qty, unit_price_cents=3900,
                                 name=next(p[1] for p in PRODUCTS if p[0] == sku))
                total += 3900 * qty
            Order.update(total_cents=total, paid_cents=total).where(Order.id == order.id).execute()
        WaybillPool.insert_many(
            [{"carrier": "SF", "number": f"SF{1400000000000 + i}"} for i in range(waybills)]
            + [{"carrier": "ZTO", "number": f"7{3}{100000000000 + i}"} for i in range(waybills)]
        ).execute()
        record_fact("demo.seeded", "system", now, {"orders": len(ORDERS), "products": len(PRODUCTS)}, sync=False)
    return True


def demo_summary() -> str:
    return json.dumps({"badges": {b: n for n, _, b in OPERATORS},
                       "orders": [o[0] for o in ORDERS]}, ensure_ascii=False)
