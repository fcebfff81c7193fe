"""The rule files' words in the message catalog: a Babel extractor for rule TOML (docs/i18n.md).

A shipped rule's `title` and `sop` are English message ids; the Chinese is in the catalog, and every
screen and document words a rule's case in its reader's language. `babel.cfg` names this function
in its `[extractors]` section (`rules = app.rules.catalog:extract_rules`) and maps
`assets/rules/*.toml` to it, so `pybabel extract` (and `tests/test_i18n.py`) find the ids beside the
sources' own. The ids are the values as the loader keeps them (`app.rules.loader.WORDED`: stripped).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from app.rules.loader import WORDED, key_positions

# The comment a translator sees beside a rule's ids (`pybabel extract --add-comments` shows it).
_COMMENT = "rule {id}: {field}"


def extract_rules(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
                  options: Mapping[str, Any]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel's extractor interface: (line, function name, message id, comments) per rule title and SOP."""
    text = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    data = tomllib.loads(text)
    _, positions = key_positions(text)
    rules = data.get("rule", [])
    if len(positions) != len(rules):  # rules written as inline tables: no lines known
        positions = [{} for _ in rules]
    for rule, where in zip(rules, positions, strict=True):
        for field in WORDED:
            value = rule.get(field)
            if isinstance(value, str) and value.strip():
                line = where[field].line if field in where else 0
                yield line, None, value.strip(), [_COMMENT.format(id=rule.get("id", "?"), field=field)]
