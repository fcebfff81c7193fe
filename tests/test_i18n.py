"""The gettext catalogs: complete for Chinese, in step with the sources, and the translator API."""

from __future__ import annotations

import io
import string
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.i18n import C_, LOCALE_DIR, load, pick_language, translator
from app.rules import RuleBook
from app.terms import CASE_STATES, named

ROOT = Path(__file__).resolve().parents[1]


def _source_ids() -> set[str]:
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text(encoding="utf-8")))
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    ids = set()
    for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords):
        ids.add(_key(message[0] if isinstance(message, tuple) else message, context))
    return ids


def _key(msgid: str, context: str | None) -> str:
    """How the translator knows an entry: its msgid, after its context if it has one (`app.i18n.C_`)."""
    return C_(context, msgid) if context else msgid


def test_every_message_of_the_sources_has_a_chinese_translation() -> None:
    ids = _source_ids()
    assert len(ids) > 30
    zh = load("zh_CN")
    missing = sorted(i for i in ids if i not in zh.messages and i not in zh.plurals)
    assert not missing, f"untranslated (run the steps in docs/i18n.md): {missing}"
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "packbench.po").open("rb") as handle:
        english = {_key(m.id[0] if isinstance(m.id, tuple) else m.id, m.context) for m in read_po(handle) if m.id}
    assert ids <= english, f"missing from the English catalog: {sorted(ids - english)}"


def test_the_shipped_rules_words_are_extracted() -> None:
    """babel.cfg's rules extractor finds every shipped rule's title and SOP, so the test above fails
    while one of them has no Chinese translation."""
    ids = _source_ids()
    rules = RuleBook().defaults.rules
    assert len(rules) >= 10
    for rule in rules:
        assert rule.title in ids and rule.sop in ids, rule.id


def test_one_english_word_with_two_meanings_has_an_entry_for_each() -> None:
    """A case's state "open" (a state: 待处理) is not the console's link "Open" (a verb: 打开)."""
    assert named(CASE_STATES, "open").text("zh_CN") == "待处理"
    assert translator("zh_CN").gettext("Open") == "打开"
    assert named(CASE_STATES, "open").text("en") == "open"  # untranslated: the msgid, without its context
    assert translator("zh_CN").gettext(C_("no such context", "Open")) == "Open"


def test_translator_falls_back_to_the_id_and_picks_languages() -> None:
    assert translator("zh_CN").gettext("Today") == "今日"
    assert translator("en").gettext("Today") == "Today"
    assert translator("xx").lang == "zh_CN"
    assert translator("zh_CN").gettext("no such message id") == "no such message id"
    assert pick_language("en", "zh-CN") == "en"
    assert pick_language("", "fr;q=1, en-GB;q=0.8, zh;q=0.5") == "en"
    assert pick_language(None, "de, zh-TW;q=0.9") == "zh_CN"
    assert pick_language(None, "q=;;,,garbage;q=x") == "zh_CN"
    assert pick_language(None, None) == "zh_CN"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_a_translation_names_no_field_its_id_lacks() -> None:
    """render() fills a translation with the id's values: a field only the translation names (a typo)
    would fail the format, and the line would show its bare template instead."""
    zh = load("zh_CN")
    wrong = {msgid: text for msgid, text in zh.messages.items() if "{" in text and not _fields(text) <= _fields(msgid)}
    assert not wrong, wrong
