"""English lines read back into words: a line that is a catalog msgid filled in gives back its msgid and
the values it was filled with, so it can be worded in another language (docs/i18n.md).

Used where the English is what was kept or passed on as text: a scan's recorded line
(`app.pack.recorded`) and a device's reason (a driver's `TransportError`, a scale's or scanner's
status detail: `translate_reasons`). The msgid's literal text is matched and each `{field}`
captures what was filled in there; a text that reads as no msgid is not words.
"""

from __future__ import annotations

import re
import string
from functools import cache

from app.i18n import DEFAULT_LANGUAGE, render, translator

REASON_SEPARATOR = ", "  # drivers join several reasons so: "paper out, ribbon out"
_MIN_LITERAL = 3  # letters a template must have to be tried on a value: "{a} {b}" would match anything


def unformat(template: str, text: str) -> dict[str, str] | None:
    """The values `template` was filled with to give `text`, or None if it was not."""
    match = _pattern(template).fullmatch(text)
    return match.groupdict() if match else None


def filled_template(text: str) -> tuple[str, dict[str, str]] | None:
    """The catalog msgid `text` was filled from and its values (the most literal msgid first), or None."""
    for template in templates():
        fields = unformat(template, text)
        if fields is not None:
            return template, fields
    return None


def translate_reasons(text: str, lang: str, depth: int = 2) -> str:
    """A device's reasons, or a line a station worker reported (a camera's failure), in `lang`: one
    line with values (a port, what the system said) read back from the msgid it was filled from, its
    values worded in turn, or English msgids joined by ", "; words no catalog knows (a library's own
    text) stay as the device said them."""
    filled = filled_template(text) if depth > 0 else None
    if filled is not None:
        template, fields = filled
        return render(template, lang, {name: translate_reasons(value, lang, depth - 1)
                                       for name, value in fields.items()})
    gettext = translator(lang).gettext
    if text in catalog_ids():  # one msgid that has the separator in it ("…, then restart the station")
        return gettext(text)
    return REASON_SEPARATOR.join(gettext(part) for part in text.split(REASON_SEPARATOR))


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
def catalog_ids() -> frozenset[str]:
    """The English msgids: what a value may be when it is words."""
    return frozenset(translator(DEFAULT_LANGUAGE).messages)


@cache
def templates() -> tuple[str, ...]:
    """The msgids with fields that a value may be filled from, the most literal text first (the most
    specific one wins when two would match)."""
    found = []
    for msgid in catalog_ids():
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
