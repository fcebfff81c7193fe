"""Tokens of the rule condition language (see `app.rules.parser` for the grammar).

Positions are 1-based (line, column) inside the condition text. Every malformed input raises
`RuleSyntaxError`; the lexer never raises anything else, whatever the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.rules.errors import RuleSyntaxError

MAX_CONDITION_CHARS = 8000
MAX_NUMBER_CHARS = 18  # beyond this a literal is a typo, not a quantity (and int() would get slow)

KEYWORDS = frozenset({"and", "or", "not", "true", "false", "in", "contains", "matches"})
# Duration units: a number immediately followed by one of these is a duration literal (`24h`).
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ",", ".", "+", "-", "*", "/")
ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}
MISTAKES = {"=": "use == to compare", "!": "use `not`", "&": "use `and`", "|": "use `or`"}
_DIGITS = "0123456789"
_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_NAME_CHARS = _NAME_START + _DIGITS


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number | duration | string | name | keyword | op | eof
    text: str
    value: object
    line: int
    column: int


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.text[j] if j < len(self.text) else ""

    def take(self) -> str:
        ch = self.text[self.i]
        self.i += 1
        if ch == "\n":
            self.line += 1
            self.col = 1
        else:
            self.col += 1
        return ch


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_CONDITION_CHARS:
        raise RuleSyntaxError(f"condition is longer than {MAX_CONDITION_CHARS} characters")
    r = _Reader(text)
    tokens: list[Token] = []
    while True:
        ch = r.peek()
        if ch == "":
            tokens.append(Token("eof", "", None, r.line, r.col))
            return tokens
        if ch.isspace():  # includes the full-width space an IME types between CJK words
            r.take()
        elif ch == "#":  # a comment runs to the end of the line
            while r.peek() not in ("", "\n"):
                r.take()
        elif ch in _DIGITS:
            tokens.append(_number(r))
        elif ch in "\"'":
            tokens.append(_string(r))
        elif ch in _NAME_START:
            line, col, start = r.line, r.col, r.i
            while r.peek() != "" and r.peek() in _NAME_CHARS:
                r.take()
            word = text[start:r.i]
            tokens.append(Token("keyword" if word in KEYWORDS else "name", word, word, line, col))
        else:
            tokens.append(_operator(r))


def _number(r: _Reader) -> Token:
    line, col, start = r.line, r.col, r.i
    while r.peek() != "" and r.peek() in _DIGITS:
        r.take()
    if r.peek() == "." and r.peek(1) != "" and r.peek(1) in _DIGITS:
        r.take()
        while r.peek() != "" and r.peek() in _DIGITS:
            r.take()
    digits = r.text[start:r.i]
    if len(digits) > MAX_NUMBER_CHARS:
        raise RuleSyntaxError(f"number {digits[:12]}… is too long", line, col)
    number: float | int = float(digits) if "." in digits else int(digits)
    if r.peek() != "" and r.peek() in _NAME_START:
        unit_start = r.i
        while r.peek() != "" and r.peek() in _NAME_CHARS:
            r.take()
        unit = r.text[unit_start:r.i]
        if unit not in UNITS:
            raise RuleSyntaxError(f"unknown unit {unit!r} after {digits} (durations look like 30m, 24h, 7d, 2w)",
                                  line, col)
        return Token("duration", digits + unit, float(number) * UNITS[unit], line, col)
    return Token("number", digits, number, line, col)


def _string(r: _Reader) -> Token:
    line, col, start = r.line, r.col, r.i
    quote = r.take()
    out: list[str] = []
    while True:
        ch = r.peek()
        if ch in ("", "\n"):
            raise RuleSyntaxError("unterminated string", line, col)
        r.take()
        if ch == quote:
            return Token("string", r.text[start:r.i], "".join(out), line, col)
        if ch != "\\":
            out.append(ch)
            continue
        esc_line, esc_col = r.line, r.col - 1
        code = r.peek()
        if code in ESCAPES:
            out.append(ESCAPES[r.take()])
        elif code == "u":
            r.take()
            hex_digits = "".join(r.take() for _ in range(4) if r.peek() != "" and r.peek() in "0123456789abcdefABCDEF")
            if len(hex_digits) != 4:
                raise RuleSyntaxError("\\u needs four hex digits", esc_line, esc_col)
            out.append(chr(int(hex_digits, 16)))
        else:
            raise RuleSyntaxError(f"unknown escape \\{code} (known: \\\\ \\\" \\' \\n \\t \\r \\uXXXX)",
                                  esc_line, esc_col)


def _operator(r: _Reader) -> Token:
    line, col = r.line, r.col
    two = r.peek() + r.peek(1)
    for op in OPERATORS:
        if two.startswith(op):
            for _ in op:
                r.take()
            return Token("op", op, op, line, col)
    ch = r.peek()
    hint = MISTAKES.get(ch)
    raise RuleSyntaxError(f"unexpected {ch!r}" + (f": {hint}" if hint else ""), line, col)
