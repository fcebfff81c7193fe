"""Small parsers for the label languages, so tests (and the fake TCP printer) assert on commands, not bytes.

- `parse_zpl(data)` → [(command, params)]: `^FO` → ("FO", "24,24"), `^A0N,40,40` → ("A", "0N,40,40"),
  `^FD...` runs to its `^FS`; `zpl_fields(data)` groups them per field, with ^FH escapes decoded.
- `parse_tspl(data)` → [(command, [args])], strings unquoted (`\\["]` → `"`); GB18030 decoded.
- `find_escpos_qr(data)` → the `GS ( k` store-data payload; `find_escpos_barcode(data)` → the `GS k`
  CODE128 data with its `{B`/`{C` code sets decoded back to text.
"""

from __future__ import annotations

import re

# --- ZPL ---

def parse_zpl(data: bytes) -> list[tuple[str, str]]:
    text = data.decode("utf-8")
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if text[i] not in "^~":
            if not text[i].isspace():
                raise ValueError(f"ZPL: stray data {text[i:i + 20]!r} at {i}")
            i += 1
            continue
        if text.startswith("FD", i + 1):
            end = text.find("^FS", i)
            if end < 0:
                raise ValueError(f"ZPL: ^FD without ^FS at {i}")
            out.append(("FD", text[i + 3:end]))
            i = end
            continue
        if text[i + 1] == "A" and text[i + 2] != "@":
            name, start = "A", i + 2
        else:
            name, start = text[i + 1:i + 3], i + 3
        end = start
        while end < len(text) and text[end] not in "^~":
            end += 1
        out.append((name, text[start:end].strip()))
        i = end
    return out


def zpl_unescape(field: str, indicator: str = "_") -> str:
    raw = re.sub(re.escape(indicator) + r"([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), field)
    return raw


def zpl_fields(data: bytes) -> list[dict[str, str]]:
    """One dict per ^FO...^FS field: command → params, "FD" decoded through ^FH when present."""
    fields: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for name, params in parse_zpl(data):
        if name == "FO":
            current = {"FO": params}
        elif name == "FS":
            if current:
                fields.append(current)
            current = {}
        elif current:
            current[name] = zpl_unescape(params) if name == "FD" and "FH" in current else params
    return fields


def zpl_code128_text(field_data: str) -> str:
    """^BC mode N field data with invocation codes (>: >; >5 >6 >0 >< >=) back to the encoded text."""
    out: list[str] = []
    code_set, i = "B", 0
    while i < len(field_data):
        if field_data[i] == ">":
            code = field_data[i + 1]
            i += 2
            if code in ":6":
                code_set = "B"
            elif code in ";5":
                code_set = "C"
            elif code in "0<=":
                out.append({"0": ">", "<": "^", "=": "~"}[code])
            else:
                raise ValueError(f"unexpected invocation code >{code}")
        elif code_set == "C":
            out.append(field_data[i:i + 2])
            i += 2
        else:
            out.append(field_data[i])
            i += 1
    return "".join(out)


# --- TSPL ---

def parse_tspl(data: bytes) -> list[tuple[str, list[str]]]:
    if not data.endswith(b"\r\n") or re.search(rb"(?<!\r)\n", data):
        raise ValueError("TSPL lines must end in CRLF")
    out: list[tuple[str, list[str]]] = []
    for line in data.decode("gb18030").split("\r\n")[:-1]:
        command, _, rest = line.partition(" ")
        out.append((command, _tspl_args(rest)))
    return out


def _tspl_args(rest: str) -> list[str]:
    args: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] == '"':
            value, i = [], i + 1
            while rest[i] != '"':
                if rest.startswith('\\["]', i):
                    value.append('"')
                    i += 4
                else:
                    value.append(rest[i])
                    i += 1
            args.append("".join(value))
            i += 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            args.append(rest[i:end].strip())
            i = end
        if i < len(rest):
            if rest[i] != ",":
                raise ValueError(f"TSPL: expected ',' in {rest!r} at {i}")
            i += 1
    return args


# --- ESC/POS ---

def find_escpos_qr(data: bytes) -> str:
    """The payload of `GS ( k pL pH 49 80 48 d...` (QR code: store the data in the symbol storage area)."""
    at = data.find(b"\x1d(k")
    while at >= 0:
        length = data[at + 3] + 256 * data[at + 4]
        cn, fn = data[at + 5], data[at + 6]
        if cn == 49 and fn == 80:
            return data[at + 8:at + 5 + length].decode("utf-8")
        at = data.find(b"\x1d(k", at + 5 + length)
    raise ValueError("no GS ( k store-data command")


def find_escpos_barcode(data: bytes) -> str:
    """The data of `GS k 73 n d1...dn` (CODE128, function B), code sets decoded back to text."""
    at = data.find(b"\x1dkI")
    if at < 0:
        raise ValueError("no GS k CODE128 command")
    n = data[at + 3]
    raw = data[at + 4:at + 4 + n]
    out: list[str] = []
    code_set, i = "B", 0
    while i < len(raw):
        if raw[i:i + 1] == b"{" and raw[i + 1:i + 2] != b"{":
            code_set = chr(raw[i + 1])
            i += 2
        elif code_set == "C":
            out.append(f"{raw[i]:02d}")
            i += 1
        else:
            out.append(chr(raw[i]))
            i += 2 if raw[i:i + 2] == b"{{" else 1
    return "".join(out)
