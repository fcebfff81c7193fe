"""Rule files (TOML) → `RuleSet`. A file is accepted whole or refused with the line and the reason.

    version = 3                       # integer ≥ 1; required unless the server's envelope gives it
    [[rule]]
    id = "address_phone"              # [a-z][a-z0-9_.-]*; also the prefix of the case's dedupe key
    tag = "address_risk"              # what the case queue groups by; several rules may share a tag
    title = "Receiver mobile number is not 11 digits"   # English: the catalog's msgid (docs/i18n.md)
    condition = '''not (digits(order.receiver_phone) matches "^(86)?1[3-9][0-9]{9}$")'''
    severity = "warning"              # info | warning | critical
    route = "supervisor"              # packer | supervisor | admin: who works the case
    sop = "…"                         # what that person does, in English: a msgid too
    blocking = true                   # true: the order cannot be packed without a supervisor
    when = ["import", "order_change"] # import | order_change | tracking | timer
    key = "order"                     # order: one live case per order ("id:order_id");
                                      # parcel: per live parcel ("id:tracking_no"), skipped without one;
                                      # sku: per SKU ("id:sku"), the condition tested line by line,
                                      # the case listing every order that hit it
    enabled = true

An override file (from the server) uses the same format: a rule whose id is already known replaces
only the fields it gives (`enabled = false` switches a shipped rule off); a new id must be complete.
Errors: TOML syntax → tomllib's line; a field → the line of its key; a condition → the line of its
`condition` key plus the line and column inside the condition.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

from app.cases import ROUTES, SEVERITIES
from app.rules.errors import RuleFileError, RuleSyntaxError
from app.rules.evaluate import Condition, compile_condition

TRIGGERS = ("import", "order_change", "tracking", "timer")
KEYS = ("order", "parcel", "sku")
REQUIRED = ("id", "tag", "condition", "severity", "route", "sop", "when")
# Read by people: message ids of the catalog (app.rules.catalog extracts them), kept without the
# whitespace around them so that the id a case keeps is the id the extractor wrote.
WORDED = ("title", "sop")
_ID = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_TAG = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KEY_LINE = re.compile(r"""\s*([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=\s*""")
_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_QUOTES = ('"' * 3, "'" * 3, '"', "'")


class KeyPos(NamedTuple):
    """Where a key's value starts in the file (only needs to be right for files tomllib accepted)."""

    line: int
    column: int = 0  # 1-based column of the value's first character (its opening quote)
    quote: int = 0  # length of the opening quote: 1 or 3 (0: not known to be a string)
    next_line: bool = False  # a multi-line string opened at the end of its line: its text starts below


_NOWHERE = KeyPos(0)


@dataclass(frozen=True)
class Rule:
    id: str
    tag: str
    title: str
    condition: Condition
    severity: str
    route: str
    sop: str
    when: frozenset[str]
    blocking: bool = False
    key: str = "order"
    enabled: bool = True
    source: str = ""  # "defaults" or "server"

    def dedupe_key(self, order_id: str, tracking_no: str | None, sku: str | None = None) -> str:
        subject = {"parcel": tracking_no, "sku": sku}.get(self.key, order_id)
        return f"{self.id}:{subject}"


@dataclass(frozen=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]  # enabled and disabled, in file order
    source: str
    digest: str  # sha256 of the text that made it
    version_line: int = 0

    def active(self, trigger: str | None = None) -> tuple[Rule, ...]:
        """Enabled rules that run on `trigger` (every enabled rule when None)."""
        return tuple(r for r in self.rules if r.enabled and (trigger is None or trigger in r.when))

    @property
    def blocking(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled and r.blocking)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def parse_rules(text: str, source: str = "defaults", base: RuleSet | None = None,
                version: int | None = None) -> RuleSet:
    """Parse a rule file (onto `base` when it is an override); raises RuleFileError and nothing else.

    `version`: the version the file came with (the server's `GET /api/v1/rules` numbers what it serves);
    it wins over the file's own `version` key, which is then optional.
    """
    if not isinstance(text, str):
        raise RuleFileError(0, f"a rule file is text, not {type(text).__name__}")
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        message = str(exc)
        found = _TOML_POS.search(message)
        reason = _TOML_POS.sub("", message) or "not valid TOML"
        raise RuleFileError(int(found.group(1)) if found else 0, f"TOML: {reason}",
                            int(found.group(2)) if found else None) from None
    top, tables = key_positions(text)
    for name in data:
        if name not in ("version", "rule"):
            raise RuleFileError(top.get(name, _NOWHERE).line, f"unknown top-level key {name!r} (known: version, rule)")
    own = data.get("version")
    version_line = top.get("version", _NOWHERE).line
    if own is None and version is None:
        raise RuleFileError(version_line, "`version = N` (an integer ≥ 1) is required")
    if own is not None and not _is_version(own):
        raise RuleFileError(version_line, f"version must be an integer ≥ 1, not {own!r}")
    if version is not None and not _is_version(version):
        raise RuleFileError(0, f"the rules' version must be an integer ≥ 1, not {version!r}")
    number = own if version is None else version
    assert isinstance(number, int)  # checked just above
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise RuleFileError(top.get("rule", _NOWHERE).line, "rules are [[rule]] tables")
    if len(tables) != len(raw_rules):  # rules written some other way (inline tables): no positions
        tables = [{} for _ in raw_rules]
    rules = {r.id: r for r in base.rules} if base else {}
    seen: dict[str, int] = {}
    for table, where in zip(raw_rules, tables, strict=True):
        rule = _rule(table, where, rules, source)
        id_line = where.get("id", _NOWHERE).line
        if rule.id in seen:
            raise RuleFileError(id_line, f"duplicate rule id {rule.id!r} (first at line {seen[rule.id]})")
        seen[rule.id] = id_line
        rules[rule.id] = rule
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return RuleSet(number, tuple(rules.values()), source, digest, version_line)


def _is_version(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _rule(table: dict[str, Any], where: dict[str, KeyPos], known: dict[str, Rule], source: str) -> Rule:
    header = where.get("[[rule]]", _NOWHERE).line

    def line(name: str) -> int:
        return where.get(name, KeyPos(header)).line

    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        raise RuleFileError(line("id"), "rule without an id" if "id" not in table else
                            f"id must be lower-case letters, digits, _ . - (starting with a letter), not {rule_id!r}")
    allowed = [f.name for f in fields(Rule) if f.name != "source"]
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name not in allowed:
            raise RuleFileError(line(name), f"unknown field {name!r} in rule {rule_id!r} (known: {', '.join(allowed)})")
        problem = _problem(name, value)
        if problem:
            raise RuleFileError(line(name), f"rule {rule_id!r}: {name} {problem}")
        values[name] = value.strip() if name in WORDED else value
    if "condition" in values:
        values["condition"] = _condition(values["condition"], where.get("condition", KeyPos(header)))
    if "when" in values:
        values["when"] = frozenset(values["when"])
    base = known.get(rule_id)
    if base is not None:
        return replace(base, **values, source=source)
    missing = [name for name in REQUIRED if name not in values]
    if missing:
        raise RuleFileError(header, f"rule {rule_id!r} lacks {', '.join(missing)}")
    values.setdefault("title", f"{values['tag']} ({rule_id})")
    return Rule(**values, source=source)


def _problem(name: str, value: Any) -> str | None:
    """Why a field's value is wrong, or None."""
    if name in ("blocking", "enabled"):
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if name == "when":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return f"must be a non-empty list of {', '.join(TRIGGERS)}, not {value!r}"
        bad = [v for v in value if v not in TRIGGERS]
        return f"has unknown trigger(s) {', '.join(bad)} (known: {', '.join(TRIGGERS)})" if bad else None
    if not isinstance(value, str):
        return f"must be a string, not {value!r}"
    choices = {"severity": SEVERITIES, "route": ROUTES, "key": KEYS}.get(name)
    if choices and value not in choices:
        return f"must be one of {', '.join(choices)}, not {value!r}"
    if name == "tag" and not _TAG.fullmatch(value):
        return f"must be lower-case letters, digits and _, not {value!r}"
    if name in ("condition", "sop", "title") and not value.strip():
        return "must not be empty"
    return None


def _condition(text: str, at: KeyPos) -> Condition:
    try:
        return compile_condition(text)
    except RuleSyntaxError as exc:
        line, column = _file_position(at, exc.line, exc.column)
        raise RuleFileError(line, f"condition: {exc.reason}", column) from None


def _file_position(at: KeyPos, line: int, column: int) -> tuple[int, int | None]:
    """Map a (line, column) inside a condition to the file, from where its TOML string starts."""
    if at.quote == 0:  # not written as `condition = "…"` on a line we recognised: the line we know
        return at.line, None
    if at.next_line:
        return at.line + line, column
    if line == 1:
        return at.line, at.column + at.quote + column - 1
    return at.line + line - 1, column


def key_positions(text: str) -> tuple[dict[str, KeyPos], list[dict[str, KeyPos]]]:
    """Where each key is: the top-level keys, and per [[rule]] table its keys and its header line."""
    top: dict[str, KeyPos] = {}
    rules: list[dict[str, KeyPos]] = []
    current: dict[str, KeyPos] | None = top
    open_quote: str | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        if open_quote:
            if open_quote in raw:
                open_quote = None
            continue
        stripped = raw.strip()
        if stripped.startswith("[["):
            current = {"[[rule]]": KeyPos(number)} if stripped[2:].split("]]")[0].strip() == "rule" else None
            if current is not None:
                rules.append(current)
            continue
        if stripped.startswith("["):
            current = None
            continue
        match = _KEY_LINE.match(raw)
        if not match or current is None:
            continue
        value = raw[match.end():]
        quote = next((q for q in _QUOTES if value.startswith(q)), "")
        multi = len(quote) == 3 and value.count(quote) == 1
        current.setdefault(match.group(1).strip("\"'"),
                           KeyPos(number, match.end() + 1, len(quote), multi and not value[3:].strip()))
        if multi:
            open_quote = quote
    return top, rules
