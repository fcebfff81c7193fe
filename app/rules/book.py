"""The rules in force at this station: shipped defaults, plus the server's override when it has one.

`RuleBook.load(text)` validates a new override against the defaults and swaps it in; a refused text
raises `RuleFileError` and `RuleBook.current` stays what it was. Overrides are versioned (the
server's number for what it serves, else the file's `version` key): an older version than the one
in force is refused, the same version with the same text is a no-op (a pull that saw nothing new),
the same version with other text is refused (the server must number it anew).

The station keeps the accepted override in the store's meta table, so a restart comes up with the
same rules before the next pull (`load_book`, `install_override`). Version 0 or an empty text from
the server means "no rule set uploaded": the shipped defaults apply again.

The sync worker offers every served rule set to `accept_served`: a new one is installed in one
transaction and announced to `ruleset_listeners` (the station runtime swaps its book at once); a
refused one (bad TOML, a pattern RE2 cannot run in linear time, a text that does not match its
checksum) leaves the rules in force, is audited once (`rules.refused`, which reaches the server) and
is not offered again until the server serves another version.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.audit import record_fact
from app.clock import Clock
from app.rules.errors import RuleFileError
from app.rules.loader import RuleSet, parse_rules
from app.store import Store

log = logging.getLogger(__name__)
DEFAULTS_PATH = Path(__file__).resolve().parents[2] / "assets" / "rules" / "default.toml"
META_TEXT = "rules.override"
META_VERSION = "rules.override.version"
META_REFUSED = "rules.refused"  # "VERSION SHA256" of the last served rule set this station refused

# Called with the rule set now in force after an install or a reset (from the thread that installed it).
ruleset_listeners: list[Callable[[RuleSet], None]] = []


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

    def follow(self, ruleset: RuleSet) -> None:
        """Take the rule set another book put in force (a `ruleset_listeners` callback)."""
        if ruleset.digest == self.defaults.digest:
            self.reset()
        else:
            self.activate(ruleset)


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
        return _announce(book.reset())
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
    return _announce(book.activate(ruleset))


def _announce(ruleset: RuleSet) -> RuleSet:
    for listener in list(ruleset_listeners):
        try:
            listener(ruleset)
        except Exception:  # a listener's bug must not undo an install that is already committed
            log.exception("rule set listener failed")
    return ruleset


@dataclass(frozen=True)
class RulesUpdate:
    """What became of the rule set the server served."""

    version: int
    outcome: Literal["unchanged", "installed", "reset", "refused"]
    reason: str = ""

    def summary(self) -> str:
        if self.outcome == "refused":
            return f"rules v{self.version} refused ({self.reason}); the rules in force stay"
        return f"rules v{self.version} {self.outcome}"


def accept_served(store: Store, clock: Clock, version: int, sha256: str, content: str,
                  book: RuleBook | None = None) -> RulesUpdate:
    """Put the server's rule set in force when it is new; a refused one keeps the rules in force."""
    stamp = f"{version} {sha256}"
    if store.meta(META_REFUSED) == stamp:
        return RulesUpdate(version, "refused", "refused before")
    stored = store.meta(META_TEXT) or ""
    if (version == 0 and not stored) or (store.meta(META_VERSION) == str(version) and stored
                                         and hashlib.sha256(stored.encode("utf-8")).hexdigest() == sha256):
        return RulesUpdate(version, "unchanged")  # the usual round: nothing new, nothing parsed
    book = book or load_book(store)
    before = book.current
    try:
        if hashlib.sha256(content.encode("utf-8")).hexdigest() != sha256:
            raise RuleFileError(0, "the text does not match its SHA-256 (garbled in transit?)")
        after = install_override(store, clock, book, content, version)
    except RuleFileError as exc:
        log.error("server rule set v%s refused, the rules in force stay: %s", version, exc)
        with store.atomic():
            store.set_meta(META_REFUSED, stamp)
            record_fact("rules.refused", "sync", clock.now(), {"version": version, "sha256": sha256,
                                                               "reason": str(exc)})
        return RulesUpdate(version, "refused", str(exc))
    if after is before:
        return RulesUpdate(version, "unchanged")
    return RulesUpdate(version, "reset" if after is book.defaults else "installed")
