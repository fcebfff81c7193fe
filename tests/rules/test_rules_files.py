"""Rule files: refused whole with the line and the reason; the rules in force stay; overrides, versions."""

from __future__ import annotations

import pytest

from app.clock import FakeClock
from app.rules import RuleBook, RuleFileError, install_override, load_book, parse_rules
from app.rules.book import DEFAULTS_PATH, META_TEXT
from app.store import Store
from app.store.models import AuditEntry

GOOD = """\
version = 2

[[rule]]
id = "vip"
tag = "address_risk"
title = "VIP"
condition = 'order.note contains "VIP"'
severity = "info"
route = "packer"
sop = "按 VIP 包装 / Pack as VIP"
when = ["import"]
"""


def _with(line: str, replace: str | None = None) -> str:
    """GOOD with one line replaced (by its key) or, with replace=None, a line appended to the rule."""
    if replace is None:
        return GOOD + line + "\n"
    return "\n".join(line if row.startswith(replace) else row for row in GOOD.split("\n"))


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("version = 2\n[[rule]\nid = 'x'\n", 2, "TOML"),
    (_with('sop = "unterminated', replace="sop"), 10, "TOML"),
    (_with("colour = 'red'"), 12, "unknown field 'colour'"),
    (_with("severity = 3", replace="severity"), 8, "severity must be a string"),
    (_with("severity = 'urgent'", replace="severity"), 8, "severity must be one of info, warning, critical"),
    (_with("route = 'cto'", replace="route"), 9, "route must be one of packer, supervisor, admin"),
    (_with("blocking = 'yes'"), 12, "blocking must be true or false"),
    (_with("when = ['hourly']", replace="when"), 11, "unknown trigger(s) hourly"),
    (_with("when = []", replace="when"), 11, "non-empty list"),
    (_with("key = 'shop'"), 12, "key must be one of order, parcel"),
    (_with("tag = 'Address Risk'", replace="tag"), 5, "lower-case"),
    (_with("id = 'Bad Id'", replace="id"), 4, "id must be lower-case"),
    (GOOD.replace('sop = "按 VIP 包装 / Pack as VIP"\n', ""), 3, "lacks sop"),
    (GOOD.replace("version = 2", "version = 'two'"), 1, "version must be an integer"),
    (GOOD.replace("version = 2\n", "\n"), 0, "`version = N`"),
    (GOOD + "owner = 'me'\n", 0, "unknown field 'owner'"),
    ("owner = 'me'\n" + GOOD, 1, "unknown top-level key 'owner'"),
    (GOOD + GOOD.replace("version = 2", ""), 15, "duplicate rule id 'vip' (first at line 4)"),
])
def test_malformed_files_are_refused_with_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(RuleFileError) as err:
        parse_rules(text)
    assert reason in err.value.reason
    if line:
        assert err.value.line == line, err.value


def test_an_unknown_field_after_the_last_rule_belongs_to_that_rule() -> None:
    # TOML puts `owner` in the last [[rule]] table: the message names the line anyway.
    with pytest.raises(RuleFileError) as err:
        parse_rules(GOOD + "owner = 'me'\n")
    assert err.value.line == 12


@pytest.mark.parametrize(("condition", "line", "column", "reason"), [
    ("condition = 'order.note contains 5'", 7, 25, "type mismatch: `contains` compares strings"),
    ("condition = 'order.colour == \"red\"'", 7, 14, "unknown field 'order.colour'"),
    ("condition = \"order.status == 'paid' and\"", 7, 40, "expected a value"),
    ("condition = '''\norder.status == \"paid\"\nand order.paid_cents > \"5\"\n'''", 9, 22,
     "cannot compare a number with a string"),
    ("condition = '''order.status == \"paid\"\n  and line.qty > 1'''", 8, 7, "only inside any/all/count/sum"),
])
def test_condition_errors_point_into_the_file(condition: str, line: int, column: int, reason: str) -> None:
    text = GOOD.replace("condition = 'order.note contains \"VIP\"'", condition)
    with pytest.raises(RuleFileError) as err:
        parse_rules(text)
    assert reason in err.value.reason
    assert (err.value.line, err.value.column) == (line, column), err.value


def test_a_refused_file_leaves_the_rules_in_force() -> None:
    book = RuleBook()
    first = book.load(GOOD)
    assert book.current is first and first.get("vip") is not None
    for bad in ("version = 3\n[[rule]\n",
                _with("severity = 'urgent'", replace="severity").replace("version = 2", "version = 3"),
                GOOD.replace("version = 2", "version = 3").replace('contains "VIP"', "contains 5")):
        with pytest.raises(RuleFileError):
            book.load(bad)
        assert book.current is first
    assert book.load(GOOD) is first  # the same version and text again: a no-op


def test_versions_only_move_forward() -> None:
    book = RuleBook()
    book.load(GOOD)
    with pytest.raises(RuleFileError, match="version 1 is older than version 2"):
        book.load(GOOD.replace("version = 2", "version = 1"))
    with pytest.raises(RuleFileError, match="already in force with other rules") as err:
        book.load(GOOD.replace("VIP\"'", "VVIP\"'"))
    assert err.value.line == 1
    newer = book.load(GOOD.replace("version = 2", "version = 3"))
    assert book.current is newer and newer.version == 3


def test_an_override_changes_only_the_fields_it_gives_and_can_switch_a_rule_off() -> None:
    book = RuleBook()
    ruleset = book.load('version = 5\n[[rule]]\nid = "stock_gap"\nenabled = false\n'
                        '[[rule]]\nid = "address_hold_words"\nseverity = "info"\nblocking = true\n')
    default_hold = book.defaults.get("address_hold_words")
    hold = ruleset.get("address_hold_words")
    assert default_hold is not None and hold is not None
    assert (hold.severity, hold.blocking, hold.source) == ("info", True, "server")
    assert hold.condition is default_hold.condition and hold.sop == default_hold.sop
    assert "stock_gap" not in {r.id for r in ruleset.active()}
    assert {r.id for r in ruleset.rules} == {r.id for r in book.defaults.rules}
    with pytest.raises(RuleFileError, match="'brand_new' lacks") as err:
        book.load('version = 6\n[[rule]]\nid = "brand_new"\nseverity = "info"\n')
    assert err.value.line == 2


def test_the_override_survives_a_restart_and_is_audited(store: Store, clock: FakeClock) -> None:
    book = load_book(store)
    assert book.override is None
    ruleset = install_override(store, clock, book, GOOD)
    assert store.meta(META_TEXT) == GOOD and book.current is ruleset
    audit = AuditEntry.select().where(AuditEntry.kind == "rules.updated").get()
    assert '"version":2' in audit.payload
    with pytest.raises(RuleFileError):
        install_override(store, clock, book, GOOD.replace("version = 2", "version = 9").replace("info", "loud"))
    assert store.meta(META_TEXT) == GOOD  # nothing stored for a refused file
    again = load_book(store)
    assert again.current.version == 2 and again.current.get("vip") is not None


def test_the_shipped_defaults_parse() -> None:
    ruleset = parse_rules(DEFAULTS_PATH.read_text("utf-8"))
    assert ruleset.version >= 1 and len(ruleset.active()) == len(ruleset.rules) >= 13
    assert {r.id for r in ruleset.blocking} == {"address_phone", "restricted_goods"}


def test_the_servers_version_numbers_the_rules_and_version_0_restores_the_defaults(store: Store,
                                                                                    clock: FakeClock) -> None:
    book = load_book(store)
    served = GOOD.replace("version = 2\n", "")  # the server numbers what it serves (GET /api/v1/rules)
    assert install_override(store, clock, book, served, version=7).version == 7
    with pytest.raises(RuleFileError, match="version 6 is older than version 7"):
        install_override(store, clock, book, GOOD, version=6)
    assert install_override(store, clock, book, GOOD, version=8).version == 8  # the server's number wins
    assert load_book(store).current.version == 8
    assert install_override(store, clock, book, "", version=0) is book.defaults
    assert AuditEntry.select().where(AuditEntry.kind == "rules.reset").count() == 1
    assert load_book(store).override is None
    assert install_override(store, clock, book, "", version=0) is book.defaults  # already: nothing recorded
    assert AuditEntry.select().where(AuditEntry.kind == "rules.reset").count() == 1
