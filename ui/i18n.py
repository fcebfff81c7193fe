"""The screen's own words in the station's language (StationConfig.language: "zh_CN" or "en").

Outcome messages come translated from `app` (Outcome.text); these are only the labels around them.
"""

from __future__ import annotations

from typing import Any

_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("PackBench — station {station}", "PackBench 打包台 {station}"),
    "demo_title": ("PackBench — station {station} (DEMO)", "PackBench 打包台 {station}（演示）"),
    "operator": ("Packer: {name}", "打包员：{name}"),
    "no_operator": ("Nobody logged in", "未登录"),
    "no_order": ("No order open", "无进行中的订单"),
    "order": ("Order {order_id}", "订单 {order_id}"),
    "shipped": ("shipped", "已发货"),
    "ready": ("Ready — scan your badge", "就绪，请扫描工牌"),
    "ready_operator": ("Scan an order", "请扫描订单"),
    "ready_order": ("Order {order_id} is open: keep scanning", "订单 {order_id} 进行中，请继续扫描"),
    "system_error": ("System error: {message}", "系统错误：{message}"),
    "col_item": ("Item", "商品"),
    "col_sku": ("SKU", "货号"),
    "col_count": ("Scanned", "已扫 / 应扫"),
    "weight": ("Weight", "重量"),
    "weight_none": ("—", "—"),
    "expected": ("expected {grams} g", "预期 {grams} g"),
    "label": ("Last label", "最近面单"),
    "recent": ("Recent", "最近记录"),
    "scanner": ("Scanner", "扫描枪"),
    "scale": ("Scale", "电子秤"),
    "printer": ("Printer", "打印机"),
    "connected": ("connected", "已连接"),
    "disconnected": ("disconnected", "未连接"),
    "fault": ("fault", "故障"),
    "unknown": ("not checked", "未检测"),
    "demo": ("Demo", "演示"),
    "demo_badges": ("Badges", "工牌"),
    "demo_orders": ("Orders", "订单"),
    "demo_items": ("Items", "商品"),
    "demo_commands": ("Commands", "指令"),
    "demo_devices": ("Devices", "设备"),
    "demo_unplug": ("Unplug scanner", "拔出扫描枪"),
    "demo_take_off": ("Take the parcel off the scale", "从秤上取下包裹"),
    "demo_paper_out": ("Printer out of paper", "打印机缺纸"),
    "paper_out": ("paper out", "缺纸"),
    "cmd_ABORT": ("Abort", "取消打包"),
    "cmd_REPRINT": ("Reprint", "补打"),
    "cmd_SHORT_SHIP": ("Short-ship", "缺货发货"),
    "cmd_CALL_SUPERVISOR": ("Call supervisor", "呼叫主管"),
    "cmd_LOGOUT": ("Log out", "退出登录"),
}


def tr(key: str, lang: str, **values: Any) -> str:
    english, chinese = _TEXTS[key]
    return (chinese if lang.startswith("zh") else english).format(**values)
