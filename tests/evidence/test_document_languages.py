"""Printed documents speak one language from the catalog (or, for an evidence pack, both side by side):
a Chinese pack shows none of the documents' English sentences, an English one none of their Chinese."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from pypdf import PdfReader

from app.cases import RULE_TITLE, open_case, transition
from app.clock import FakeClock
from app.documents.manifest import write_manifest
from app.documents.words import BOTH, DocumentWords, document_words
from app.errors import BadValue
from app.evidence.service import EvidenceSettings, build_evidence
from app.handover import Manifest, ManifestLine
from app.i18n import N_, Phrase, translator
from app.pack.outcomes import MESSAGES as OUTCOMES
from app.rules import RuleBook
from app.store import Store
from app.store.models import Order, Shipment
from app.tracking_states import TRACKING_STATUSES
from drivers.printers.preview import render_png
from tests.evidence.history import ORDER, History

ROOT = Path(__file__).resolve().parents[2]


def document_sentences() -> list[str]:
    """The English message ids of the PDF modules that are sentences (several words, no placeholder):
    long enough that seeing one in a Chinese document can only mean it was not translated."""
    method_map, options_map = parse_mapping_cfg(io.StringIO(
        "[python: app/evidence/**.py]\n[python: app/documents/**.py]\n"))
    ids = {message for *_, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map,
                                                           keywords={"_": None, "N_": None})}
    return sorted(i for i in ids if isinstance(i, str) and " " in i and "{" not in i)


def text_of(path: Path) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in PdfReader(str(path)).pages))


def pack(store: Store, clock: FakeClock, settings: EvidenceSettings, out: Path, lang: str) -> str:
    [path] = build_evidence(store, [ORDER], out, render_label_png=render_png, settings=replace(settings, lang=lang),
                            clock=clock)
    return text_of(path)


def test_the_check_knows_the_documents_sentences() -> None:
    sentences = document_sentences()
    assert "Order and lines" in sentences and "Carrier handover manifest" in sentences and len(sentences) > 40
    assert all(translator("zh_CN").gettext(s) != s for s in sentences)  # each has its Chinese


def test_a_chinese_pack_has_no_english_sentence_and_an_english_one_no_chinese(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path) -> None:
    clock.advance(hours=100)
    zh = pack(demo_store, clock, settings, tmp_path / "zh.pdf", "zh_CN")
    en = pack(demo_store, clock, settings, tmp_path / "en.pdf", "en")
    both = pack(demo_store, clock, settings, tmp_path / "both.pdf", BOTH)
    chinese = translator("zh_CN")
    for sentence in document_sentences():
        assert sentence not in zh, sentence
        if len(chinese.gettext(sentence)) >= 5:  # shorter words occur in the carrier's own Chinese trail (已揽收)
            assert chinese.gettext(sentence) not in en, sentence
    for words in ("证据包", "订单与商品", "审计链完整", "仓库超时 6.5 小时", "第 1 / 3 页"):
        assert words in zh and words not in en and words in both
    for words in ("Evidence pack", "Order and lines", "chain intact", "warehouse late by 6.5 h", "Page 1 of 3"):
        assert words in en and words in both


def test_the_manifest_is_in_the_stations_language(tmp_path: Path) -> None:
    line = ManifestLine("SF1400000000000", "TB2026112500001", "张* 138****5678", 715, "2026-11-25T02:00:00.000Z")
    manifest = Manifest("HO-20261125-BENCH-1-SF-001", "SF", "BENCH-1", "2026-11-25T01:00:00.000Z", "王芳",
                        "2026-11-25T03:00:00.000Z", "王芳", "李师傅", (line,))
    write_manifest(tmp_path / "en.pdf", manifest, lang="en")
    write_manifest(tmp_path / "zh.pdf", manifest)  # the default station language
    en, zh = text_of(tmp_path / "en.pdf"), text_of(tmp_path / "zh.pdf")
    assert "Carrier handover manifest" in en and "Courier signature" in en and "SF Express" in en
    assert "快递交接单" not in en and "快递员签字" not in en and "顺丰速运" not in en
    assert "快递交接单" in zh and "顺丰速运" in zh and "Courier signature" not in zh and "Page 1 of 1" not in zh


def test_words_join_the_languages_once_and_refuse_an_unknown_one() -> None:
    both = document_words(BOTH)
    assert both("Evidence pack") == "证据包 Evidence pack"
    assert both("SKU") == "货号 SKU"
    assert both("{carrier} · {batch_id}", carrier="SF", batch_id="HO-1") == "SF · HO-1"  # the same in both: said once
    assert both("Page {number} of {count}", sep=" | ", number=2, count=3) == "第 2 / 3 页 | Page 2 of 3"
    assert both.pick("顺丰速运", "SF Express") == "顺丰速运 SF Express"
    assert document_words("en")("Evidence pack") == "Evidence pack"
    assert DocumentWords(("zh_CN",)).pick("顺丰速运", "SF Express") == "顺丰速运"
    nested = Phrase(N_("dispute: delivered per carrier but {reason}"), {"reason": Phrase(N_("on time"))})
    assert document_words("zh_CN")(nested) == "争议：快递显示已签收，但按时"
    with pytest.raises(BadValue, match="zh_CN, en, both"):
        document_words("fr")


# Latin a Chinese pack keeps: codes (outcome codes, audit kinds, tracking states, the verify commands),
# units, the time zone's name, and the data it prints as recorded (products, platform, shop, actors).
PACK_CODES = frozenset({
    *OUTCOMES, *TRACKING_STATUSES, "PackBench", "SKU", "SOP", "UTC", "Asia", "Shanghai", "g", "kg", "ml",
    "packbench", "audit", "passport", "verify", "data-dir", "https", "pdf", "default", "kuaidi100",
    "scan", "system", "taobao", "taobao-demo", "Bamboo", "chopsticks", "Ceramic", "mug",
})
LATIN_WORD = re.compile(r"(?<![\w.\-/])[A-Za-z][A-Za-z\-]*(?![\w.\-/])")  # a word alone, not part of a code
HASH_PIECE = re.compile(r"[a-f]+")  # a hash the layout wrapped: its letters alone


def english_words(text: str, passport: str) -> set[str]:
    """Latin words of `text` that are not codes or data: the passport's id and URL and the audit hashes
    are random per run and wrap anywhere, so a piece of them is data, not a word."""
    return {word for word in LATIN_WORD.findall(text) if word not in PACK_CODES and word not in passport
            and not HASH_PIECE.fullmatch(word)}


def test_a_chinese_pack_words_scans_and_cases_in_chinese(
        demo_store: Store, clock: FakeClock, history: History, settings: EvidenceSettings, tmp_path: Path) -> None:
    """The scan lines, recorded in English, and a rule's case are worded in Chinese; what stays Latin is
    a code or data (PACK_CODES)."""
    rule = RuleBook().defaults.get("address_hold_words")
    assert rule is not None
    case = open_case(demo_store, clock, dedupe_key=f"address_hold_words:{ORDER}", tag=rule.tag, rule_id=rule.id,
                     severity=rule.severity, route=rule.route, sop=rule.sop,
                     title=Phrase(RULE_TITLE, {"subject": ORDER, "title": Phrase(rule.title)}),
                     order=Order.get(Order.order_id == ORDER))
    assert case is not None
    transition(demo_store, clock, case.id, "acknowledged", "李强")
    clock.advance(hours=100)
    zh = pack(demo_store, clock, settings, tmp_path / "zh.pdf", "zh_CN")
    for words in ("错误商品：Ceramic mug 350 ml 陶瓷杯 不在此订单中", f"订单 {ORDER}：请扫描 3 件商品",
                  "商品已齐，请称重", "本地单号池", f"{ORDER}：地址含代收/驿站/暂存", "地址风险", "已确认"):
        assert words in zh, words
    for english in ("WRONG ITEM", "item(s)", "put the parcel on the scale", "Printing label", "pickup point",
                    "address_risk"):
        assert english not in zh, english
    passport = " ".join([history.passport_url, *(s.passport_id or "" for s in Shipment.select())])
    assert english_words(zh, passport) == set()
    en = pack(demo_store, clock, settings, tmp_path / "en.pdf", "en")
    assert "WRONG ITEM: Ceramic mug 350 ml 陶瓷杯 is not in this order" in en
    assert f"{ORDER}: Address is a pickup point or held for collection" in en
