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

from typing import Any

from app.i18n import LIST_SEPARATOR, Phrase
from app.pack.flow import DeviceReasons
from app.pack.outcomes import MESSAGES
from app.read_back import REASON_SEPARATOR, catalog_ids, filled_template, unformat

NESTED = 2  # a reason inside a line, a code quoted inside the reason: deeper is a value


def recorded_words(outcome: str, message: str) -> Phrase:
    """The recorded line of `outcome` as words: its msgid with the values read back from `message`."""
    entry = MESSAGES.get(outcome)
    if entry is None or not entry.text:
        return Phrase(message) if message else Phrase("")
    fields = unformat(entry.text, message)
    if fields is None:
        return Phrase(message)
    return Phrase(entry.text, {name: _words(value, NESTED) for name, value in fields.items()})


def _words(value: str, depth: int) -> Any:
    """A captured value as words when it is words the catalog knows, else the value itself."""
    if depth <= 0 or not value:
        return value
    if value in catalog_ids():
        return Phrase(value)
    parts = value.split(LIST_SEPARATOR)  # the rules that hold an order
    if len(parts) > 1 and all(part in catalog_ids() for part in parts):
        return tuple(Phrase(part) for part in parts)
    parts = value.split(REASON_SEPARATOR)  # a printer's reasons
    if len(parts) > 1 and all(part in catalog_ids() for part in parts):
        return DeviceReasons(value)
    filled = filled_template(value)
    if filled is not None:
        template, fields = filled
        return Phrase(template, {name: _words(v, depth - 1) for name, v in fields.items()})
    return value
