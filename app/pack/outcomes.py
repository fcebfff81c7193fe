"""What the pack flow tells the packer: one named outcome per input, with its level and words.

Messages exist in English and Chinese; `Outcome.text(lang)` picks one. The names are stable: they
are what the headless mode prints as `event` and what the store keeps in `scan_event.outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Level(Enum):
    OK = "ok"  # green
    WARN = "warn"  # amber: needs attention, nothing is wrong yet
    ERROR = "error"  # red


# name: (level, English, Chinese). Placeholders are filled from Outcome.detail.
MESSAGES: dict[str, tuple[Level, str, str]] = {
    "login": (Level.OK, "Hello {operator}", "{operator}，你好"),
    "logout": (Level.OK, "{operator} logged out", "{operator} 已退出"),
    "login_required": (Level.ERROR, "Scan your badge first", "请先扫描工牌"),
    "finish_order_first": (Level.ERROR, "Finish or abort order {order_id} first", "请先完成或取消订单 {order_id}"),
    "order_opened": (
        Level.OK, "Order {order_id}: scan {remaining} item(s)", "订单 {order_id}：请扫描 {remaining} 件商品",
    ),
    "order_resumed": (
        Level.WARN, "Order {order_id} is open: {remaining} item(s) to go",
        "订单 {order_id} 进行中：还差 {remaining} 件",
    ),
    "order_not_found": (Level.ERROR, "No order {code}", "找不到订单 {code}"),
    "order_cancelled": (Level.ERROR, "Order {order_id} is CANCELLED — do not pack", "订单 {order_id} 已取消，请勿打包"),
    "order_refunded": (Level.ERROR, "Order {order_id} is REFUNDED — do not pack", "订单 {order_id} 已退款，请勿打包"),
    "order_on_hold": (Level.ERROR, "Order {order_id} is ON HOLD", "订单 {order_id} 已挂起"),
    "order_not_payable": (Level.ERROR, "Order {order_id} is not paid", "订单 {order_id} 未付款"),
    "order_already_shipped": (
        Level.WARN, "Order {order_id} already shipped ({tracking_no}) — scan REPRINT for its label",
        "订单 {order_id} 已发货（{tracking_no}）— 扫描「补打」重印面单",
    ),
    "order_blocked": (
        Level.ERROR, "Order {order_id} HELD: {reasons} — supervisor badge to pack it anyway",
        "订单 {order_id} 被拦下：{reasons}——需主管扫描工牌才能打包",
    ),
    "order_in_progress": (Level.ERROR, "Order {order_id} is still open: finish or abort it", "订单 {order_id} 未完成"),
    "order_empty": (Level.ERROR, "Order {order_id} has no lines", "订单 {order_id} 没有商品"),
    "item_ok": (Level.OK, "{name} ({scanned}/{expected})", "{name}（{scanned}/{expected}）"),
    "items_complete": (Level.OK, "All items scanned — put the parcel on the scale", "商品已齐，请称重"),
    "wrong_item": (Level.ERROR, "WRONG ITEM: {name} is not in this order", "错误商品：{name} 不在此订单中"),
    "over_quantity": (Level.ERROR, "TOO MANY: {name} only {expected} needed", "数量超出：{name} 只需 {expected} 件"),
    "unknown_code": (Level.ERROR, "Unknown code {code}", "未知条码 {code}"),
    "bad_scan": (Level.ERROR, "Bad scan: {reason}", "条码错误：{reason}"),
    "scan_order_first": (Level.ERROR, "Scan an order first", "请先扫描订单"),
    "waybill_bound": (
        Level.OK, "Waybill {tracking_no} bound to {order_id}", "运单 {tracking_no} 已绑定订单 {order_id}",
    ),
    "waybill_in_use": (Level.ERROR, "Waybill {tracking_no} is already used", "运单 {tracking_no} 已被使用"),
    "weight_ok": (Level.OK, "{actual_g} g OK (expected {expected_g} g)", "{actual_g} 克，正常（预期 {expected_g} 克）"),
    "weight_mismatch": (
        Level.ERROR, "WEIGHT {actual_g} g, expected {expected_g} g ±{allowed_g} — check the parcel",
        "重量 {actual_g} 克，预期 {expected_g} 克 ±{allowed_g}，请检查包裹",
    ),
    "weight_unusual": (
        Level.ERROR, "WEIGHT {actual_g} g is unusual for these items (usually {history_mean_g} g)",
        "重量 {actual_g} 克异常（同类包裹约 {history_mean_g} 克）",
    ),
    "no_waybill": (
        Level.ERROR, "No waybill number left for {carrier} — import waybills or scan a pre-printed waybill; "
        "lift the parcel and put it back to weigh again",
        "{carrier} 运单号已用完——请导入运单号或扫描预印运单；取下包裹再放回即重新称重",
    ),
    "label_queued": (Level.OK, "Printing label {tracking_no} ({waybill_en})",
                     "正在打印面单 {tracking_no}（{waybill_zh}）"),
    "label_printed": (Level.OK, "Done — label {tracking_no} printed", "完成，面单 {tracking_no} 已打印"),
    "print_failed": (
        Level.ERROR, "Printer: {reason} — label will print when fixed", "打印机：{reason}，修复后自动打印",
    ),
    "print_uncertain": (
        Level.ERROR, "Printer: {reason} — if no label came out, scan REPRINT",
        "打印机：{reason}，如面单未打出请扫描「补打」",
    ),
    "reprint_queued": (Level.WARN, "Reprint {reprint_no} of {tracking_no}", "补打第 {reprint_no} 次 {tracking_no}"),
    "nothing_to_reprint": (Level.ERROR, "Nothing to reprint", "没有可补打的面单"),
    "aborted": (Level.WARN, "Order {order_id} aborted", "订单 {order_id} 已取消打包"),
    "nothing_to_abort": (Level.WARN, "Nothing to abort", "没有进行中的订单"),
    "supervisor_required": (Level.WARN, "Supervisor: scan your badge to {action}", "请主管扫描工牌以{action}"),
    "supervisor_called": (Level.WARN, "Supervisor called to station {station} (case #{case})",
                          "已呼叫主管到 {station}（异常 #{case}）"),
    "supervisor_called_again": (
        Level.WARN, "Supervisor called again to station {station}: {calls} calls (case #{case})",
        "已再次呼叫主管到 {station}：共 {calls} 次（异常 #{case}）",
    ),
    "not_a_supervisor": (Level.ERROR, "{operator} is not a supervisor", "{operator} 不是主管"),
    "override_accepted": (Level.WARN, "{supervisor} approved: {action}", "{supervisor} 已批准：{action}"),
    "short_shipped": (Level.WARN, "Short-ship of {order_id} approved", "订单 {order_id} 缺货发货已批准"),
    "command_not_now": (Level.ERROR, "{command} is not possible now", "当前不能执行 {command}"),
    "weight_ignored": (Level.OK, "", ""),
}


def render_message(catalog: dict[str, tuple[Level, str, str]], event: str, lang: str, values: dict[str, Any]) -> str:
    """The event's words in `lang` (zh* or English), filled from `values`; a missing value leaves the
    template as written rather than failing at the bench."""
    _, english, chinese = catalog[event]
    template = chinese if lang.startswith("zh") else english
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


@dataclass(frozen=True)
class Outcome:
    event: str
    state: str
    code: str | None = None
    order_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> Level:
        return MESSAGES[self.event][0]

    def text(self, lang: str = "en") -> str:
        return render_message(MESSAGES, self.event, lang, {"code": self.code, "order_id": self.order_id, **self.detail})

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event, "level": self.level.value, "code": self.code, "order_id": self.order_id,
            "state": self.state, "message": self.text("en"), **{k: v for k, v in self.detail.items()},
        }
