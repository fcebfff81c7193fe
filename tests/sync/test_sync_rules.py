"""Rule sets pulled from the server: installed atomically and followed by the runtime at once; a refused
set (a pattern RE2 cannot run in linear time, garbled text) keeps the rules in force and is reported once."""

from __future__ import annotations

from app.clock import FakeClock
from app.rules import RuleBook, load_book, ruleset_listeners
from app.rules.book import META_REFUSED, META_VERSION
from app.store import Store
from app.store.models import AuditEntry, ExceptionCase, Outbox
from sync.worker import run_round
from tests.rules import builders
from tests.rules.builders import HOLD_WORDS as RULE_HOLD_WORDS
from tests.sync import fakes
from tests.sync.fakes import FakeApi

api = fakes.api  # fixture

HOLD_WORDS = "version = 1\n\n" + RULE_HOLD_WORDS
BACKREFERENCE = HOLD_WORDS.replace('"驿站|代收"', '"(驿站)\\\\1"')


def _kinds() -> list[str]:
    return [e.kind for e in AuditEntry.select().order_by(AuditEntry.seq)]


def test_a_served_rule_set_is_installed_once_followed_by_the_runtime_and_run_over_recent_orders(
        store: Store, clock: FakeClock, api: FakeApi) -> None:
    builders.order(clock, "TB-1", address="浙江省杭州市 菜鸟驿站代收")
    runtime_book = RuleBook()
    ruleset_listeners.append(runtime_book.follow)
    try:
        api.serve_rules(HOLD_WORDS, version=4)
        report = run_round(store, api, clock)
        assert report.rules is not None and (report.rules.version, report.rules.outcome) == (4, "installed")
        assert "rules v4 installed" in report.summary()
        assert [r.id for r in runtime_book.current.rules if r.id == "hold-words"] == ["hold-words"]
        assert store.meta(META_VERSION) == "4"
        # The new rule ran over the order already here, though it only fires on import.
        assert "hold-words" in {c.rule_id for c in ExceptionCase.select()}
        assert _kinds().count("rules.updated") == 1
        # The fact reached the server in the same round.
        assert any(e.kind == "rules.updated" for e in api.events.values())
        again = run_round(store, api, clock)
        assert again.rules is not None and again.rules.outcome == "unchanged" and "rules" not in again.summary()
        assert _kinds().count("rules.updated") == 1
        # Version 0: the server withdrew its rules, the shipped defaults apply again, here and at the runtime.
        api.serve_rules("", version=0)
        assert run_round(store, api, clock).rules.outcome == "reset"  # type: ignore[union-attr]
        assert runtime_book.current is runtime_book.defaults and load_book(store).override is None
    finally:
        ruleset_listeners.remove(runtime_book.follow)


def test_a_refused_rule_set_keeps_the_rules_in_force_and_is_reported_once(
        store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.serve_rules(HOLD_WORDS, version=1)
    run_round(store, api, clock)
    api.serve_rules(BACKREFERENCE.replace("version = 1", "version = 2"), version=2)
    report = run_round(store, api, clock)
    assert report.rules is not None and report.rules.outcome == "refused" and report.ok
    assert "line 7" in report.rules.reason and "bad pattern" in report.rules.reason
    assert "rules v2 refused" in report.summary() and "the rules in force stay" in report.summary()
    book = load_book(store)
    assert book.override is not None and book.override.version == 1  # v1 still in force
    refusals = [e for e in api.events.values() if e.kind == "rules.refused"]
    assert len(refusals) == 1 and refusals[0].payload["version"] == 2
    # Not parsed, audited or pushed again while the server serves the same refused set.
    run_round(store, api, clock)
    assert _kinds().count("rules.refused") == 1
    assert store.meta(META_REFUSED, "").startswith("2 ")
    assert Outbox.select().count() == len(api.events)


def test_a_garbled_rule_set_is_refused(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.serve_rules(HOLD_WORDS, version=3)
    api.ruleset = api.ruleset.model_copy(update={"content": HOLD_WORDS.replace("驿站", "驿")})
    report = run_round(store, api, clock)
    assert report.rules is not None and report.rules.outcome == "refused" and "SHA-256" in report.rules.reason
    assert load_book(store).override is None

