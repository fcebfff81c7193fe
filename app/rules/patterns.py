"""Patterns for `matches`: compiled with RE2, so matching is linear in the text whatever the pattern.

Buyer notes, addresses and names are text anyone can write. Python's `re` backtracks: a rule like
`matches "^(a+)+$"` over a 26-character note takes seconds, and rules run on the scan path and on
every import. RE2 guarantees time linear in the text and refuses the constructs that need
backtracking (back-references, look-around), so such a rule is refused when the rule file loads,
with its line and column, instead of hanging a bench later.
"""

from __future__ import annotations

from typing import Protocol

import re2

from app.errors import InputError

# A pattern's compiled program is kept under this many bytes: a rule file cannot make a station
# allocate without bound (RE2's own default is 8 MiB per pattern).
MAX_PROGRAM_BYTES = 1 << 20


class Pattern(Protocol):
    def search(self, text: str) -> object | None: ...


class PatternError(InputError, ValueError):
    """The pattern is not valid RE2 syntax or needs more than a linear-time engine can do."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr; the caller reports it
    options.max_mem = MAX_PROGRAM_BYTES
    return options


def compile_pattern(pattern: str) -> Pattern:
    """A linear-time pattern, or PatternError with RE2's reason."""
    try:
        compiled: Pattern = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else str(exc)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"{reason} (rule patterns use RE2: no back-references or look-around)") from None
    return compiled
