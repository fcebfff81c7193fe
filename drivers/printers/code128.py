"""Code 128 (code sets B and C, chosen automatically), encoded once for every label language.

The preview draws these bars; ZPL and ESC/POS are sent the same code-set choices as invocation codes, so
the printed symbol is the one the preview shows. Only printable ASCII (0x20-0x7E) is accepted: a tracking
number outside it cannot be a Code 128 on a carrier's label.
"""

from __future__ import annotations

import re
from typing import Literal

CodeSet = Literal["B", "C"]
Segment = tuple[CodeSet, str]

# Bar/space widths (in modules) of symbol values 0-105, then the stop pattern (ISO/IEC 15417, table 1).
_TABLE = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232 2331112"
)
_PATTERNS = _TABLE.split()
CODE_C, CODE_B, START_B, START_C, STOP = 99, 100, 104, 105, 106
QUIET_MODULES = 10  # each side


def check(data: str) -> None:
    if not data or any(not 0x20 <= ord(ch) <= 0x7E for ch in data):
        raise ValueError(f"Code 128 here takes printable ASCII only, got {data!r}")


def segments(data: str) -> list[Segment]:
    """Split `data` into code-set runs: C for digit runs long enough to pay for the switch, B for the rest."""
    check(data)
    out: list[Segment] = []

    def add(code_set: CodeSet, text: str) -> None:
        if out and out[-1][0] == code_set:
            out[-1] = (code_set, out[-1][1] + text)
        elif text:
            out.append((code_set, text))

    for run in re.finditer(r"[0-9]+|[^0-9]+", data):
        text, n = run.group(), len(run.group())
        at_start, at_end = run.start() == 0, run.end() == len(data)
        # a switch to C pays for itself from 4 digits at either end, 6 in the middle (2 if that is all)
        min_digits = 4 if at_start or at_end else 6
        worth_c = n >= min_digits or (at_start and at_end and n == 2)
        if not text[0].isdigit() or not worth_c:
            add("B", text)
        elif at_start:  # an odd leftover digit follows the C run, in B
            add("C", text[: n - n % 2])
            add("B", text[n - n % 2:])
        else:  # an odd leftover digit precedes the C run, still in B
            add("B", text[: n % 2])
            add("C", text[n % 2:])
    return out


def encode(data: str) -> list[int]:
    """Symbol values: start, data and code switches, check character, stop."""
    values: list[int] = []
    for index, (code_set, text) in enumerate(segments(data)):
        if index == 0:
            values.append(START_C if code_set == "C" else START_B)
        else:
            values.append(CODE_C if code_set == "C" else CODE_B)
        if code_set == "C":
            values.extend(int(text[k:k + 2]) for k in range(0, len(text), 2))
        else:
            values.extend(ord(ch) - 32 for ch in text)
    checksum = (values[0] + sum(pos * value for pos, value in enumerate(values[1:], 1))) % 103
    return [*values, checksum, STOP]


def modules(data: str) -> int:
    """Width of the symbol in modules, quiet zones excluded."""
    return 11 * (len(encode(data)) - 1) + 13


def bars(data: str) -> list[tuple[int, int]]:
    """The black bars as (offset, width) in modules from the symbol's left edge."""
    out: list[tuple[int, int]] = []
    pos = 0
    for value in encode(data):
        for k, width in enumerate(_PATTERNS[value]):
            if k % 2 == 0:
                out.append((pos, int(width)))
            pos += int(width)
    return out


def zpl_field_data(data: str) -> str:
    """`^BC` mode N field data with explicit invocation codes (ZPL II guide, Code 128 invocation table)."""
    out: list[str] = []
    for index, (code_set, text) in enumerate(segments(data)):
        if index == 0:
            out.append(">;" if code_set == "C" else ">:")
        else:
            out.append(">5" if code_set == "C" else ">6")
        if code_set == "C":
            out.append(text)
        else:
            out.append(text.replace(">", ">0").replace("^", "><").replace("~", ">="))
    return "".join(out)


def escpos_data(data: str) -> str:
    """`GS k` CODE128 data: `{B`/`{C` select the code set, `{{` is a literal brace, set C takes byte pairs."""
    out: list[str] = []
    for code_set, text in segments(data):
        if code_set == "C":
            out.append("{C" + "".join(chr(int(text[k:k + 2])) for k in range(0, len(text), 2)))
        else:
            out.append("{B" + text.replace("{", "{{"))
    return "".join(out)
