"""Words kept for later: a `Phrase` (its fields may be phrases, named codes or tuples of them) as JSON
data and back, so a text decided at one time and place is worded where and when it is read.

A case's title is decided when the case opens, at the station, and read on the triage screen in the
bench's language, in the console in each user's and in the evidence pack in the document's
(docs/i18n.md). It is kept as this data beside the English text that stays the record (the case's
`title`); a reader that finds no words, or words it cannot read (a row from an older version, a
station sending something else), shows the record as it was stored.
"""

from __future__ import annotations

from typing import Any

from app.i18n import Phrase
from app.terms import Named

MAX_DEPTH = 4  # Phrase in Phrase in …: a case title is two deep; deeper data is not ours


def dump_words(words: Phrase) -> dict[str, Any]:
    """`words` as JSON-able data."""
    return {"msgid": words.message, "fields": {name: _dump(v) for name, v in words.fields.items()}}


def _dump(value: Any) -> Any:
    if isinstance(value, Phrase):
        return dump_words(value)
    if isinstance(value, Named):
        return {"code": value.code, "name": value.msgid}
    if isinstance(value, tuple):
        return {"list": [_dump(v) for v in value]}
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def load_words(data: Any) -> Phrase | None:
    """The phrase `data` holds, or None when it holds none (absent, or not data this module wrote)."""
    try:
        loaded = _load(data, 0)
    except (TypeError, ValueError, AttributeError, KeyError):
        return None
    return loaded if isinstance(loaded, Phrase) else None


def _load(data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError("words nested too deep")
    if isinstance(data, dict):
        keys, values = set(data), list(data.values())
        if keys == {"msgid", "fields"} and isinstance(data["msgid"], str) and isinstance(data["fields"], dict):
            return Phrase(data["msgid"], {str(name): _load(v, depth + 1) for name, v in data["fields"].items()})
        if keys == {"code", "name"} and all(isinstance(v, str) for v in values):
            return Named(data["code"], data["name"])
        if keys == {"list"} and isinstance(data["list"], list):
            return tuple(_load(v, depth + 1) for v in data["list"])
        raise ValueError("not words")
    if data is None or isinstance(data, (str, int, float)):
        return data
    raise ValueError("not words")
