"""A scan's recorded line in any language: `scan_event` keeps each outcome's stable code and its
English words as they were said (docs/i18n.md); `recorded_words` gives them back as a `Phrase` to word
in a document's language.

The English line is the outcome's msgid filled in, so the values can be read back out of it: the
msgid's literal text is matched and each `{field}` captures what was filled in there. A captured value
that is itself words (a command's name, a rule's title, a bad-scan reason — English msgids of the
catalog, alone, in a list, or a template with values of its own) becomes words again, so it is worded
in the document's language too; anything else (an order number, a product's name, a weight) is a
value and stays as it was. A line that does not read as its code's msgid (an unknown code, a msgid
changed since the scan) is the recorded English, as it was.
"""

from __future__ import annotations

import re
import string
from functools import cache
from typing import Any

from app.alarms import REASON_SEPARATOR
from app.i18n import DEFAULT_LANGUAGE, LIST_SEPARATOR, Phrase, translator
from app.pack.flow import DeviceReasons
from app.pack.outcomes import MESSAGES

NESTED = 2  # a reason inside a line, a code quoted inside the reason: deeper is a value
_MIN_LITERAL = 3  # letters a template must have to be tried on a value: "{a} {b}" would match anything


def recorded_words(outcome: str, message: str) -> Phrase:
    """The recorded line of `outcome` as words: its msgid with the values read back from `message`."""
    entry = MESSAGES.get(outcome)
    if entry is None or not entry.text:
        return Phrase(message) if message else Phrase("")
    fields = _unformat(entry.text, message)
    if fields is None:
        return Phrase(message)
    return Phrase(entry.text, {name: _words(value, NESTED) for name, value in fields.items()})


def _words(value: str, depth: int) -> Any:
    """A captured value as words when it is words the catalog knows, else the value itself."""
    if depth <= 0 or not value:
        return value
    if value in _catalog():
        return Phrase(value)
    parts = value.split(LIST_SEPARATOR)  # the rules that hold an order
    if len(parts) > 1 and all(part in _catalog() for part in parts):
        return tuple(Phrase(part) for part in parts)
    parts = value.split(REASON_SEPARATOR)  # a printer's reasons
    if len(parts) > 1 and all(part in _catalog() for part in parts):
        return DeviceReasons(value)
    for template in _templates():
        fields = _unformat(template, value)
        if fields is not None:
            return Phrase(template, {name: _words(v, depth - 1) for name, v in fields.items()})
    return value


def _unformat(template: str, text: str) -> dict[str, str] | None:
    """The values `template` was filled with to give `text`, or None if it was not."""
    match = _pattern(template).fullmatch(text)
    return match.groupdict() if match else None


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name in seen or not name.isidentifier():
            parts.append(f"(?P={name})" if name in seen else ".+?")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("".join(parts), re.S)


@cache
def _catalog() -> frozenset[str]:
    """The English msgids: what a value may be when it is words."""
    return frozenset(translator(DEFAULT_LANGUAGE).messages)


@cache
def _templates() -> tuple[str, ...]:
    """The msgids with fields that a value may be filled from, the most literal text first (the most
    specific one wins when two would match)."""
    found = []
    for msgid in _catalog():
        try:
            parsed = list(string.Formatter().parse(msgid))
        except ValueError:
            continue
        fields = [(name, spec, conversion) for _, name, spec, conversion in parsed if name is not None]
        literal = "".join(text for text, _, _, _ in parsed)
        plain = all(name.isidentifier() and not spec and not conversion for name, spec, conversion in fields)
        if fields and plain and sum(c.isalpha() for c in literal) >= _MIN_LITERAL:  # a value read back is text:
            found.append((len(literal), msgid))  # a format spec or !r would word it otherwise than it was
    return tuple(msgid for _, msgid in sorted(found, reverse=True))
