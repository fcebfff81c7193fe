"""Kuaidi100's carrier codes and state codes, mapped to PackBench's.

State codes: with `resultv2` ≥ 1 every trail item carries `statusCode`, a family digit or a
sub-code within it (Kuaidi100 "快递信息推送服务" document, 状态值说明):

    1 揽收     101 已下单, 102 待揽收, 103 已揽收
    0 在途     1001 到达派件城市, 1002 干线, 1003 转递
    5 派件     501 投柜或驿站
    3 签收     301 本人签收, 302 派件异常后签收, 303 代签, 304 投柜或站签收
    4 退签     401 已销单
    14 拒签    6 退回    7 转投    2 疑难 (2xx)    8 / 10–13 清关

The collection family is NOT mapped by its first digit: 101 and 102 are an order waiting for a
courier, not a parcel the carrier has (`app.tracking_states`). An item without `statusCode` falls
back to its `status` word, then (the newest item only) to the push's overall `state`, then to what
its own text says; only what none of these can place is "in transit".
"""

from __future__ import annotations

from app.errors import BadValue
from app.i18n import N_
from app.waybills import normalise_carrier
from protocol import TrackingStatus

# PackBench carrier code → Kuaidi100 `com` / `kuaidicom` (参数字典)
COMPANIES = {"SF": "shunfeng", "ZTO": "zhongtong", "YTO": "yuantong", "STO": "shentong", "YUNDA": "yunda",
             "JD": "jd", "EMS": "ems", "JT": "jtexpress"}
CARRIERS = {com: code for code, com in COMPANIES.items()}
# Carriers whose trail Kuaidi100 only returns with a phone number (its 订阅 document: 顺丰 needs the
# receiver's or sender's phone; the last four digits are enough).
NEEDS_PHONE = frozenset({"SF"})

STATES: dict[str, TrackingStatus] = {
    "101": "ordered", "102": "awaiting_pickup", "103": "picked_up", "1": "picked_up",
    "0": "in_transit", "1001": "in_transit", "1002": "in_transit", "1003": "in_transit",
    "5": "out_for_delivery", "501": "out_for_delivery",
    "3": "delivered", "301": "delivered", "302": "delivered", "303": "delivered", "304": "delivered",
    "4": "cancelled", "401": "cancelled",
    "14": "refused",
    "6": "returning",
    "7": "forwarded",
    "2": "exception",
    "8": "customs", "10": "customs", "11": "customs", "12": "customs", "13": "customs",
}
WORDS = {"在途": "0", "揽收": "1", "疑难": "2", "签收": "3", "退签": "4", "派件": "5", "退回": "6", "转投": "7",
         "清关": "8", "待清关": "10", "清关中": "11", "已清关": "12", "清关异常": "13", "拒签": "14",
         "已下单": "101", "待揽收": "102", "已揽收": "103", "已销单": "401"}
# What an item's own text says, for pushes without resultv2 and without a word: the first phrase
# found decides (most specific first: "已签收" before "派件", "待揽收" before "揽收").
TEXT_HINTS: tuple[tuple[str, TrackingStatus], ...] = (
    ("拒收", "refused"), ("拒签", "refused"), ("退回", "returning"), ("已签收", "delivered"), ("代签收", "delivered"),
    ("签收", "delivered"), ("派件", "out_for_delivery"), ("派送", "out_for_delivery"), ("待揽收", "awaiting_pickup"),
    ("已下单", "ordered"), ("揽收", "picked_up"), ("揽件", "picked_up"), ("已收取", "picked_up"), ("收件", "picked_up"),
    ("清关", "customs"), ("转投", "forwarded"),
)


def company(carrier: str) -> str:
    """Kuaidi100's code for a PackBench carrier code (`SF` → `shunfeng`); BadValue if it has none."""
    code = normalise_carrier(carrier)
    if code not in COMPANIES:
        raise BadValue(N_("carrier {carrier} has no Kuaidi100 company code"), carrier=code)
    return COMPANIES[code]


def carrier_of(com: str) -> str:
    """PackBench's code for a Kuaidi100 company code; an unknown one as it came, upper-case."""
    return CARRIERS.get(com.strip().lower(), com.strip().upper() or "UNKNOWN")


def family(code: str) -> str:
    """A sub-code's family digit (`301` → `3`, `1002` → `0`); what Kuaidi100 calls the state."""
    if len(code) == 4 and code.startswith("10"):
        return "0"
    return code[:-2] if len(code) >= 3 else code


def status_of(code: str, word: str = "", fallback: str = "", text: str = "") -> TrackingStatus:
    """The PackBench state of one trail item; see the module doc for the order of evidence."""
    for candidate in (code.strip(), WORDS.get(word.strip(), ""), fallback.strip()):
        if candidate in STATES:
            return STATES[candidate]
        if candidate.isdigit() and family(candidate) in STATES:  # a sub-code this table does not list
            return STATES[family(candidate)]
    for phrase, status in TEXT_HINTS:
        if phrase in text:
            return status
    return "in_transit"
