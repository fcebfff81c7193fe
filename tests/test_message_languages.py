"""Every word the station's domain says, in Chinese without English and in English without Chinese.

Each outcome code — pack flow, handover, waybill pool — is rendered with representative details of
the kinds the code really carries (a bad-scan reason from `interpret`, a command's name, a printer's
reasons, a waybill source, a carrier), and every message id of the station's domain modules is
rendered on its own. A Chinese text may keep Latin only for what is listed in ALLOWED (codes, units,
names of standards and products) and for the plain values filled in (order ids, tracking numbers,
people's names); an English text may keep no Chinese outside those values.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file

from app.barcodes import BarcodeError, interpret
from app.cases import RULE_TITLE as CASE_TITLE
from app.cases import case_sop
from app.handover import MESSAGES as HANDOVER
from app.i18n import Phrase, Words, render, translator
from app.pack.flow import DeviceReasons, Pending
from app.pack.outcomes import MESSAGES as PACK
from app.pack.recorded import recorded_words
from app.rules import RuleBook
from app.rules.loader import Rule
from app.terms import BARCODE_KINDS, CASE_STATES, COMMANDS, PLATFORMS, ROLES, SEVERITIES, WAYBILL_SOURCES, named
from app.waybills import CARRIER_NAMES, PoolWarning

ROOT = Path(__file__).resolve().parents[1]
# The modules whose message ids are the station domain's words (each rendered on its own below).
DOMAIN_SOURCES = ("app/pack/outcomes.py", "app/pack/flow.py", "app/handover.py", "app/waybills.py",
                  "app/barcodes.py", "app/terms.py", "app/station.py")

# Latin a Chinese text may keep: carrier codes, units, names of barcode standards and of the product.
ALLOWED = frozenset({
    "SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS",  # carrier codes (and 中国邮政 EMS)
    "g", "kg", "mm",  # units
    "GS1", "EAN-8", "UPC-E", "ASCII", "SOP", "SKU", "UN38",  # standards and terms used as names (UN38.3)
    "PackBench", "Shopify",  # names of products (Shopify has no Chinese name)
})
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

# Plain values (codes, names, numbers) as they would be filled in; Words values are added per test.
VALUES: dict[str, Any] = {
    "order_id": "TB2026112500001", "code": "'6901234567892'", "tracking_no": "SF1400000000000",
    "operator": "Alex Chen", "supervisor": "李强", "name": "西湖龙井 250g", "station": "BENCH-1",
    "remaining": 3, "scanned": 1, "expected": 2, "actual_g": 1500, "expected_g": 715, "allowed_g": 36,
    "history_mean_g": 702, "reprint_no": 2, "case": 12, "calls": 2, "count": 5,
    "batch_id": "HO-BENCH-1-20261204-01", "handed_over_batch": "HO-BENCH-1-20261203-02",
    "other_batch": "HO-BENCH-2-20261204-01", "parcel_carrier": "ZTO", "free": 30, "threshold": 50,
    "length": 5000, "ai": "01", "value": "06901234567892", "error": "Invalid GS1 element string",
}


def bad_scan_reasons() -> list[Phrase]:
    """Real reasons `interpret` gives, one per kind of bad scan."""
    reasons = []
    for raw in (b"", b"\x07\x07junk", "订单".encode(), b"x" * 5000, b"\xff\xfe", b"6901234567893", b"PB*CMD*NOPE",
                b"]E0690123456789", b"]E401234567", b"(01)0690123456789X", b"]C1\x1d", b"12345678901", b"1234567"):
        try:
            interpret(raw)
        except BarcodeError as exc:
            reasons.append(exc.reason)
    assert len({r.message for r in reasons}) >= 8  # the inputs above really reach different reasons
    return reasons


# What holds an order: the titles of the blocking rules, catalog msgids like any text (docs/i18n.md).
RULES = RuleBook().defaults.rules
HOLDING = tuple(Phrase(rule.title) for rule in RuleBook().defaults.blocking)
# A rule's SOP names the fields a supervisor reads in the case's detail (order.items_key): codes.
FIELD_PATH = re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b")


def words_details() -> list[dict[str, Any]]:
    """Detail sets covering every kind of words a code carries; plain values from VALUES."""
    reasons: list[Words | str] = [*bad_scan_reasons(), DeviceReasons("paper out, print head open"),
                                  DeviceReasons("station stopped while printing")]
    sets = []
    for k, reason in enumerate(reasons):
        sets.append({
            **VALUES, "reason": reason, "reasons": HOLDING,
            "action": list(Pending)[k % len(Pending)].words,
            "command": named(COMMANDS, list(COMMANDS)[k % len(COMMANDS)]),
            "waybill": named(WAYBILL_SOURCES, list(WAYBILL_SOURCES)[k % len(WAYBILL_SOURCES)]),
            "carrier": named(CARRIER_NAMES, list(CARRIER_NAMES)[k % len(CARRIER_NAMES)]),
            "kind": named(BARCODE_KINDS, list(BARCODE_KINDS)[k % len(BARCODE_KINDS)]),
        })
    return sets


def plain_values(values: dict[str, Any]) -> list[str]:
    """The plain values filled in, those inside a Phrase's own fields too (the code a reason quotes)."""
    found = []
    for value in values.values():
        if isinstance(value, Phrase):
            found += plain_values(dict(value.fields))
        elif isinstance(value, tuple):
            found += [v for part in value if isinstance(part, Phrase) for v in plain_values(dict(part.fields))]
        elif not isinstance(value, Words):
            found.append(str(value))
    return found


def without_values(text: str, values: dict[str, Any]) -> str:
    """The text less the plain values filled into it (they are data, in whatever script they came)."""
    for value in sorted(plain_values(values), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", " ", text)
    return text


def foreign_latin(text: str, values: dict[str, Any]) -> list[str]:
    return [w for w in LATIN_WORD.findall(without_values(text, values)) if w not in ALLOWED]


def placeholders(msgid: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(msgid) if name}


def every_code() -> list[tuple[str, str]]:
    return [("pack", code) for code in PACK] + [("handover", code) for code in HANDOVER]


def test_every_outcome_code_has_representative_details() -> None:
    for _, msgid in [(c, PACK[c].text) for _, c in every_code() if c in PACK] + [
            (c, HANDOVER[c].text) for _, c in every_code() if c in HANDOVER]:
        missing = placeholders(msgid) - set(words_details()[0])
        assert not missing, f"{msgid!r} needs representative values for {missing}"


@pytest.mark.parametrize("table, code", every_code())
def test_every_outcome_in_chinese_has_no_english_words(table: str, code: str) -> None:
    msgid = (PACK if table == "pack" else HANDOVER)[code].text
    for details in words_details():
        text = render(msgid, "zh_CN", details)
        assert not placeholders(translator("zh_CN").gettext(msgid)) - set(details)
        assert not foreign_latin(text, details), f"{code}: {text}"
        if msgid:
            assert CJK.search(without_values(text, details)), f"{code} is not translated: {text}"


@pytest.mark.parametrize("table, code", every_code())
def test_every_outcome_in_english_has_no_chinese(table: str, code: str) -> None:
    msgid = (PACK if table == "pack" else HANDOVER)[code].text
    for details in words_details():
        text = render(msgid, "en", details)
        assert not CJK.search(without_values(text, details)), f"{code}: {text}"


def test_waybill_pool_warnings_in_both_languages() -> None:
    for carrier in CARRIER_NAMES:
        for free in (0, 12):
            warning = PoolWarning(carrier, free, 50)
            values = {"free": free, "threshold": 50}
            assert not foreign_latin(warning.text("zh_CN"), values), warning.text("zh_CN")
            assert not CJK.search(warning.text("en")), warning.text("en")


def test_names_of_codes_in_both_languages() -> None:
    for table in (COMMANDS, BARCODE_KINDS, ROLES, SEVERITIES, CASE_STATES, WAYBILL_SOURCES, CARRIER_NAMES,
                  PLATFORMS):
        for code in table:
            assert not foreign_latin(named(table, code).text("zh_CN"), {}), (code, named(table, code).text("zh_CN"))
            assert not CJK.search(named(table, code).text("en")), code
            assert named(table, code).plain() == code


def test_every_message_id_of_the_station_domain_in_both_languages() -> None:
    ids: set[str] = set()
    for source in DOMAIN_SOURCES:
        for _, message, _, _ in extract_from_file("python", str(ROOT / source), keywords={"N_": None}):
            ids.add(message)
    assert len(ids) > 100
    for msgid in sorted(ids):
        values = {name: VALUES.get(name, f"<{name}>") for name in placeholders(msgid)}
        zh = render(msgid, "zh_CN", values)
        assert not foreign_latin(zh, values), f"{msgid!r} → {zh!r}"
        assert not CJK.search(without_values(render(msgid, "en", values), values)), msgid


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_every_shipped_rule_in_both_languages(rule: Rule) -> None:
    """A case's title and SOP as the triage screen, the console and the evidence pack word them."""
    title = Phrase(CASE_TITLE, {"subject": "TB2026112500001", "title": Phrase(rule.title)})
    for text in (title.text("zh_CN"), case_sop(rule.sop).text("zh_CN")):
        assert not foreign_latin(FIELD_PATH.sub(" ", text), {"subject": "TB2026112500001"}), (rule.id, text)
        assert CJK.search(text), (rule.id, text)
    for text in (title.text("en"), case_sop(rule.sop).text("en")):
        assert not CJK.search(text), (rule.id, text)


def test_the_check_itself_catches_english_in_chinese() -> None:
    assert foreign_latin("条码错误：check digit wrong in 690", {}) == ["check", "digit", "wrong", "in"]
    assert foreign_latin("请主管扫描工牌以short-ship", {}) == ["short-ship"]
    assert foreign_latin("重量 712 g，SF 顺丰", {}) == []
    assert foreign_latin("Alex Chen 已退出", {"operator": "Alex Chen"}) == []
    assert CJK.search("Order 1 aborted（已取消）")


@pytest.mark.parametrize("code", list(PACK))
def test_a_recorded_scan_line_is_worded_again_in_either_language(code: str) -> None:
    """scan_event keeps a line's English (the record); the evidence pack reads the values back out of it
    and words the line in its own language, as the bench would have said it (app.pack.recorded)."""
    for details in words_details():
        english = render(PACK[code].text, "en", details)
        words = recorded_words(code, english)
        assert words.text("en") == english
        assert words.text("zh_CN") == render(PACK[code].text, "zh_CN", details), code


def test_a_recorded_line_that_does_not_read_as_its_code_stays_as_recorded() -> None:
    assert recorded_words("no_such_code", "Something the bench said").text("zh_CN") == "Something the bench said"
    changed = "Order TB1: scan 3 items"  # the msgid has changed since: not the words of order_opened now
    assert recorded_words("order_opened", changed).text("zh_CN") == changed
    assert recorded_words("weight_ignored", "").text("zh_CN") == ""
