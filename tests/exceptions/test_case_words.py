"""A case's title and SOP are worded where they are read: from the phrase the case keeps, in any
language; a case stored before (a pre-worded title, no phrase) still shows as it was stored."""

from __future__ import annotations

import json
import re

from app.case_detail import CaseDetail
from app.cases import RULE_TITLE, case_sop, case_title, detail_words, open_case
from app.clock import FakeClock
from app.i18n import Phrase
from app.rules import RuleBook, run_rules
from app.store import Store
from app.store.models import AuditEntry, ExceptionCase, Order
from app.stored_words import dump_words, load_words
from app.terms import COMMANDS, named
from server.cases import title_of
from tests.rules.builders import order

PHONE = RuleBook().defaults.get("address_phone")
assert PHONE is not None


def test_a_rule_case_keeps_english_and_is_worded_in_each_language(store: Store, clock: FakeClock) -> None:
    order(clock, "T-1", phone="1380013800")  # ten digits: the address_phone rule holds it
    run_rules(store, clock, RuleBook().defaults, "import")
    case = ExceptionCase.get(ExceptionCase.rule_id == "address_phone")
    assert case.title == "T-1: Receiver mobile number is not 11 digits"  # the record, in English
    assert case.sop == PHONE.sop  # the msgid itself
    title = case_title(case.title, detail_words(case.detail))
    assert title.text("zh_CN") == "T-1：收件手机号不是 11 位" and title.text("en") == case.title
    assert case_sop(case.sop).text("zh_CN").startswith("1. 在平台后台核对收件人手机号")
    opened = json.loads(AuditEntry.get(AuditEntry.kind == "exception.opened").payload)
    assert load_words(opened["title_words"]) == title  # the fact carries the words to the server


def test_a_case_stored_before_titles_were_phrases_shows_as_stored(store: Store, clock: FakeClock) -> None:
    order(clock, "T-2")
    case = open_case(store, clock, dedupe_key="old:1", tag="address_risk", rule_id="address_phone",
                     severity="warning", route="supervisor", title="x", sop="x",
                     order=Order.get(Order.order_id == "T-2"))
    assert case is not None
    old_title = "T-2: 收件手机号不是 11 位 / Receiver mobile number is not 11 digits"
    old_sop = "1. 在平台后台核对收件人手机号。\n1. Check the receiver's mobile number on the platform."
    ExceptionCase.update(title=old_title, sop=old_sop, detail='{"trigger": "import"}').execute()
    row = ExceptionCase.get_by_id(case.id)
    for lang in ("zh_CN", "en"):
        assert case_title(row.title, detail_words(row.detail)).text(lang) == old_title
        assert case_sop(row.sop).text(lang) == old_sop
    assert title_of(old_title, "").text("zh_CN") == old_title  # the server's older rows too


def test_words_round_trip_and_anything_else_is_no_words() -> None:
    words = Phrase(RULE_TITLE, {"subject": "SF1", "title": Phrase(PHONE.title),
                                "also": (named(COMMANDS, "ABORT"), Phrase("x {n}", {"n": 2})), "n": 3.5})
    assert load_words(json.loads(json.dumps(dump_words(words)))) == words
    for garbage in (None, "", "text", 12, [], {"msgid": 1}, {"msgid": "a", "fields": []},
                    {"msgid": "a", "fields": {"x": {"evil": 1}}}, {"code": "A"}):
        assert load_words(garbage) is None, garbage
    deep: object = {"msgid": "{a}", "fields": {}}
    for _ in range(10):
        deep = {"msgid": "{a}", "fields": {"a": deep}}
    assert load_words(deep) is None
    assert title_of("as stored", "{not json").text("zh_CN") == "as stored"


def test_a_cases_detail_is_worded_for_the_reader(store: Store, clock: FakeClock) -> None:
    """The triage screen's detail: each key by its name, coded values by theirs, facts by field path."""
    order(clock, "T-3", phone="1380013800")
    run_rules(store, clock, RuleBook().defaults, "import")
    case = ExceptionCase.get(ExceptionCase.rule_id == "address_phone")
    zh, en = CaseDetail(case.detail).text("zh_CN"), CaseDetail(case.detail).text("en")
    assert "触发时机：导入" in zh and "规则来源：内置规则" in zh and "order.receiver_phone = 138****3800" in zh
    assert "Raised on: import" in en and "Rules from: shipped rules" in en
    for hidden in ("fingerprint", "title_words", "msgid"):
        assert hidden not in zh and hidden not in en
    latin = set(re.findall(r"[A-Za-z][A-Za-z_]*", re.sub(r"^[a-z_]+\.[a-z_]+ = .*$", "", zh, flags=re.M)))
    assert latin == set(), zh  # outside the facts' field paths and values
    assert not re.search(r"[\u4e00-\u9fff]", en)
    intercept = json.dumps({"status": "refunded", "handed_over": True, "being_packed": False, "orders": ["A", "B"],
                            "newer_key": 1})
    assert CaseDetail(intercept).text("zh_CN").split("\n") == [
        "平台状态：已退款", "已交接：是", "正在打包：否", "订单：A；B", "newer_key：1"]
    assert CaseDetail("not json").text("zh_CN") == "not json"  # an older row's text, as stored
