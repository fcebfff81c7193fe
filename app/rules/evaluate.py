"""Evaluate a checked condition against one order's context: the tree is turned once into Python
closures (no `eval`, no code generation), which then run for every order.

Null (a missing value: no shipment yet, a SKU not in the product table, a tracking status never seen):
- a field of a missing record is null; arithmetic and functions of null give null (`has()` excepted);
- every comparison (== != < <= > >= in contains matches) with a null operand is **false**, so
  `shipment.weight_g != 0` is false before packing; test presence with `has(x)`;
- `and` / `or` / `not` treat null as false (two-valued logic): `not has(x)` is the way to say "missing";
- `any(lines, …)` over no lines is false, `all(lines, …)` is true, `count` 0, `sum` 0;
  `sum` is null when a term is null; division by zero is null.

Times are seconds since the epoch and durations seconds (the checker keeps them apart from numbers).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.pack.weights import items_key
from app.rules.errors import RuleSyntaxError
from app.rules.nodes import Arith, BoolOp, Call, Compare, Field, ListLit, Lit, Neg, Node, Not
from app.rules.parser import parse
from app.rules.types import GLOBALS, SCHEMA, TIME, Analysis, check

Fn = Callable[["Context"], Any]
_NON_DIGITS = re.compile(r"[^0-9]")
_ORDERING = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
             ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}
DERIVED = frozenset({"lines_total_cents", "item_count", "line_count", "items_key"})  # order fields from its lines


class Context:
    """What a condition sees for one order. Scopes are plain dicts of the schema's fields (times as
    the store's ISO text, converted on read); `lines` pairs each line with its product (or None)."""

    __slots__ = ("line", "lines", "metrics", "now", "order", "product", "shipment", "tracking")

    def __init__(self, order: dict[str, Any], lines: list[tuple[dict[str, Any], dict[str, Any] | None]],
                 shipment: dict[str, Any] | None, tracking: dict[str, Any] | None, now: float,
                 metrics: dict[tuple[str, float], dict[str, int]]) -> None:
        self.order = order
        self.lines = lines
        self.shipment = shipment
        self.tracking = tracking
        self.now = now
        self.metrics = metrics
        self.line: dict[str, Any] | None = None
        self.product: dict[str, Any] | None = None

    def with_lines(self, lines: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> Context:
        """The same order seeing only `lines` (a per-SKU rule looks at one line at a time)."""
        return Context(self.order, lines, self.shipment, self.tracking, self.now, self.metrics)


@dataclass(frozen=True)
class Condition:
    text: str
    tree: Node
    analysis: Analysis
    test: Callable[[Context], bool]

    def facts(self, ctx: Context) -> dict[str, Any]:
        """The stored values the condition read for this order (line fields as one list per field)."""
        out: dict[str, Any] = {}
        for path in sorted(self.analysis.fields):
            scope, name = path.split(".")
            if scope in ("line", "product"):
                out[path] = [(line if scope == "line" else product or {}).get(name) for line, product in ctx.lines]
            elif scope == "order" and name in DERIVED:
                out[path] = derived(ctx, name)
            else:
                record = getattr(ctx, scope)
                out[path] = None if record is None else record.get(name)
        return out


def compile_condition(text: str) -> Condition:
    """Parse, type-check and compile; raises RuleSyntaxError (or its RuleTypeError) and nothing else."""
    tree = parse(text)
    analysis = check(tree)
    try:
        fn = _compile(tree, analysis)
    except RecursionError:  # cannot happen under parser.MAX_DEPTH; kept so the promise above holds
        raise RuleSyntaxError("condition nests too deeply") from None
    # Every node of type bool gives True/False, except a bare bool field, which may be null.
    test = (lambda ctx: fn(ctx) is True) if isinstance(tree, Field) else fn
    return Condition(text, tree, analysis, test)


def derived(c: Context, name: str) -> Any:
    """An order field computed from its lines when a rule first reads it (then kept on the order)."""
    order = c.order
    if name in order:
        return order[name]
    if name == "line_count":
        value: Any = len(c.lines)
    elif name == "lines_total_cents":
        value = sum(line["total_cents"] for line, _ in c.lines)
    elif name == "item_count":
        value = sum(line["qty"] for line, _ in c.lines)
    else:  # items_key
        counts: dict[str, int] = {}
        for line, _ in c.lines:
            counts[line["sku"]] = counts.get(line["sku"], 0) + line["qty"]
        value = items_key(counts)
    order[name] = value
    return value


def epoch(text: object) -> float | None:
    """Store time text → epoch seconds; a malformed or missing time is null, never an error."""
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _compile(node: Node, analysis: Analysis) -> Fn:
    if isinstance(node, Lit):
        value = node.value
        return lambda c: value
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Neg):
        inner = _compile(node.operand, analysis)
        return lambda c: None if (v := inner(c)) is None else -v
    if isinstance(node, Arith):
        return _arith(node.op, _compile(node.left, analysis), _compile(node.right, analysis))
    if isinstance(node, Compare):
        return _compare(node, analysis)
    if isinstance(node, Not):
        negated = _compile(node.operand, analysis)
        return lambda c: not negated(c)
    if isinstance(node, BoolOp):
        left, right = _compile(node.left, analysis), _compile(node.right, analysis)
        if node.op == "and":
            return lambda c: True if left(c) and right(c) else False  # noqa: SIM210  # a bool without a call
        return lambda c: True if left(c) or right(c) else False  # noqa: SIM210
    if isinstance(node, Call):
        return _call(node, analysis)
    raise RuleSyntaxError("a list can only follow `in`", *node.pos)  # ListLit elsewhere: the checker refuses it


def _field(node: Field) -> Fn:
    if len(node.path) == 1:
        if node.path[0] == "now":
            return lambda c: c.now
        raise RuleSyntaxError(f"{node.path[0]} ({GLOBALS[node.path[0]][1]}) is only an argument", *node.pos)
    scope, name = node.path
    if scope == "order" and name in DERIVED:
        return lambda c: derived(c, name)
    if scope == "order":
        get: Fn = lambda c: c.order.get(name)  # noqa: E731
    else:
        attr = operator.attrgetter(scope)
        get = lambda c: None if (record := attr(c)) is None else record.get(name)  # noqa: E731
    if SCHEMA[scope][name][0] == TIME:
        return lambda c: epoch(get(c))
    return get


def _arith(op: str, left: Fn, right: Fn) -> Fn:
    if op == "/":
        def divide(c: Context) -> Any:
            a, b = left(c), right(c)
            return None if a is None or b is None or b == 0 else a / b
        return divide
    fn = _ARITH[op]

    def apply(c: Context) -> Any:
        a, b = left(c), right(c)
        return None if a is None or b is None else fn(a, b)
    return apply


def _compare(node: Compare, analysis: Analysis) -> Fn:
    left = _compile(node.left, analysis)
    if node.op == "in":
        assert isinstance(node.right, ListLit)
        members = frozenset(item.value for item in node.right.items)
        return lambda c: (v := left(c)) is not None and v in members
    if node.op == "matches":
        assert isinstance(node.right, Lit)
        search = analysis.regexes[str(node.right.value)].search
        return lambda c: (v := left(c)) is not None and search(v) is not None
    right = _compile(node.right, analysis)
    if node.op == "contains":
        return lambda c: (a := left(c)) is not None and (b := right(c)) is not None and b in a
    fn = _ORDERING[node.op]
    return lambda c: (a := left(c)) is not None and (b := right(c)) is not None and fn(a, b)


def _call(node: Call, analysis: Analysis) -> Fn:
    name = node.name
    if name == "sales":
        sku = _compile(node.args[0], analysis)
        window = ("sales", float(node.args[1].value))  # type: ignore[union-attr, arg-type]  # checked literal
        return lambda c: None if (s := sku(c)) is None else c.metrics[window].get(s, 0)
    if name in ("any", "all", "count", "sum"):
        return _over_lines(name, _compile(node.args[1], analysis))
    args = [_compile(arg, analysis) for arg in node.args]
    if name == "has":
        only = args[0]
        return lambda c: only(c) is not None
    unary: dict[str, Callable[[Any], Any]] = {"len": len, "digits": _digits, "lower": str.lower, "abs": abs}
    one = unary.get(name)
    if one is not None:
        arg, fn1 = args[0], one
        return lambda c: None if (v := arg(c)) is None else fn1(v)
    first, second = args
    fn2 = min if name == "min" else max
    return lambda c: None if (a := first(c)) is None or (b := second(c)) is None else fn2(a, b)


def _digits(text: str) -> str:
    return _NON_DIGITS.sub("", text)


def _over_lines(name: str, body: Fn) -> Fn:
    """any/all/count/sum over the order's lines; `body` reads the current line through c.line/c.product."""
    def any_(c: Context) -> bool:
        for line, product in c.lines:
            c.line, c.product = line, product
            if body(c):
                return True
        return False

    def all_(c: Context) -> bool:
        for line, product in c.lines:
            c.line, c.product = line, product
            if not body(c):
                return False
        return True

    def count(c: Context) -> int:
        hits = 0
        for line, product in c.lines:
            c.line, c.product = line, product
            hits += 1 if body(c) else 0
        return hits

    def sum_(c: Context) -> Any:
        total = 0
        for line, product in c.lines:
            c.line, c.product = line, product
            value = body(c)
            if value is None:
                return None
            total += value
        return total
    return {"any": any_, "all": all_, "count": count, "sum": sum_}[name]
