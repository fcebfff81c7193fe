"""The condition language: grammar, precedence, static types, null handling, error positions."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from app.rules import RuleSyntaxError, RuleTypeError, compile_condition
from app.rules.book import DEFAULTS_PATH
from app.rules.evaluate import Context, epoch
from app.rules.nodes import BoolOp, Compare, Not
from app.rules.parser import parse
from app.rules.types import reference

NOW = epoch("2026-11-25T02:00:00.000Z") or 0.0


def ctx(order: dict[str, Any] | None = None, lines: list[tuple[dict[str, Any], dict[str, Any] | None]] | None = None,
        shipment: dict[str, Any] | None = None, tracking: dict[str, Any] | None = None,
        sales: dict[str, int] | None = None) -> Context:
    return Context({"status": "paid", "receiver_phone": "13812345678", "note": "", **(order or {})}, lines or [],
                   shipment, tracking, NOW, {("sales", 7 * 86400.0): sales or {}})


def run(text: str, context: Context | None = None) -> bool:
    return compile_condition(text).test(context or ctx())


def test_precedence_not_binds_looser_than_comparison_and_tighter_than_and() -> None:
    tree = parse('not order.status == "paid" and true or false')
    assert isinstance(tree, BoolOp) and tree.op == "or"
    assert isinstance(tree.left, BoolOp) and tree.left.op == "and"
    assert isinstance(tree.left.left, Not) and isinstance(tree.left.left.operand, Compare)
    assert run('not order.status == "new"') is True
    assert run("true or true and false") is True  # and before or
    assert run("(true or true) and false") is False
    assert run("1 + 2 * 3 == 7 and -2 - -3 == 1 and 7 / 2 == 3.5")


@pytest.mark.parametrize(("text", "expected"), [
    ('order.status in ["paid", "on_hold"]', True),
    ('order.status in ["new"]', False),
    ('order.note contains "代收"', False),
    ('lower("ABC") == "abc" and len("驿站代收") == 4', True),
    ('digits("+86 138-1234-5678") == "8613812345678"', True),
    ('order.receiver_phone matches "^1[3-9][0-9]{9}$"', True),
    ('"a\\"b\\\\c\\u4e2d" == \'a"b\\\\c中\'', True),
    ("24h == 1d and 90m > 1h and 2w == 14d and 30s < 1m", True),
    ("now - 25h < now and now + 1h > now", True),
    ("max(30, 1000 * 5 / 100) == 50 and min(1, 2) == 1 and abs(-3) == 3", True),
    ("# a comment\n  true  # and another\n", True),
    ("order.paid_cents > 0", False),  # missing (null): comparisons are false
    ("not has(order.paid_cents)", True),
    ("order.paid_cents + 1 != 0", False),  # null + 1 is null
    ("not (order.paid_cents > 0)", True),
    ("shipment.weight_g != 0", False),  # no shipment: null
    ("not shipment.short_shipped", True),  # null is false in a boolean context
    ("1 / 0 == 0", False),  # division by zero is null
])
def test_evaluation(text: str, expected: bool) -> None:
    assert run(text) is expected


def test_lines_functions_and_windowed_sales() -> None:
    lines = [({"sku": "A", "qty": 2, "name": "充电宝", "total_cents": 200}, {"stock": 3, "name": "PB"}),
             ({"sku": "B", "qty": 1, "name": "mug", "total_cents": 100}, None)]
    context = ctx(lines=lines, sales={"A": 21, "B": 50})
    assert run("any(lines, product.stock < 5 and sales(line.sku, 7d) > 20)", context)
    assert not run("any(lines, product.stock < 3)", context)
    assert not run("all(lines, product.stock < 5)", context)  # B has no product: null → false
    assert run("count(lines, line.qty >= 1) == 2 and sum(lines, line.total_cents) == 300", context)
    assert run("sales(\"ZZZ\", 7d) == 0", context)
    assert run("all(lines, false) and not any(lines, true) and count(lines, true) == 0", ctx())  # no lines
    assert not run("sum(lines, product.stock) > 0", context)  # a null term makes the sum null


@pytest.mark.parametrize(("text", "reason", "line", "column"), [
    ("order.status == ", "expected a value", 1, 17),
    ("order.status = 'x'", "use == to compare", 1, 14),
    ("(true", "expected ')'", 1, 6),
    ("true\n  and\n  order.note contains 'x", "unterminated string", 3, 23),
    ("1 < 2 < 3", "comparisons do not chain", 1, 7),
    ("3x > 1", "unknown unit 'x'", 1, 1),
    ("'\\q'", "unknown escape", 1, 2),
    ("true && false", "use `and`", 1, 6),
    ("", "empty condition", 1, 1),
    ("true false", "expected and / or", 1, 6),
    ("[1, order.x]", "literal values only", 1, 5),
])
def test_syntax_errors_have_positions(text: str, reason: str, line: int, column: int) -> None:
    with pytest.raises(RuleSyntaxError) as err:
        compile_condition(text)
    assert reason in err.value.reason
    assert (err.value.line, err.value.column) == (line, column)


@pytest.mark.parametrize(("text", "reason", "column"), [
    ('order.status == 5', "cannot compare a string with a number", 14),
    ("order.paid == 5", "unknown field 'order.paid'", 1),
    ("ordr.status == 'x'", "did you mean order", 1),
    ("line.qty > 1", "only inside any/all/count/sum", 1),
    ("order.status", "must be true or false, this is a string", 1),
    ("now > 24h", "cannot compare a time with a duration", 5),
    ("now - order.created_at > 24", "cannot compare a duration with a number", 24),
    ("order.paid_cents + order.note == 1", "type mismatch: number + string", 18),
    ("order.status < 'b'", "orders numbers, durations and times", 14),
    ("order.status in [1, 2]", "a string cannot be in a list[number]", 14),
    ("order.status in ['a', 1]", "mixes", 17),
    ("order.note matches order.status", "must be a string literal", 20),
    ("order.note matches '('", "bad pattern", 20),
    ("len(5) > 1", "len() takes a string", 5),
    ("len('a', 'b') > 1", "takes 1 argument", 1),
    ("eval('1') == 1", "unknown function eval()", 1),
    ("sales(line.sku, 7) > 1", "line.sku exists only inside", 7),
    ("any(lines, sales(line.sku, 7) > 1)", "duration literal", 28),
    ("any(lines, sales(line.sku, 400d) > 1)", "at most 366d", 28),
    ("any(order, true)", "runs over `lines`", 5),
    ("any(lines, any(lines, true))", "cannot be nested", 12),
    ("any(lines, line.qty)", "needs a bool per line", 12),
    ("has(lines)", "has() takes a value", 5),
    ("not 5", "`not` needs true/false", 5),
    ("order == 1", "is a record", 1),
])
def test_type_errors_have_positions(text: str, reason: str, column: int) -> None:
    with pytest.raises(RuleTypeError) as err:
        compile_condition(text)
    assert reason in err.value.reason
    assert err.value.column == column


def test_limits_are_syntax_errors_not_crashes() -> None:
    for text in ["(" * 500 + "true" + ")" * 500, "not " * 500 + "true", "- " * 500 + "1 > 0",
                 " + ".join(["1"] * 300) + " > 0", "1" * 40 + " > 0", "x" * 9000]:
        with pytest.raises(RuleSyntaxError):
            compile_condition(text)


def test_a_catastrophic_pattern_runs_in_linear_time_over_buyer_text() -> None:
    # `^(a+)+$` over 64 a's and a '!' backtracks for longer than the universe with Python's `re`; on
    # RE2 it takes microseconds. Evaluated on a thread, so a regression fails here instead of hanging.
    condition = compile_condition('order.note matches "^(a+)+$"')
    answer: list[bool] = []
    worker = threading.Thread(target=lambda: answer.append(condition.test(ctx({"note": "a" * 64 + "!"}))),
                              daemon=True)
    worker.start()
    worker.join(60)
    assert answer == [False]
    assert run('order.note matches "^(a+)+$"', ctx({"note": "a" * 64}))


@pytest.mark.parametrize(("pattern", "reason"), [
    ("(驿站)\\\\1", "invalid escape sequence"),  # a back-reference
    ("^(?=1)[0-9]+$", "invalid perl operator"),  # look-ahead
    ("a{1001}", "invalid repetition size"),
    ("[", "missing ]"),
])
def test_patterns_that_need_backtracking_are_refused_at_load_with_their_position(pattern: str, reason: str) -> None:
    with pytest.raises(RuleTypeError) as err:
        compile_condition(f'order.note matches "{pattern}"')
    assert reason in err.value.reason and "RE2" in err.value.reason
    assert err.value.column == 20


def test_the_rule_authors_reference_lists_every_field_and_function() -> None:
    text = (DEFAULTS_PATH.parent / "LANGUAGE.md").read_text("utf-8")
    assert reference() in text  # regenerate the tables from app.rules.types.reference() when this fails
