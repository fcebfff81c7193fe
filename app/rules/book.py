"""The rules in force at this station: shipped defaults, plus the server's override when it has one.

`RuleBook.load(text)` validates a new override against the defaults and swaps it in; a refused text
raises `RuleFileError` and `RuleBook.current` stays what it was. Overrides are versioned: an older
version than the one in force is refused, the same version with the same text is a no-op (a pull
that saw nothing new), the same version with other text is refused (the server must bump it).

The station keeps the accepted override text in the store's meta table (`rules.override`), so a
restart comes up with the same rules before the next pull (`load_book`, `install_override`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.audit import record_fact
from app.clock import Clock
from app.rules.errors import RuleFileError
from app.rules.loader import RuleSet, parse_rules
from app.store import Store

log = logging.getLogger(__name__)
DEFAULTS_PATH = Path(__file__).resolve().parents[2] / "assets" / "rules" / "default.toml"
META_KEY = "rules.override"


class RuleBook:
    def __init__(self, defaults_text: str | None = None) -> None:
        text = DEFAULTS_PATH.read_text("utf-8") if defaults_text is None else defaults_text
        self.defaults = parse_rules(text, source="defaults")
        self.current = self.defaults

    @property
    def override(self) -> RuleSet | None:
        return None if self.current is self.defaults else self.current

    def prepare(self, text: str, source: str = "server") -> RuleSet:
        """Validate an override (onto the defaults) without putting it in force."""
        new = parse_rules(text, source=source, base=self.defaults)
        old = self.override
        if old is not None and new.version < old.version:
            raise RuleFileError(new.version_line, f"version {new.version} is older than version {old.version}, "
                                                  "which is in force")
        if old is not None and new.version == old.version and new.digest != old.digest:
            raise RuleFileError(new.version_line, f"version {new.version} is already in force with other "
                                                  "rules: give the new rules a higher version")
        return new

    def activate(self, ruleset: RuleSet) -> RuleSet:
        if self.override is None or ruleset.digest != self.current.digest:
            self.current = ruleset
        return self.current

    def load(self, text: str, source: str = "server") -> RuleSet:
        """Validate and put in force; RuleFileError leaves `current` unchanged."""
        return self.activate(self.prepare(text, source))


def load_book(store: Store, defaults_text: str | None = None) -> RuleBook:
    """Defaults plus the override this station last accepted (ignored, with a log line, if now refused)."""
    book = RuleBook(defaults_text)
    text = store.meta(META_KEY)
    if text:
        try:
            book.load(text)
        except RuleFileError as exc:
            log.error("stored rule override refused, running the shipped defaults: %s", exc)
    return book


def install_override(store: Store, clock: Clock, book: RuleBook, text: str, actor: str = "sync") -> RuleSet:
    """Accept an override from the server: validate, store, audit, then put it in force.

    Raises RuleFileError (nothing stored, rules unchanged). Re-evaluate afterwards with
    `run_rules(..., trigger="all")` so open orders see the new rules.
    """
    ruleset = book.prepare(text)
    if book.override is not None and ruleset.digest == book.current.digest:
        return book.current
    with store.atomic():
        store.set_meta(META_KEY, text)
        record_fact("rules.updated", actor, clock.now(), {
            "version": ruleset.version, "digest": ruleset.digest, "rules": len(ruleset.rules),
            "enabled": len(ruleset.active()), "blocking": [r.id for r in ruleset.blocking],
        })
    return book.activate(ruleset)
