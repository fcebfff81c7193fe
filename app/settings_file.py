"""A settings file (station.toml, server.toml) read into its pydantic dataclass, with one-line errors.

The settings classes are pydantic dataclasses configured with `SETTINGS`: unknown keys are refused
and numbers must be finite; their fields use the strict types below (`Text`, `Number`, `Flag`, …)
so a TOML value of the wrong type is refused instead of converted (`carriers = "SF"` is not
`["S", "F"]`, `demo = "no"` is not true). They stay dataclasses: built by keyword or position,
`dataclasses.replace` and `fields` work, and every construction is validated.

A mistake becomes one line naming the file, the key and what it must be:

    /data/station.toml: carriers must be a list of strings with at least 1 item, not "SF"
    /data/server.toml: [[alert_channels]] #2 .kind must be one of dingtalk, wecom, email, webhook, not "sms"
    /data/station.toml: unknown key "tolerence_g" (did you mean "tolerance_g"?)
    /data/station.toml: not valid TOML: Expected '=' after a key in a key/value pair (at line 3, column 9)

A validator states what a value must be by raising `ValueError(Phrase(N_("one of {choices}"), …))`
(or a plain string, shown as it is); the key and the value given are added here. The line is a
`Phrase`, so the reporter words it in the CLI's language (docs/i18n.md); `str()` of the error is
English.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from app.errors import InputError, words_of
from app.i18n import N_, Phrase, Words

SETTINGS = ConfigDict(extra="forbid", allow_inf_nan=False)

Text = StrictStr
Number = StrictFloat  # a TOML integer is a number too
Flag = StrictBool
PositiveWhole = Annotated[StrictInt, Field(gt=0)]
PositiveNumber = Annotated[StrictFloat, Field(gt=0)]
Count = Annotated[StrictInt, Field(ge=0)]  # 0 or more

T = TypeVar("T")


def one_of(choices: Iterable[str]) -> AfterValidator:
    """A string field that takes only these values."""
    allowed = tuple(choices)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(Phrase(N_("one of {choices}"), {"choices": ", ".join(allowed)}))
        return value

    return AfterValidator(check)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(Phrase(N_("a string that is not empty")))
    return value.strip()


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(Phrase(N_("a time zone name such as Asia/Shanghai"))) from None
    return value


def base_url(url: str) -> str:
    """A base URL setting checked and normalised: http(s)://host[:port][/path], no query, no trailing
    slash; "" stays "" (not set)."""
    base = url.strip().rstrip("/")
    if not base:
        return ""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or any(ch.isspace() for ch in base):
        raise ValueError("http(s)://host[:port][/path]")
    return base


NonBlank = Annotated[StrictStr, AfterValidator(_non_blank)]  # stripped
Zone = Annotated[StrictStr, AfterValidator(_zone)]
BaseUrl = Annotated[StrictStr, AfterValidator(base_url)]  # "" = not set

# What a value must be, by its type: plain, positive (Field(gt=0)), finite (a number that was inf or
# nan), and a list of them.
_KINDS = {str: N_("a string"), int: N_("a whole number"), float: N_("a number"), bool: N_("true or false")}
_POSITIVE = {int: N_("a positive whole number"), float: N_("a positive number")}
_FINITE = {float: N_("a finite number")}
_POSITIVE_FINITE = {float: N_("a positive finite number")}
_LISTS = {str: N_("a list of strings"), int: N_("a list of whole numbers"), float: N_("a list of numbers"),
          dict: N_("a list of tables")}


def read_toml(path: Path, error: type[InputError]) -> dict[str, Any]:
    """The file's tables, or `error` naming the file and (for a syntax error) the line."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:  # the parser's own words name the line and column
        raise error(N_("{path}: not valid TOML: {problem}"), path=path, problem=exc) from None
    except UnicodeDecodeError as exc:
        raise error(N_("{path}: not UTF-8 text (byte {byte})"), path=path, byte=exc.start) from None
    except RecursionError:  # tomllib recurses per nesting level
        raise error(N_("{path}: not valid TOML: nested too deeply"), path=path) from None


def build(kind: type[T], data: Mapping[str, Any], where: Callable[[str], str | Words], error: type[InputError],
          fixed: Mapping[str, Any] | None = None) -> T:
    """`kind` from a file's tables plus `fixed` values that are not settings (a data dir);
    `where(key)` names the source of a top-level key (the file, or the variable that set it)."""
    for key in data:
        if fixed and key in fixed:
            raise error(N_("{source}: {problem}"), source=where(key), problem=_unknown_key(key))
    try:
        return TypeAdapter(kind).validate_python({**data, **(fixed or {})})
    except ValidationError as exc:
        problem = exc.errors()[0]
        loc = problem["loc"]
        raise error(N_("{source}: {problem}"), source=where(str(loc[0]) if loc else ""),
                    problem=explain(kind, problem, hidden=tuple(fixed or ()))) from None


def _unknown_key(key: str | Phrase, close: str | Phrase | None = None) -> Phrase:
    if close is None:
        return Phrase(N_("unknown key {key}"), {"key": toml_value(key)})
    return Phrase(N_("unknown key {key} (did you mean {close}?)"), {"key": toml_value(key), "close": toml_value(close)})


def explain(kind: type[Any], problem: Mapping[str, Any], hidden: tuple[str, ...] = ()) -> Phrase:
    """One pydantic error as `key must be …, not value` (or `unknown key …`)."""
    loc = tuple(problem["loc"])
    key = key_path(kind, loc)
    if problem["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        known = [name for name in _field_names(_type_at(kind, loc[:-1])) if name not in hidden]
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return _unknown_key(key, key_path(kind, (*loc[:-1], close[0])) if close else None)
    if problem["type"] == "missing":
        return Phrase(N_("{key} is missing"), {"key": key})
    expected: str | Words
    if problem["type"] == "value_error":
        expected = words_of(problem["ctx"]["error"])
    else:
        expected = describe(_type_at(kind, loc), finite=problem["type"] == "finite_number")
    given = problem.get("input")
    if isinstance(given, dict | list | tuple) and len(toml_value(given)) > 60:
        return Phrase(N_("{key} must be {expected}"), {"key": key, "expected": expected})
    return Phrase(N_("{key} must be {expected}, not {given}"),
                  {"key": key, "expected": expected, "given": toml_value(given)})


def key_path(kind: type[Any], loc: tuple[str | int, ...]) -> str | Phrase:
    """`sender.name`, `carriers #2`, `[[alert_channels]] #2 .kind` (numbered from 1, as people count)."""
    text = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            tables = dataclasses.is_dataclass(_type_at(kind, loc[:depth + 1]))
            text = f"[[{text}]] #{part + 1}" if tables else f"{text} #{part + 1}"
        else:
            text = f"{text} .{part}" if text.startswith("[[") else f"{text}.{part}" if text else part
    return text or Phrase(N_("the file"))


def describe(hint: Any, finite: bool = False) -> Phrase:
    """What a value of this field type must be, in words (`finite`: a number that was inf or nan)."""
    base, constraints = _unwrap(hint)
    origin = typing.get_origin(base)
    if origin in (list, tuple):
        item = _unwrap(typing.get_args(base)[0])[0]
        text = Phrase(_LISTS[dict if dataclasses.is_dataclass(item) else item]) if item in _LISTS \
            or dataclasses.is_dataclass(item) else Phrase(N_("a list of {items}"), {"items": describe(item)})
        least = next((c.min_length for c in constraints if hasattr(c, "min_length")), 0)
        if not least:
            return text
        at_least = N_("{kind} with at least {count} item") if least == 1 else N_("{kind} with at least {count} items")
        return Phrase(at_least, {"kind": text, "count": least})
    if dataclasses.is_dataclass(base):
        return Phrase(N_("a table"))
    if origin in (types.UnionType, typing.Union):
        first, *others = (describe(arg) for arg in typing.get_args(base) if arg is not type(None))
        for other in others:
            first = Phrase(N_("{first} or {second}"), {"first": first, "second": other})
        return first
    positive = any(getattr(constraint, "gt", None) == 0 for constraint in constraints)
    kinds = (_POSITIVE_FINITE if finite else _POSITIVE) if positive else _FINITE if finite else _KINDS
    text = Phrase(str(kinds.get(base) or _KINDS.get(base) or getattr(base, "__name__", base)))
    for constraint in constraints:  # pydantic's Field(gt=…) etc. become annotated-types Gt, Ge, Le
        if hasattr(constraint, "gt") and constraint.gt != 0:
            text = Phrase(N_("{kind} above {limit}"), {"kind": text, "limit": constraint.gt})
        elif hasattr(constraint, "ge"):
            text = Phrase(N_("{kind} of {limit} or more"), {"kind": text, "limit": constraint.ge})
        elif hasattr(constraint, "le"):
            text = Phrase(N_("{kind} of at most {limit}"), {"kind": text, "limit": constraint.le})
    return text


def toml_value(value: Any) -> str:
    """A value as it is written in TOML (strings quoted, true/false, [lists])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _unwrap(hint: Any) -> tuple[Any, list[Any]]:
    """A field type without Annotated, and the annotated-types constraints it carried."""
    constraints: list[Any] = []
    while typing.get_origin(hint) is Annotated:
        hint, *extra = typing.get_args(hint)
        for item in extra:
            constraints.extend(getattr(item, "metadata", [item]))
    return hint, constraints


def _type_at(kind: Any, loc: tuple[str | int, ...]) -> Any:
    """The declared type of the value at `loc` inside `kind` (Any when the path leaves the schema)."""
    current: Any = kind
    for part in loc:
        base = _unwrap(current)[0]
        if isinstance(part, int):
            args = typing.get_args(base)
            current = args[0] if args else Any
        elif dataclasses.is_dataclass(base):
            current = typing.get_type_hints(base, include_extras=True).get(part, Any)
        else:
            return Any
    return current


def _field_names(kind: Any) -> list[str]:
    base = _unwrap(kind)[0]
    return [f.name for f in dataclasses.fields(base)] if dataclasses.is_dataclass(base) else []
