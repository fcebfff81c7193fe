"""Static check of a condition against the schema of known fields and functions.

Types: number, string, bool, duration, time, list[T] (literal lists), and `lines` (the order's lines,
usable only as the first argument of any/all/count/sum). Every value may also be *null* at run time
(a missing shipment, an unknown product…): that is `app.rules.evaluate`'s business, not the checker's.

Unknown names, unknown fields, wrong argument counts and mixed types are `RuleTypeError`s with the
position of the offending node.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from app.rules.errors import RuleTypeError
from app.rules.nodes import Arith, Call, Compare, Field, ListLit, Lit, Neg, Node, Not
from app.rules.patterns import Pattern, PatternError, compile_pattern
from app.tracking_states import TRACKING_STATUSES

NUMBER, STRING, BOOL, DURATION, TIME, LINES = "number", "string", "bool", "duration", "time", "lines"
MAX_WINDOW_S = 366 * 86400

# scope → field → (type, meaning). The engine fills exactly these (app.rules.context).
SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "order": {
        "order_id": (STRING, "platform order number"), "platform": (STRING, "taobao, pdd, shopify, …"),
        "shop": (STRING, "shop name"), "status": (STRING, "new, paid, on_hold, cancelled, refunded, packed, shipped"),
        "buyer": (STRING, "buyer account"), "receiver_name": (STRING, ""), "receiver_phone": (STRING, "as imported"),
        "receiver_address": (STRING, ""), "total_cents": (NUMBER, "order total (fen)"),
        "paid_cents": (NUMBER, "paid amount (fen); 0 when the export has no paid column"),
        "discount_cents": (NUMBER, "shop + platform discounts (fen); 0 when the export has none"),
        "shipping_cents": (NUMBER, "postage charged to the buyer (fen)"),
        "created_at": (TIME, ""), "paid_at": (TIME, ""), "ship_by": (TIME, "promised ship time"),
        "updated_at": (TIME, "last change at this station"), "carrier": (STRING, ""),
        "tracking_no": (STRING, "waybill bound before packing"), "note": (STRING, "buyer/seller note"),
        "lines_total_cents": (NUMBER, "Σ qty × unit price"), "item_count": (NUMBER, "Σ qty"),
        "line_count": (NUMBER, "number of lines"), "items_key": (STRING, "SKU-A*2|SKU-B*1, as shipment.items_key"),
    },
    "line": {
        "line_no": (NUMBER, ""), "sku": (STRING, ""), "name": (STRING, "item title from the platform"),
        "qty": (NUMBER, ""), "unit_price_cents": (NUMBER, ""), "total_cents": (NUMBER, "qty × unit price"),
    },
    "product": {  # the line's product; null when the SKU is not in the product table
        "sku": (STRING, ""), "name": (STRING, ""), "weight_g": (NUMBER, ""), "stock": (NUMBER, "on hand"),
    },
    "shipment": {  # the order's live (not voided) parcel; null before packing
        "tracking_no": (STRING, ""), "carrier": (STRING, ""), "service": (STRING, ""),
        "weight_g": (NUMBER, "weighed at the bench"), "expected_weight_g": (NUMBER, "items + box"),
        "items_key": (STRING, "what was packed"), "short_shipped": (BOOL, "a supervisor approved a short-ship"),
        "created_at": (TIME, "packed at"), "handed_over_at": (TIME, "handed to the courier (closed batch)"),
    },
    "tracking": {  # the carrier trail of the live parcel's waybill (else the order's bound waybill)
        "tracking_no": (STRING, ""), "last_status": (STRING, " | ".join(TRACKING_STATUSES)),
        "last_time": (TIME, "time of the latest event"), "events": (NUMBER, "number of events"),
        **{f"{s}_at": (TIME, f"first `{s}` event") for s in TRACKING_STATUSES},
    },
}
GLOBALS: dict[str, tuple[str, str]] = {"now": (TIME, "the injected clock"), "lines": (LINES, "the order's lines")}
LINE_SCOPES = frozenset({"line", "product"})
LINE_FUNCTIONS = {"any": BOOL, "all": BOOL, "count": BOOL, "sum": NUMBER}  # name → type of the 2nd argument
FUNCTIONS = {
    "len(string) → number": "characters", "digits(string) → string": "only the digits 0-9",
    "lower(string) → string": "", "abs(number) → number": "",
    "min(number, number) → number": "", "max(number, number) → number": "",
    "has(x) → bool": "x is not null", "any(lines, bool) → bool": "some line", "all(lines, bool) → bool": "every line",
    "count(lines, bool) → number": "lines where true", "sum(lines, number) → number": "over the lines",
    "sales(sku, DURATION) → number": "units of sku sold (orders paid in the window, not cancelled/refunded)",
}
WINDOW_METRICS = frozenset({"sales"})  # windowed counts: one GROUP BY per (metric, window) per run


@dataclass
class Analysis:
    """What a condition reads: lets the engine load only what the rules in force need."""

    fields: set[str] = field(default_factory=set)  # "order.status", "line.qty", …
    windows: set[tuple[str, float]] = field(default_factory=set)  # ("sales", 604800.0)
    regexes: dict[str, Pattern] = field(default_factory=dict)


def check(node: Node) -> Analysis:
    """Type-check a whole condition: it must be a bool."""
    analysis = Analysis()
    kind = _Checker(analysis).type_of(node, in_lines=False)
    if kind != BOOL:
        raise RuleTypeError(f"a condition must be true or false, this is a {kind}", *node.pos)
    return analysis


def _fail(node: Node, reason: str) -> RuleTypeError:
    return RuleTypeError(reason, *node.pos)


class _Checker:
    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis

    def type_of(self, node: Node, in_lines: bool) -> str:
        if isinstance(node, Lit):
            return NUMBER if node.kind == "number" else node.kind
        if isinstance(node, ListLit):
            kinds = {self.type_of(item, in_lines) for item in node.items}
            if len(kinds) != 1:
                raise _fail(node, "a list needs at least one value, all of one type" if not kinds
                            else f"a list mixes {' and '.join(sorted(kinds))}")
            return f"list[{kinds.pop()}]"
        if isinstance(node, Field):
            return self.field(node, in_lines)
        if isinstance(node, Call):
            return self.call(node, in_lines)
        if isinstance(node, Neg):
            kind = self.type_of(node.operand, in_lines)
            if kind not in (NUMBER, DURATION):
                raise _fail(node, f"cannot negate a {kind}")
            return kind
        if isinstance(node, Arith):
            return self.arith(node, self.type_of(node.left, in_lines), self.type_of(node.right, in_lines))
        if isinstance(node, Compare):
            return self.compare(node, self.type_of(node.left, in_lines), self.type_of(node.right, in_lines))
        operands = (node.operand,) if isinstance(node, Not) else (node.left, node.right)
        word = "not" if isinstance(node, Not) else node.op
        for operand in operands:
            kind = self.type_of(operand, in_lines)
            if kind != BOOL:
                raise _fail(operand, f"`{word}` needs true/false, this is a {kind}")
        return BOOL

    def field(self, node: Field, in_lines: bool) -> str:
        head = node.path[0]
        if len(node.path) == 1:
            if head in GLOBALS:
                return GLOBALS[head][0]
            if head in SCHEMA:
                raise _fail(node, f"`{head}` is a record: name one of its fields, e.g. {head}."
                                  f"{next(iter(SCHEMA[head]))}")
            raise _fail(node, f"unknown name {head!r}{_suggest(head, [*SCHEMA, *GLOBALS])}")
        if head not in SCHEMA or len(node.path) != 2:
            raise _fail(node, f"unknown field {node.dotted!r}{_suggest(head, list(SCHEMA))}")
        name = node.path[1]
        if name not in SCHEMA[head]:
            raise _fail(node, f"unknown field {node.dotted!r}{_suggest(name, list(SCHEMA[head]), head + '.')}")
        if head in LINE_SCOPES and not in_lines:
            raise _fail(node, f"{node.dotted} exists only inside any/all/count/sum(lines, …)")
        self.analysis.fields.add(node.dotted)
        return SCHEMA[head][name][0]

    def call(self, node: Call, in_lines: bool) -> str:
        name, args = node.name, node.args
        simple = {"len": ((STRING,), NUMBER), "digits": ((STRING,), STRING), "lower": ((STRING,), STRING),
                  "abs": ((NUMBER,), NUMBER), "min": ((NUMBER, NUMBER), NUMBER), "max": ((NUMBER, NUMBER), NUMBER)}
        if name in simple:
            wanted, result = simple[name]
            self.arity(node, len(wanted))
            for arg, kind in zip(args, wanted, strict=True):
                got = self.type_of(arg, in_lines)
                if got != kind:
                    raise _fail(arg, f"{name}() takes a {kind}, not a {got}")
            return result
        if name == "has":
            self.arity(node, 1)
            got = self.type_of(args[0], in_lines)
            if got == LINES or got.startswith("list["):
                raise _fail(args[0], f"has() takes a value, not {got}")
            return BOOL
        if name in LINE_FUNCTIONS:
            self.arity(node, 2)
            if not (isinstance(args[0], Field) and args[0].path == ("lines",)):
                raise _fail(args[0], f"{name}() runs over `lines`: {name}(lines, …)")
            if in_lines:
                raise _fail(node, f"{name}(lines, …) cannot be nested inside another one")
            got = self.type_of(args[1], in_lines=True)
            if got != LINE_FUNCTIONS[name]:
                raise _fail(args[1], f"{name}(lines, …) needs a {LINE_FUNCTIONS[name]} per line, not a {got}")
            return NUMBER if name in ("count", "sum") else BOOL
        if name in WINDOW_METRICS:
            self.arity(node, 2)
            got = self.type_of(args[0], in_lines)
            if got != STRING:
                raise _fail(args[0], f"{name}() takes a SKU (string) first, not a {got}")
            window = args[1]
            if not (isinstance(window, Lit) and window.kind == "duration"):
                raise _fail(window, f"{name}()'s window is a duration literal such as 7d")
            seconds = float(window.value)  # type: ignore[arg-type]  # a duration literal holds a float
            if not 0 < seconds <= MAX_WINDOW_S:
                raise _fail(window, f"{name}()'s window must be more than 0 and at most 366d")
            self.analysis.windows.add((name, seconds))
            return NUMBER
        known = ", ".join(sorted({*("len", "digits", "lower", "abs", "min", "max", "has"), *LINE_FUNCTIONS,
                                  *WINDOW_METRICS}))
        raise _fail(node, f"unknown function {name}() (known: {known})")

    @staticmethod
    def arity(node: Call, count: int) -> None:
        if len(node.args) != count:
            raise _fail(node, f"{node.name}() takes {count} argument{'s' if count > 1 else ''}, "
                              f"not {len(node.args)}")

    @staticmethod
    def arith(node: Arith, left: str, right: str) -> str:
        table = {
            ("+", NUMBER, NUMBER): NUMBER, ("-", NUMBER, NUMBER): NUMBER, ("*", NUMBER, NUMBER): NUMBER,
            ("/", NUMBER, NUMBER): NUMBER, ("-", TIME, TIME): DURATION, ("+", TIME, DURATION): TIME,
            ("-", TIME, DURATION): TIME, ("+", DURATION, DURATION): DURATION, ("-", DURATION, DURATION): DURATION,
            ("*", DURATION, NUMBER): DURATION, ("/", DURATION, NUMBER): DURATION,
        }
        kind = table.get((node.op, left, right))
        if kind is None:
            raise _fail(node, f"type mismatch: {left} {node.op} {right}")
        return kind

    def compare(self, node: Compare, left: str, right: str) -> str:
        op = node.op
        if op == "in":
            if not right.startswith("list["):
                raise _fail(node.right, f"`in` needs a list on the right, e.g. [\"a\", \"b\"], not a {right}")
            if right != f"list[{left}]":
                raise _fail(node, f"type mismatch: a {left} cannot be in a {right}")
        elif op in ("contains", "matches"):
            if left != STRING or right != STRING:
                raise _fail(node, f"type mismatch: `{op}` compares strings, not {left} and {right}")
            if op == "matches":
                self.regex(node.right)
        elif left != right:
            raise _fail(node, f"type mismatch: cannot compare a {left} with a {right}")
        elif left == LINES or left.startswith("list["):
            raise _fail(node, f"cannot compare {left} values")
        elif left in (BOOL, STRING) and op not in ("==", "!="):
            raise _fail(node, f"`{op}` orders numbers, durations and times, not a {left}")
        return BOOL

    def regex(self, node: Node) -> None:
        if not (isinstance(node, Lit) and node.kind == "string"):
            raise _fail(node, "the pattern after `matches` must be a string literal")
        pattern = str(node.value)
        try:
            self.analysis.regexes[pattern] = compile_pattern(pattern)
        except PatternError as exc:
            raise _fail(node, f"bad pattern {pattern!r}: {exc}") from None


def _suggest(word: str, known: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else f" (known: {', '.join(prefix + k for k in known)})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def reference() -> str:
    """The fields and functions a condition may use, as Markdown (assets/rules/LANGUAGE.md holds it)."""
    rows = ["| name | type | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {kind} | {meaning} |" for name, (kind, meaning) in GLOBALS.items()]
    rows += [f"| `{scope}.{name}` | {kind} | {_cell(meaning)} |"
             for scope, names in SCHEMA.items() for name, (kind, meaning) in names.items()]
    rows += ["", "| function | meaning |", "|---|---|"]
    rows += [f"| `{signature}` | {meaning} |" for signature, meaning in FUNCTIONS.items()]
    return "\n".join(rows) + "\n"
