"""Interpret one raw scan: what did the packer just scan? (docs/architecture.md §4.3)

Pure domain code: no Qt, no I/O. `interpret()` is total: for any bytes or str it returns a
`ParsedScan` or raises `BarcodeError`, whose `reason` (words of the catalog) is shown to the packer.

Interpretation order (first match wins):

1. command code ``PB*CMD*<NAME>`` (case-insensitive; an unknown NAME is an error, never an order);
2. operator badge (the caller's ``is_badge`` predicate);
3. AIM symbology identifier (``]C1`` …) stripped and recorded as ``symbology``;
4. GS1 element string, parsed by biip, when the symbology is a GS1 one (]C1 ]d2 ]Q3 ]e0), the data
   holds a GS (0x1D) separator, or it begins with a parenthesised AI such as ``(01)``;
5. EAN-8 / UPC-E / UPC-A / EAN-13 / GTIN-14, check digit verified, normalised by `gtin_key`;
6. carrier tracking number (patterns from the field notes, kept as data);
7. order number: 4–64 characters of ``[A-Za-z0-9_#-]``; the caller decides whether it exists.

The AIM identifier is peeled off before step 1 although it is "step 3": scanners add it to every
scan once configured, so a command sheet or badge would otherwise arrive as ``]C0PB*CMD*ABORT``.

Ambiguity rules for all-digit data (a wrong check digit must never match silently):

* ``]E0``/``]E4`` (EAN/UPC symbology): the data must be a valid GTIN, else an error.  ``]E4`` is
  EAN-8 only; an 8-digit ``]E0`` payload is UPC-E (EAN-8 has its own identifier).
* 8 digits without an EAN identifier: EAN-8 if its check digit is valid, else UPC-E (number system
  0 or 1) expanded to UPC-A if that check digit is valid, else an error.  A code valid both ways
  (e.g. ``01234565``) is read as EAN-8; `gtin_key` applies the same rule so that store keys agree.
* 12/13/14 digits: a valid check digit makes it a GTIN.  Otherwise, if it fits a carrier pattern
  (EMS ``[981]`` + 12 and Yunda ``5`` + 12 are 13 digits, ZTO/STO 14) it is a tracking number;
  otherwise a check-digit error.  About one tracking number in ten has a "valid" check digit by
  chance and is read as a GTIN: such results keep the carrier in ``ParsedScan.carrier`` so a caller
  expecting a tracking number can fall back to it.
* Hence an all-digit order number of 8, 12, 13 or 14 digits is never read as an order: it is a
  GTIN, a tracking number or a check-digit error.  GS1 data is only recognised by its AIM id, a GS
  or ``(AI)``; a keyboard-wedge scan that lost both arrives as digits and falls through the steps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from app.errors import InputError
from app.i18n import N_, Phrase

MAX_SCAN_LENGTH: Final = 4096  # bytes (or characters for str input); a real barcode is far shorter
CHECK_DIGIT_WRONG: Final = N_("check digit wrong in {code}: misread or damaged barcode, scan again")


class BarcodeError(InputError, ValueError):
    """The scan cannot be used; `reason` is meant for the packer, in the bench's language."""

    def __init__(self, reason: Phrase) -> None:
        super().__init__(reason)
        self.reason = reason


class Command(Enum):
    ABORT = "ABORT"
    REPRINT = "REPRINT"
    CALL_SUPERVISOR = "CALL_SUPERVISOR"
    LOGOUT = "LOGOUT"
    SHORT_SHIP = "SHORT_SHIP"
    ACCEPT_WEIGHT = "ACCEPT_WEIGHT"
    VOID_LABEL = "VOID_LABEL"
    SWITCH_CARRIER = "SWITCH_CARRIER"
    CONFIRM = "CONFIRM"
    PREVIEW = "PREVIEW"  # the last label, large on the screen; again (or any other code) closes it


class Kind(Enum):
    COMMAND = "command"
    BADGE = "badge"
    GS1 = "gs1"
    GTIN = "gtin"
    TRACKING = "tracking"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class ParsedScan:
    kind: Kind
    text: str  # cleaned payload: whitespace and AIM identifier removed (upper-cased for TRACKING)
    symbology: str | None  # "code128", "gs1-128", "ean13", … or the raw AIM id; None if not sent
    command: Command | None = None
    gtin: str | None = None  # 14-digit key (`gtin_key`), for GTIN and GS1 (AI 01)
    carrier: str | None = None  # TRACKING; on GTIN: the digits also fit this carrier's pattern
    sscc: str | None = None  # AI 00
    batch: str | None = None  # AI 10
    expiry: dt.date | None = None  # AI 17 (day 00 = last day of the month, done by biip)
    serial: str | None = None  # AI 21
    elements: tuple[tuple[str, str], ...] = ()  # every GS1 (AI, value) pair, in scan order


_COMMAND_PREFIX: Final = "PB*CMD*"

AIM_SYMBOLOGIES: Final = {
    "]C0": "code128",
    "]C1": "gs1-128",
    "]E0": "ean13",  # also UPC-A and UPC-E
    "]E4": "ean8",
    "]A0": "code39",
    "]I0": "itf",
    "]I1": "itf",
    "]Q1": "qr",
    "]Q3": "gs1-qr",
    "]d1": "datamatrix",
    "]d2": "gs1-datamatrix",
    "]e0": "gs1-databar",
}
_GS1_AIM: Final = frozenset({"]C1", "]d2", "]Q3", "]e0"})

# Field-notes patterns (unofficial hints), anchors dropped: matched with fullmatch on the upper-cased
# text, because a keyboard wedge with Caps Lock on inverts case.  Dict order breaks ties (a 15-digit
# "43…" fits both STO and Yunda; the carrier code is a hint, Kuaidi100 auto-detect has the last word).
CARRIER_PATTERNS: Final = {
    "SF": r"SF[A-Za-z0-9]\d{12}",
    "ZTO": r"7[3-68]\d{12}",
    "YTO": r"YT\d{13}",
    "STO": r"(?:77|43)\d{12,15}",
    "YUNDA": r"[34]\d{14}|5\d{12}",
    "JD": r"JD[A-Za-z0-9]{2}\d{11}",
    "JT": r"JT\d{13}",
    "EMS": r"[981]\d{12}|P[A-Za-z]\d{11}",
}
# One alternation with a named group per carrier: a single match call, `lastgroup` names the carrier.
# re.ASCII because \d would otherwise accept e.g. Arabic-Indic digits.
_CARRIER_RE: Final = re.compile(
    "|".join(f"(?P<{code}>{pattern})" for code, pattern in CARRIER_PATTERNS.items()), re.ASCII
)
_ORDER_RE: Final = re.compile(r"[A-Za-z0-9_#-]{4,64}")
_AIM_RE: Final = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_HRI_RE: Final = re.compile(r"\(\d{2,4}\)", re.ASCII)
_CONTROL_RE: Final = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")  # every C0 control but GS, plus DEL
_SURROUNDING_WS: Final = " \t\r\n"  # not str.strip(): that would also eat GS (0x1D counts as space)
_GTIN_LENGTHS: Final = frozenset({8, 12, 13, 14})


def _show(text: str, limit: int = 40) -> str:
    """Quote scanned text for a message without dumping 4 KB of junk on the packer's screen."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit alone accepts "²" and non-Latin digits


def command_barcode(cmd: Command) -> str:
    """Text to encode (as Code 128) on the command sheet; `interpret` reads it back as `cmd`."""
    return _COMMAND_PREFIX + cmd.value


def is_command(raw: bytes | str, command: Command) -> bool:
    """True when `raw` is `command`'s code (as the command sheet prints it, AIM identifier or not)."""
    try:
        return interpret(raw).command is command
    except BarcodeError:
        return False


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit for `body` (the GTIN without its check digit): weights 3,1,… from the right."""
    if not _is_digits(body):
        raise BarcodeError(Phrase(N_("not a number: {code}"), {"code": _show(body)}))
    total = 3 * sum(map(int, body[-1::-2])) + sum(map(int, body[-2::-2]))
    return -total % 10


def _check_ok(code: str) -> bool:
    return gtin_check_digit(code[:-1]) == ord(code[-1]) - 48


def upce_to_upca(upce: str) -> str:
    """Expand an 8-digit UPC-E (number system, 6 digits, check digit) to its 12-digit UPC-A.

    The check digit is carried over unchanged (it is the UPC-A's); verifying it is `gtin_key`'s job.
    """
    if len(upce) != 8 or not _is_digits(upce) or upce[0] not in "01":
        raise BarcodeError(Phrase(N_("not a UPC-E code: {code}"), {"code": _show(upce)}))
    d, last = upce[1:7], upce[6]
    if last in "012":
        middle = d[:2] + last + "0000" + d[2:5]
    elif last == "3":
        middle = d[:3] + "00000" + d[3:5]
    elif last == "4":
        middle = d[:4] + "00000" + d[4]
    else:
        middle = d[:5] + "0000" + last
    return upce[0] + middle + upce[7]


def _key_or_none(code: str, *, ean8: bool = True, upce: bool = True) -> str | None:
    """14-digit key if `code` (8/12/13/14 ASCII digits) has a valid check digit, else None.

    For 8 digits, `ean8`/`upce` say which readings are allowed; EAN-8 is tried first.
    """
    if len(code) != 8:
        return code.zfill(14) if _check_ok(code) else None
    if ean8 and _check_ok(code):
        return code.zfill(14)
    if upce and code[0] in "01":
        upca = upce_to_upca(code)
        if _check_ok(upca):
            return upca.zfill(14)
    return None


def _checked_key(code: str, *, ean8: bool = True, upce: bool = True) -> str:
    if len(code) not in _GTIN_LENGTHS or not _is_digits(code):
        raise BarcodeError(Phrase(N_("not a product barcode (needs 8, 12, 13 or 14 digits): {code}"),
                                  {"code": _show(code)}))
    key = _key_or_none(code, ean8=ean8, upce=upce)
    if key is None:
        raise BarcodeError(Phrase(CHECK_DIGIT_WRONG, {"code": code}))
    return key


def gtin_key(text: str) -> str:
    """Normalise a GTIN-8/12/13/14 (or UPC-E) to the zero-padded 14-digit key the store indexes by.

    UPC-A ``012345678905`` and EAN-13 ``0012345678905`` give the same key; 8 digits follow the
    EAN-8-then-UPC-E rule of `interpret`.  Raises BarcodeError on a wrong length or check digit.
    """
    return _checked_key(text.strip(_SURROUNDING_WS))


def _decode(raw: bytes | str) -> str:
    if len(raw) > MAX_SCAN_LENGTH:
        raise BarcodeError(Phrase(N_("unreadable scan: too long ({length} characters)"), {"length": len(raw)}))
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BarcodeError(Phrase(N_("unreadable scan: not valid text (check the scanner's encoding)"))) from None
    text = text.strip(_SURROUNDING_WS)
    if not text:
        raise BarcodeError(Phrase(N_("empty scan")))
    if _CONTROL_RE.search(text):
        raise BarcodeError(Phrase(N_("unreadable scan: contains control bytes")))
    return text


def _parse_gs1(payload: str, symbology: str | None) -> ParsedScan:
    from biip.gs1_messages import GS1Message  # here: biip takes ~70 ms to import, a third of start-up

    try:
        # parse_hri for "(01)…(10)…", parse for raw element strings with GS separators.
        msg = GS1Message.parse_hri(payload) if payload.startswith("(") else GS1Message.parse(payload)
    except Exception as exc:  # biip raises ParseError, but odd input can surface other errors too
        raise BarcodeError(Phrase(N_("unreadable GS1 code: {error}"), {"error": str(exc)[:160]})) from exc
    if not msg.element_strings:
        raise BarcodeError(Phrase(N_("unreadable GS1 code: no data")))
    values: dict[str, str] = {}
    expiry: dt.date | None = None
    for es in msg.element_strings:
        # biip records check-digit failures on the element instead of raising: turn them into errors.
        if es.gtin_error or es.sscc_error or es.gln_error:
            raise BarcodeError(Phrase(N_("check digit wrong in GS1 ({ai}) {value}: scan again"),
                                      {"ai": es.ai.ai, "value": es.value}))
        values.setdefault(es.ai.ai, es.value)  # first occurrence wins
        if es.ai.ai == "17" and expiry is None:
            expiry = es.date
    gtin = values.get("01")
    return ParsedScan(
        Kind.GS1,
        payload,
        symbology,
        gtin=None if gtin is None else _checked_key(gtin),
        sscc=values.get("00"),
        batch=values.get("10"),
        expiry=expiry,
        serial=values.get("21"),
        elements=tuple((es.ai.ai, es.value) for es in msg.element_strings),
    )


def _carrier(text: str) -> str | None:
    match = _CARRIER_RE.fullmatch(text.upper())
    return None if match is None else match.lastgroup


def _never_badge(_text: str) -> bool:
    return False


def interpret(raw: bytes | str, is_badge: Callable[[str], bool] = _never_badge) -> ParsedScan:
    """Interpret one scan (see the module docstring for the order and the ambiguity rules).

    `is_badge` is called with the cleaned payload; its own exceptions (e.g. a store failure) are
    not scan errors and propagate unchanged.
    """
    text = _decode(raw)
    aim: str | None = None
    symbology: str | None = None
    if _AIM_RE.match(text):
        aim, text = text[:3], text[3:].lstrip(_SURROUNDING_WS)
        symbology = AIM_SYMBOLOGIES.get(aim, aim)
        if not text:
            raise BarcodeError(Phrase(N_("empty scan")))

    if text[:7].upper() == _COMMAND_PREFIX:
        command = Command.__members__.get(text[7:].upper())
        if command is None:
            raise BarcodeError(Phrase(N_("unknown command barcode {code}: use the current command sheet"),
                                      {"code": _show(text)}))
        return ParsedScan(Kind.COMMAND, text, symbology, command=command)

    if is_badge(text):
        return ParsedScan(Kind.BADGE, text, symbology)

    if aim in _GS1_AIM or "\x1d" in text or _HRI_RE.match(text):
        return _parse_gs1(text, symbology)

    if aim == "]E0" or aim == "]E4":
        if not _is_digits(text):
            raise BarcodeError(Phrase(N_("unreadable product barcode: {code}"), {"code": _show(text)}))
        if aim == "]E4" and len(text) != 8:
            raise BarcodeError(Phrase(N_("unreadable EAN-8 barcode: {code}"), {"code": _show(text)}))
        # AIM gives EAN-8 its own identifier, so 8 digits under ]E0 can only be UPC-E.
        key = _checked_key(text, ean8=aim == "]E4", upce=aim == "]E0")
        return ParsedScan(Kind.GTIN, text, symbology, gtin=key)

    if len(text) in _GTIN_LENGTHS and _is_digits(text):
        gtin = _key_or_none(text)
        carrier = _carrier(text)
        if gtin is not None:
            return ParsedScan(Kind.GTIN, text, symbology, gtin=gtin, carrier=carrier)
        if carrier is not None:
            return ParsedScan(Kind.TRACKING, text, symbology, carrier=carrier)
        raise BarcodeError(Phrase(CHECK_DIGIT_WRONG, {"code": text}))

    if text.isascii():
        carrier = _carrier(text)
        if carrier is not None:
            return ParsedScan(Kind.TRACKING, text.upper(), symbology, carrier=carrier)
        if _ORDER_RE.fullmatch(text):
            return ParsedScan(Kind.ORDER, text, symbology)
        raise BarcodeError(Phrase(N_("unrecognised barcode {code}: not an order, product or parcel code"),
                                  {"code": _show(text)}))
    raise BarcodeError(Phrase(N_("unreadable scan: contains non-ASCII characters (turn off the input method?)")))
