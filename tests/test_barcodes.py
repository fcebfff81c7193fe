"""Tests for app.barcodes: one raw scan in, one ParsedScan (or a BarcodeError) out."""

from __future__ import annotations

import datetime as dt

import pytest
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.upc import Upc
from hypothesis import given, settings
from hypothesis import strategies as st

from app import barcodes
from app.barcodes import (
    BarcodeError,
    Command,
    Kind,
    ParsedScan,
    command_barcode,
    gtin_check_digit,
    gtin_key,
    interpret,
    upce_to_upca,
)

GS = "\x1d"


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("cmd", list(Command))
def test_command_barcode_round_trips(cmd: Command) -> None:
    text = command_barcode(cmd)
    assert text == f"PB*CMD*{cmd.name}"
    # Code 128 friendly: printable ASCII only, upper case.
    assert text.isascii() and text.isprintable() and text == text.upper()
    scan = interpret(text)
    assert scan.kind is Kind.COMMAND and scan.command is cmd


@pytest.mark.parametrize("text", ["pb*cmd*abort", "PB*CMD*Abort", "Pb*Cmd*aBoRt", b"PB*CMD*ABORT\r\n"])
def test_command_is_case_insensitive(text: str | bytes) -> None:
    assert interpret(text).command is Command.ABORT


def test_command_with_aim_prefix() -> None:
    scan = interpret("]C0PB*CMD*SHORT_SHIP")
    assert scan.kind is Kind.COMMAND and scan.command is Command.SHORT_SHIP and scan.symbology == "code128"


@pytest.mark.parametrize("text", ["PB*CMD*XYZ", "pb*cmd*", "PB*CMD*ABORTX", "PB*CMD* ABORT"])
def test_unknown_command_is_an_error_not_an_order(text: str) -> None:
    with pytest.raises(BarcodeError, match="command"):
        interpret(text)


def test_command_wins_over_badge() -> None:
    assert interpret("PB*CMD*LOGOUT", is_badge=lambda s: True).kind is Kind.COMMAND


# ---------------------------------------------------------------- badges


def test_badge_precedes_order_and_gtin() -> None:
    badges = {"EMP0042", "4006381333931"}
    assert interpret("EMP0042", is_badge=badges.__contains__).kind is Kind.BADGE
    assert interpret("EMP0042").kind is Kind.ORDER
    assert interpret("4006381333931", is_badge=badges.__contains__).kind is Kind.BADGE


def test_badge_predicate_sees_cleaned_payload() -> None:
    seen: list[str] = []

    def is_badge(text: str) -> bool:
        seen.append(text)
        return text == "EMP0042"

    scan = interpret(b"]C0EMP0042\r\n", is_badge=is_badge)
    assert seen == ["EMP0042"]
    assert scan == ParsedScan(Kind.BADGE, "EMP0042", "code128")


def test_badge_predicate_not_called_for_junk() -> None:
    def is_badge(text: str) -> bool:
        raise AssertionError("called")

    with pytest.raises(BarcodeError):
        interpret("ab\x00cd", is_badge=is_badge)


def test_badge_store_failure_is_not_disguised_as_scan_error() -> None:
    def is_badge(text: str) -> bool:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        interpret("EMP0042", is_badge=is_badge)


# ---------------------------------------------------------------- AIM symbology identifiers


@pytest.mark.parametrize(
    ("raw", "symbology", "kind"),
    [
        ("]C0SO-123456", "code128", Kind.ORDER),
        ("]C10109506000134352", "gs1-128", Kind.GS1),
        ("]E04006381333931", "ean13", Kind.GTIN),
        ("]E496385074", "ean8", Kind.GTIN),
        ("]d20109506000134352", "gs1-datamatrix", Kind.GS1),
        ("]Q1SO-123456", "qr", Kind.ORDER),
        ("]Q30109506000134352", "gs1-qr", Kind.GS1),
        ("]e00109506000134352", "gs1-databar", Kind.GS1),
        ("]X9SO-123456", "]X9", Kind.ORDER),  # unknown identifier: kept raw
    ],
)
def test_aim_identifier_stripped_and_named(raw: str, symbology: str, kind: Kind) -> None:
    scan = interpret(raw)
    assert scan.symbology == symbology
    assert scan.kind is kind
    assert scan.text == raw[3:]


def test_no_aim_identifier_means_no_symbology() -> None:
    assert interpret("SO-123456").symbology is None


def test_aim_identifier_alone_is_empty() -> None:
    with pytest.raises(BarcodeError, match="empty"):
        interpret("]C0\r\n")


# ---------------------------------------------------------------- GS1


def test_gs1_with_gs_separators_all_ais() -> None:
    raw = "".join(["]C1", "00106141412345678908", "0109506000134352", "17251231", "10LOT-7", GS, "21SN0001"])
    scan = interpret(raw)
    assert scan.kind is Kind.GS1
    assert scan.sscc == "106141412345678908"
    assert scan.gtin == "09506000134352"
    assert scan.expiry == dt.date(2025, 12, 31)
    assert scan.batch == "LOT-7"
    assert scan.serial == "SN0001"
    assert [ai for ai, _ in scan.elements] == ["00", "01", "17", "10", "21"]


def test_gs1_detected_by_gs_without_aim() -> None:
    scan = interpret(f"0109506000134352{GS}10ABC{GS}")
    assert scan.kind is Kind.GS1 and scan.symbology is None
    assert scan.gtin == "09506000134352" and scan.batch == "ABC"


def test_gs1_detected_by_parenthesised_ai() -> None:
    scan = interpret("(01)09506000134352(17)260200(10)AB12(21)XYZ")
    assert scan.kind is Kind.GS1
    assert scan.gtin == "09506000134352"
    assert scan.expiry == dt.date(2026, 2, 28)  # day 00 = last day of the month
    assert (scan.batch, scan.serial) == ("AB12", "XYZ")


def test_gs1_gtin_uses_same_key_as_plain_gtin() -> None:
    assert interpret("]C10100012345678905").gtin == interpret("012345678905").gtin == "00012345678905"


def test_gs1_repeated_ai_first_wins_all_kept() -> None:
    scan = interpret(f"]C110A{GS}10B")
    assert scan.batch == "A" and scan.elements == (("10", "A"), ("10", "B"))


def test_gs1_without_supported_ais_still_gs1() -> None:
    scan = interpret("]C1400PO-991")
    assert scan.kind is Kind.GS1 and scan.gtin is None and scan.elements == (("400", "PO-991"),)


@pytest.mark.parametrize(
    "raw",
    [
        "]C10109506000134353",  # GTIN check digit
        "(01)09506000134353",
        "]C100106141412345678909",  # SSCC check digit
    ],
)
def test_gs1_bad_check_digit(raw: str) -> None:
    with pytest.raises(BarcodeError, match="check digit"):
        interpret(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "]C10109506000134",  # GTIN too short
        "]C1172513",  # month 13
        "]C1ABC",  # no AI
        f"]C1{GS}",
        "(01)",
        "(01)x",
        "(9999)1",  # unknown AI
        f"ABC{GS}DEF",
    ],
)
def test_gs1_unparseable_is_barcode_error(raw: str) -> None:
    with pytest.raises(BarcodeError, match="GS1"):
        interpret(raw)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), IndexError("x"), KeyError("y")])
def test_biip_exceptions_are_wrapped(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(GS1Message, "parse", explode)
    monkeypatch.setattr(GS1Message, "parse_hri", explode)
    for raw in ("]C10109506000134352", "(01)09506000134352"):
        with pytest.raises(BarcodeError) as info:
            interpret(raw)
        assert info.value.__cause__ is exc


# ---------------------------------------------------------------- GTINs


def test_check_digit_known_values() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("01234567890") == 5
    assert gtin_check_digit("9638507") == 4
    assert gtin_check_digit("0950600013435") == 2
    assert gtin_check_digit("1950600013435") == 9
    with pytest.raises(BarcodeError):
        gtin_check_digit("12a4")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("96385074", "00000096385074"),  # EAN-8
        ("4006381333931", "04006381333931"),  # EAN-13
        ("012345678905", "00012345678905"),  # UPC-A
        ("0012345678905", "00012345678905"),  # same UPC-A as 13 digits
        ("00012345678905", "00012345678905"),  # and as GTIN-14
        ("19506000134359", "19506000134359"),  # GTIN-14 with indicator digit
        ("04252614", "00042100005264"),  # UPC-E (invalid as EAN-8) expanded
        ("]E0012345678905", "00012345678905"),  # scanners send UPC-A under ]E0 as 12 or 13 digits
        ("]E00012345678905", "00012345678905"),
        ("]E004252614", "00042100005264"),
    ],
)
def test_gtin_scans(raw: str, key: str) -> None:
    scan = interpret(raw)
    assert scan.kind is Kind.GTIN
    assert scan.gtin == key
    assert gtin_key(scan.text) == key


def test_upc_a_and_ean13_give_same_key_both_ways() -> None:
    assert gtin_key("012345678905") == gtin_key("0012345678905")
    assert gtin_key("0012345678905") == gtin_key("012345678905")
    assert interpret("012345678905").gtin == interpret("]E00012345678905").gtin
    assert interpret("0012345678905").gtin == interpret("]E0012345678905").gtin


def test_eight_digit_ambiguity() -> None:
    # "01234565" is valid both as EAN-8 and as UPC-E: no identifier -> EAN-8 (rule), ]E0 -> UPC-E.
    assert interpret("01234565").gtin == "00000001234565"
    assert interpret("]E401234565").gtin == "00000001234565"
    assert interpret("]E001234565").gtin == "00012345000065"
    # "04252614" is only valid as UPC-E: ]E4 says EAN-8, so it is a misread.
    with pytest.raises(BarcodeError, match="check digit"):
        interpret("]E404252614")


@pytest.mark.parametrize("raw", ["96385075", "4006381333932", "012345678904", "19506000134358", "04252615"])
def test_wrong_check_digit_is_error(raw: str) -> None:
    with pytest.raises(BarcodeError, match="check digit"):
        interpret(raw)
    with pytest.raises(BarcodeError, match="check digit"):
        gtin_key(raw)


@pytest.mark.parametrize("raw", ["]E0ABC", "]E0123", "]E4012345678905", "]E412345"])
def test_ean_symbology_requires_a_valid_gtin(raw: str) -> None:
    with pytest.raises(BarcodeError):
        interpret(raw)


@pytest.mark.parametrize("text", ["", "1234567", "123456789", "１２３４５６７８", "12345678901a"])
def test_gtin_key_rejects_bad_length_or_non_digits(text: str) -> None:
    with pytest.raises(BarcodeError):
        gtin_key(text)


@pytest.mark.parametrize(
    ("upce", "upca"),
    [
        ("04252614", "042100005264"),  # last digit 1
        ("01234565", "012345000065"),  # 5..9
        ("01234531", "012300000451"),  # 3 (check digit carried over, not verified here)
        ("01234542", "012340000052"),  # 4
        ("11234502", "112000003452"),  # 0, number system 1
    ],
)
def test_upce_to_upca(upce: str, upca: str) -> None:
    assert upce_to_upca(upce) == upca


@pytest.mark.parametrize("text", ["24252614", "0425261", "0425261a", "042526144"])
def test_upce_to_upca_rejects_non_upce(text: str) -> None:
    with pytest.raises(BarcodeError):
        upce_to_upca(text)


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=7, max_size=7).filter(lambda s: s[0] in "01"))
def test_upce_expansion_matches_biip(body: str) -> None:
    expanded = upce_to_upca(body + "0")[:-1]
    upce = body + str(gtin_check_digit(expanded))
    assert upce_to_upca(upce) == Upc.parse(upce).as_upc_a()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([12, 13, 14]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)))
def test_check_digit_agrees_with_biip(code: str) -> None:
    try:
        expected: str | None = Gtin.parse(code).as_gtin_14()
    except Exception:
        expected = None
    try:
        got: str | None = gtin_key(code)
    except BarcodeError:
        got = None
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=11, max_size=11))
def test_upca_as_13_digits_same_key(body: str) -> None:
    upca = body + str(gtin_check_digit(body))
    assert gtin_key(upca) == gtin_key("0" + upca) == gtin_key("00" + upca) == "00" + upca
    assert interpret(upca).gtin == interpret("0" + upca).gtin == interpret("]E00" + upca).gtin


# ---------------------------------------------------------------- carriers


@pytest.mark.parametrize(
    ("raw", "carrier"),
    [
        ("SF1403512345678", "SF"),
        ("SFA403512345678", "SF"),
        ("sf1403512345678", "SF"),  # Caps Lock on a keyboard wedge
        ("73100012345670", "ZTO"),  # 14 digits, invalid GTIN-14 check digit
        ("YT7512345678901", "YTO"),
        ("773012345678901", "STO"),
        ("77312345678900", "STO"),  # 14 digits, invalid GTIN-14 check digit
        ("4301234567890123", "STO"),
        ("312345678901234", "YUNDA"),
        ("5123456789010", "YUNDA"),  # 13 digits, invalid EAN-13 check digit
        ("JDVA00123456789", "JD"),
        ("JDX000123456789", "JD"),
        ("JT0001234567890", "JT"),
        ("9812345678900", "EMS"),  # 13 digits, invalid EAN-13 check digit
        ("1112345678900", "EMS"),
        ("PA12345678901", "EMS"),
        ("]C0SF1403512345678", "SF"),
    ],
)
def test_tracking_numbers(raw: str, carrier: str) -> None:
    scan = interpret(raw)
    assert scan.kind is Kind.TRACKING
    assert scan.carrier == carrier
    assert scan.text == raw.removeprefix("]C0").upper()


def test_carrier_patterns_kept_as_data() -> None:
    assert set(barcodes.CARRIER_PATTERNS) == {"SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS"}


@pytest.mark.parametrize(
    ("valid", "carrier"),
    [("9812345678902", "EMS"), ("5123456789017", "YUNDA"), ("73100012345673", "ZTO")],
)
def test_ambiguity_valid_check_digit_is_gtin_but_keeps_carrier_hint(valid: str, carrier: str) -> None:
    scan = interpret(valid)
    assert scan.kind is Kind.GTIN
    assert scan.gtin == valid.zfill(14)
    assert scan.carrier == carrier


def test_ambiguity_ean_symbology_never_tracking() -> None:
    with pytest.raises(BarcodeError, match="check digit"):
        interpret("]E09812345678900")
    with pytest.raises(BarcodeError, match="check digit"):
        interpret("]E05123456789010")


def test_ambiguity_other_symbology_follows_check_digit() -> None:
    assert interpret("]C09812345678900").kind is Kind.TRACKING
    assert interpret("]C09812345678902").kind is Kind.GTIN


def test_ambiguity_neither_is_check_digit_error() -> None:
    # 13 digits, bad EAN-13 check digit, no carrier starts with 4 at that length.
    with pytest.raises(BarcodeError, match="check digit"):
        interpret("4006381333932")
    with pytest.raises(BarcodeError, match="check digit"):
        interpret("12345678901234")  # 14 digits, bad GTIN-14, no carrier


# ---------------------------------------------------------------- orders


@pytest.mark.parametrize("raw", ["SO-2024-000123", "1234", "a_b#c-d", "x" * 64, "]C0#10023", "123456789"])
def test_order_numbers(raw: str) -> None:
    scan = interpret(raw)
    assert scan.kind is Kind.ORDER
    assert scan.text == raw.removeprefix("]C0")


def test_order_case_kept_and_whitespace_stripped() -> None:
    assert interpret(b"  So-0042\r\n").text == "So-0042"
    assert interpret("So-0042\n").text == "So-0042"


# ---------------------------------------------------------------- junk


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        (b"", "empty"),
        (" \r\n\t", "empty"),
        (b"\xff\xfeSO-1", "not valid text"),
        (b"SO-\xc3", "not valid text"),
        ("SO\x00123", "control"),
        ("SO\t123", "control"),
        ("\x1b[A1234", "control"),
        ("SO-123\x7f", "control"),
        ("x" * 4097, "too long"),
        (b"x" * 4097, "too long"),
        ("订单12345", "non-ASCII"),
        ("１２３４５６７８", "non-ASCII"),
        ("SO 123", "unrecognised"),
        ("abc", "unrecognised"),
        ("x" * 65, "unrecognised"),
        ("https://example.com/x", "unrecognised"),
    ],
)
def test_junk(raw: str | bytes, message: str) -> None:
    with pytest.raises(BarcodeError, match=message):
        interpret(raw)


def test_barcode_error_is_value_error() -> None:
    assert issubclass(BarcodeError, ValueError)


def test_parsed_scan_is_frozen() -> None:
    scan = interpret("SO-1234")
    with pytest.raises(AttributeError):
        scan.text = "x"  # type: ignore[misc]


# ---------------------------------------------------------------- totality


def _total(raw: bytes | str) -> None:
    try:
        result = interpret(raw)
    except BarcodeError:
        return
    assert isinstance(result, ParsedScan)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=4096))
def test_total_on_arbitrary_bytes(raw: bytes) -> None:
    _total(raw)


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=4096))
def test_total_on_arbitrary_text(raw: str) -> None:
    _total(raw)


_PREFIXES = st.sampled_from(
    ["", "]C0", "]C1", "]E0", "]E4", "]d2", "]Q3", "]e0", "(01)", "(17)", "PB*CMD*", "SF"]
)
_BODY = st.text(st.sampled_from("0123456789()\x1dABCxyz-_# \r\n"), max_size=60)


@settings(max_examples=1500, deadline=None)
@given(_PREFIXES, _BODY)
def test_total_on_barcode_like_text(prefix: str, body: str) -> None:
    _total(prefix + body)
