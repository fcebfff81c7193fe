"""The rules in force at this station: shipped defaults, plus the server's override when it has one.

`RuleBook.load(text)` validates a new override against the defaults and swaps it in; a refused text
raises `RuleFileError` and `RuleBook.current` stays what it was. Overrides are versioned (the
server's number for what it serves, else the file's `version` key): an older version than the one
in force is refused, the same version with the same text is a no-op (a pull that saw nothing new),
the same version with other text is refused (the server must number it anew).

The station keeps the accepted override in the store's meta table, so a restart comes up with the
same rules before the next pull (`load_book`, `install_override`). Version 0 or an empty text from
the server means "no rule set uploaded": the shipped defaults apply again.
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
META_TEXT = "rules.override"
META_VERSION = "rules.override.version"


class RuleBook:
    def __init__(self, defaults_text: str | None = None) -> None:
        text = DEFAULTS_PATH.read_text("utf-8") if defaults_text is None else defaults_text
        self.defaults = parse_rules(text, source="defaults")
        self.current = self.defaults

    @property
    def override(self) -> RuleSet | None:
        return None if self.current is self.defaults else self.current

    def prepare(self, text: str, source: str = "server", version: int | None = None) -> RuleSet:
        """Validate an override (onto the defaults) without putting it in force."""
        new = parse_rules(text, source=source, base=self.defaults, version=version)
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

    def load(self, text: str, source: str = "server", version: int | None = None) -> RuleSet:
        """Validate and put in force; RuleFileError leaves `current` unchanged."""
        return self.activate(self.prepare(text, source, version))

    def reset(self) -> RuleSet:
        self.current = self.defaults
        return self.current


def load_book(store: Store, defaults_text: str | None = None) -> RuleBook:
    """Defaults plus the override this station last accepted (ignored, with a log line, if now refused)."""
    book = RuleBook(defaults_text)
    text = store.meta(META_TEXT)
    if text:
        version = store.meta(META_VERSION)
        try:
            book.load(text, version=int(version) if version else None)
        except (RuleFileError, ValueError) as exc:
            log.error("stored rule override refused, running the shipped defaults: %s", exc)
    return book


def install_override(store: Store, clock: Clock, book: RuleBook, text: str, version: int | None = None,
                     actor: str = "sync") -> RuleSet:
    """Accept the server's rules: validate, store, audit, then put them in force; returns the rules in force.

    Raises RuleFileError (nothing stored, rules unchanged). Version 0 or an empty text puts the shipped
    defaults back. Re-evaluate afterwards (`run_rules(..., "all")`) when the returned set is new.
    """
    if version == 0 or not text.strip():
        if book.override is None:
            return book.current
        with store.atomic():
            store.set_meta(META_TEXT, "")
            store.set_meta(META_VERSION, "")
            record_fact("rules.reset", actor, clock.now(), {"version": book.defaults.version})
        return book.reset()
    ruleset = book.prepare(text, version=version)
    if book.override is not None and ruleset.digest == book.current.digest:
        return book.current
    with store.atomic():
        store.set_meta(META_TEXT, text)
        store.set_meta(META_VERSION, str(ruleset.version))
        record_fact("rules.updated", actor, clock.now(), {
            "version": ruleset.version, "digest": ruleset.digest, "rules": len(ruleset.rules),
            "enabled": len(ruleset.active()), "blocking": [r.id for r in ruleset.blocking],
        })
    return book.activate(ruleset)
