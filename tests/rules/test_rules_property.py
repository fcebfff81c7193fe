"""No text makes the rule parser raise anything but its own errors (and what compiles also evaluates)."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules import RuleFileError, RuleSyntaxError, compile_condition, parse_rules
from app.rules.evaluate import Context, epoch
from app.rules.types import SCHEMA

FIELDS = [f"{scope}.{name}" for scope, names in SCHEMA.items() for name in names]
ALPHABET = [
    "and", "or", "not", "true", "false", "in", "contains", "matches", "==", "!=", "<", "<=", ">", ">=", "=", "!",
    "+", "-", "*", "/", "(", ")", "[", "]", ",", ".", "#", "\n", "&&", "order", "line", "lines", "now", "product",
    "shipment", "tracking", "status", "qty", "0", "1", "5", "2.5", "007", "24h", "7d", "30m", "1w", "3x", "1.5.2",
    '"paid"', "'驿站'", '"a\\"b"', '"\\u4e2d"', '"\\q"', '"open', '"^1[3-9][0-9]{9}$"', '"("', '"(?i)x|y"',
    "len", "digits", "lower", "abs", "min", "max", "has", "any", "all", "count", "sum", "sales", "eval", "__import__",
    "\u3000", "\t", "驿站", "é", "${", "\\", "'", '"', *FIELDS,
]
SOUP = st.lists(st.sampled_from(ALPHABET), max_size=40).flatmap(
    lambda words: st.lists(st.sampled_from(["", " "]), min_size=len(words), max_size=len(words)).map(
        lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True))))
LEAVES = st.sampled_from([*FIELDS, "now", "1", "0", "2.5", "24h", "7d", '"paid"', "'驿站'", "true", "false",
                          "order.status", "order.paid_cents", "now - order.created_at", "now - tracking.last_time"])
BINARY = ["and", "or", "==", "!=", "<", ">=", "+", "-", "*", "/", "contains"]
EXPRESSIONS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda e: f"not {e}"),
    inner.map(lambda e: f"-{e}"),
    st.tuples(st.sampled_from(["len", "digits", "lower", "abs", "has"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
    st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
    st.tuples(st.sampled_from(["any", "all", "count", "sum"]), inner).map(lambda t: f"{t[0]}(lines, {t[1]})"),
    inner.map(lambda e: f'{e} matches "^1[3-9]|驿站"'),
    inner.map(lambda e: f'{e} in ["paid", "new"]'),
    st.sampled_from(["sales(line.sku, 7d)", 'sales("A", 24h)']),
), max_leaves=12)

def _of(kind: str, scopes: tuple[str, ...] = ("order", "shipment", "tracking")) -> list[str]:
    return [f"{scope}.{name}" for scope in scopes for name, (k, _) in SCHEMA[scope].items() if k == kind]


NUMBERS = st.recursive(st.sampled_from(["0", "3", "2.5", *_of("number")]), lambda i: st.one_of(
    st.tuples(i, st.sampled_from("+-*/"), i).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    i.map(lambda e: f"abs(-{e})"), st.tuples(i, i).map(lambda t: f"max({t[0]}, {t[1]})"),
    st.sampled_from(["len(order.note)", "sales(order.items_key, 7d)", "count(lines, line.qty > 1)",
                     "sum(lines, line.qty * product.weight_g)"])), max_leaves=6)
STRINGS = st.sampled_from(['"paid"', "'驿站'", '""', "digits(order.receiver_phone)", "lower(order.note)",
                           *_of("string")])
DURATIONS = st.sampled_from(["24h", "7d", "-1h", *(f"(now - {t})" for t in _of("time"))])
BOOLS = st.recursive(st.one_of(
    st.tuples(NUMBERS, st.sampled_from(["==", "!=", "<", ">="]), NUMBERS).map(" ".join),
    st.tuples(STRINGS, st.sampled_from(["==", "!=", "contains"]), STRINGS).map(" ".join),
    st.tuples(DURATIONS, st.sampled_from([">", "<=", "=="]), DURATIONS).map(" ".join),
    STRINGS.map(lambda e: f'{e} matches "(?i)^1[3-9]|驿站|x+$"'), STRINGS.map(lambda e: f'{e} in ["paid", ""]'),
    st.sampled_from(["true", "shipment.short_shipped", "has(tracking.delivered_at)", "any(lines, product.stock < 5)",
                     "all(lines, line.name contains '电')"]),
), lambda i: st.one_of(st.tuples(i, st.sampled_from(["and", "or"]), i).map(lambda t: f"({' '.join(t)})"),
                       i.map(lambda e: f"not {e}")), max_leaves=8)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = epoch("2026-11-25T02:00:00.000Z") or 0.0


def _contexts(windows: set[tuple[str, float]]) -> list[Context]:
    metrics = {w: {"A": 30} for w in windows}
    full = Context(
        {"status": "paid", "receiver_phone": "138 1234 5678", "paid_cents": 0, "note": "VIP 驿站", "created_at":
         "2026-11-24T02:00:00.000Z", "paid_at": "not a time", "lines_total_cents": 3900, "items_key": "A*1"},
        [({"sku": "A", "qty": 1, "name": "充电宝", "total_cents": 3900}, {"sku": "A", "stock": 0, "name": "x"}),
         ({"sku": "B", "qty": 0, "name": "", "total_cents": 0}, None)],
        {"tracking_no": "SF1", "weight_g": 0, "expected_weight_g": 0, "created_at": "2026-11-20T00:00:00Z"},
        {"last_status": "picked_up", "last_time": "2026-11-20T00:00:00.000Z", "events": 1}, NOW, metrics)
    return [full, Context({}, [], None, None, NOW, metrics)]


def _only_own_errors(text: str) -> None:
    try:
        condition = compile_condition(text)
    except RuleSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1
        return
    for context in _contexts(condition.analysis.windows):
        assert condition.test(context) in (True, False)


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_rule_syntax_errors(text: str) -> None:
    _only_own_errors(text)


@SETTINGS
@given(SOUP)
def test_token_soup_raises_only_rule_syntax_errors(text: str) -> None:
    _only_own_errors(text)


@SETTINGS
@given(EXPRESSIONS)
def test_generated_expressions_compile_and_evaluate_or_raise_only_rule_syntax_errors(text: str) -> None:
    _only_own_errors(text)


@SETTINGS
@given(BOOLS)
def test_well_typed_conditions_compile_and_evaluate(text: str) -> None:
    condition = compile_condition(text)
    for context in _contexts(condition.analysis.windows):
        assert condition.test(context) in (True, False)


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_rule_files_raise_only_rule_file_errors(text: str) -> None:
    with contextlib.suppress(RuleFileError):
        parse_rules(text)


TOML_SOUP = st.lists(st.sampled_from([
    "version = 1\n", "version = 'x'\n", "[[rule]]\n", "[rule]\n", "[[rule]\n", 'id = "r1"\n', 'id = "r1"\n',
    'tag = "t"\n', 'condition = "true"\n', "condition = '''\nline.qty > 1\n'''\n", 'severity = "info"\n',
    'route = "admin"\n', 'sop = "s"\n', 'when = ["timer"]\n', "when = 3\n", "blocking = true\n", "x = [[[[\n",
    "rule = 1\n", 'key = "parcel"\n', "\"quoted\" = 1\n", "'''\n", "# comment\n", "enabled = false\n",
]), max_size=25).map("".join)


@SETTINGS
@given(TOML_SOUP, SOUP)
def test_rule_file_soup_raises_only_rule_file_errors_with_a_line_in_the_file(text: str, condition: str) -> None:
    body = text + "[[rule]]\nid = 'z'\ntag = 't'\nseverity = 'info'\nroute = 'packer'\nsop = 's'\nwhen = ['timer']\n"
    body += "condition = '''" + condition.replace("'''", "") + "'''\n"
    try:
        parse_rules(body)
    except RuleFileError as exc:
        assert 0 <= exc.line <= body.count("\n") + 1
