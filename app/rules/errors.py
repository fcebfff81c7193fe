"""The two errors the rules package raises for bad input; nothing else escapes for any text."""

from __future__ import annotations

from app.errors import InputError


class RuleSyntaxError(InputError, ValueError):
    """A condition cannot be used: bad syntax, unknown field, or a type mismatch.

    `line` and `column` are 1-based positions inside the condition text itself; the loader adds the
    file position of the condition when it reports the error as a `RuleFileError`.
    """

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(f"{reason} (line {line}, column {column})")
        self.reason = reason
        self.line = line
        self.column = column


class RuleTypeError(RuleSyntaxError):
    """The condition parses but does not type-check (unknown field, string compared with a number…)."""


class RuleFileError(InputError, ValueError):
    """A rule file is refused; `line` is 1-based in the file (0 when no line applies)."""

    def __init__(self, line: int, reason: str, column: int | None = None) -> None:
        where = f"line {line}" + (f", column {column}" if column else "") if line else "rule file"
        super().__init__(f"{where}: {reason}")
        self.line = line
        self.column = column
        self.reason = reason
