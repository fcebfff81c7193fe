"""Keyboard-wedge bursts: a scanner's keystrokes told from a person's typing (docs/architecture.md §4.2).

Pure timing logic, fed (character, timestamp) events; `ui/wedge.py` is the thin Qt filter that feeds
it key presses and acts on what it decides. Timestamps are the platform's (`QKeyEvent.timestamp()`,
ms from an arbitrary zero): only gaps between them matter, never the time we got round to a key.

The rule, and why:
- A wedge scanner types a code 7–16 ms a key on an idle machine; under CPU load its keys stretch to
  10–80 ms apart. People type a code 100–300 ms a key, irregularly, and rarely sustain below
  `TYPING_MEAN_MS` (90 ms ≈ 130 words a minute) over a whole code.
- Keys form a *sequence* while each comes within `join_ms` of the one before: three times the
  scanner's learned pace, never below `JITTER_MS` (so load jitter does not cut a scan in two) and
  never above `TYPING_GAP_MS` (so a person's keys each stand alone and reach their field at once).
  A sequence that already looks like a scanner (two keys or more, fast on average) keeps going
  across a stall of up to `STALL_MS`: a loaded machine can hold one key back that long, and cutting
  there would turn the tail of a code into a scan of its own. A sequence that begins within
  `LEAD_MS` of a key that was typing is that person still typing (a fast pair inside a word must not
  make a scan of the word's tail); a scanner's codes come after the packer reaches for the next item.
- The scanner's suffix (`suffix`: Enter or Tab by default, one configured character, or none) ends a
  sequence. It is a scan when it has at least `min_length` characters and its mean key gap
  (suffix included) is at most `mean_ms`: 2.5 × the learned pace, kept within [`JITTER_MEAN_MS`,
  `TYPING_MEAN_MS`]. A configured `prefix` marks a scan by itself being there: such a sequence
  only has to be faster than people type (`TYPING_MEAN_MS`), and the prefix is not part of the code.
- Without a suffix a sequence ends by silence (the caller's hold runs out) or by a gap too long to
  join. It is a scan when a scanner without suffix is configured (`suffix = "none"`) or nothing but
  a scan could be meant (no text field has the focus), and it passes the same length and speed test.
- Everything else is typing. The caller replays it into the text field it was meant for, or, where
  no field has the focus, shows it for the packer to accept ("typed? 6901…"): never dropped.
- Learning: every scan ended by its suffix (or opened by its prefix, or ended by silence when the
  scanner is configured to send no suffix) moves the pace a quarter of the
  way towards that scan's median gap (the median: one stall must not teach the scanner is slow). A
  slow Bluetooth scanner (35–45 ms a key) thus widens `join_ms` and `mean_ms` to what it does.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from itertools import pairwise

from app.errors import InputError
from app.i18n import N_, Phrase

JITTER_MS = 80  # a scanner's keys under CPU load: never cut a sequence at a gap this short
TYPING_GAP_MS = 120  # a gap longer than this (and no stall of a scanner-like sequence) starts anew
STALL_MS = 400  # a scanner-like sequence survives one stall this long
JITTER_MEAN_MS = 75  # mean gap a loaded scanner stays under (10–80 ms gaps average 45)
TYPING_MEAN_MS = 90  # people do not average faster than this over a code
LEAD_MS = STALL_MS  # a sequence starting this soon after typing is that typing (or a stalled scan)
LEARN_WEIGHT = 0.25
SUFFIX_KEYS = ("enter", "tab")  # the named suffixes; `auto` is both
SUFFIX_CHOICES = ("auto", "enter", "tab", "none")


class WedgeConfigError(InputError):
    pass


AT_LEAST_ONE = N_("{key} must be at least 1, not {given}")


def check_suffix(value: str) -> str:
    """The `wedge_suffix` setting: a named suffix or one character."""
    if value not in SUFFIX_CHOICES and len(value) != 1:
        raise ValueError(Phrase(N_("one of {choices} or one character"), {"choices": ", ".join(SUFFIX_CHOICES)}))
    return value


@dataclass(frozen=True)
class WedgeSettings:
    """The station.toml keys `wedge_gap_ms`, `wedge_min_length`, `wedge_prefix` and `wedge_suffix`."""

    gap_ms: int = 30  # the scanner's pace before any scan has taught it
    min_length: int = 4
    prefix: str = ""
    suffix: str = "auto"  # auto (Enter or Tab) | enter | tab | none | one character

    def __post_init__(self) -> None:
        if self.gap_ms < 1:
            raise WedgeConfigError(AT_LEAST_ONE, key="wedge_gap_ms", given=self.gap_ms)
        if self.min_length < 1:
            raise WedgeConfigError(AT_LEAST_ONE, key="wedge_min_length", given=self.min_length)
        try:
            check_suffix(self.suffix)
        except ValueError as exc:
            raise WedgeConfigError(N_("wedge_suffix must be {expected}, not {given!r}"), expected=exc.args[0],
                                   given=self.suffix) from None
        if len(self.suffix) == 1 and self.suffix in self.prefix:
            raise WedgeConfigError(N_("wedge_suffix {suffix!r} is also in wedge_prefix {prefix!r}"),
                                   suffix=self.suffix, prefix=self.prefix)

    @property
    def suffix_keys(self) -> frozenset[str]:
        """Named keys that end a scan: {"enter", "tab"} for auto, none for `none` or a character."""
        if self.suffix == "auto":
            return frozenset(SUFFIX_KEYS)
        return frozenset({self.suffix}) if self.suffix in SUFFIX_KEYS else frozenset()

    @property
    def suffix_char(self) -> str | None:
        return self.suffix if len(self.suffix) == 1 else None


@dataclass(frozen=True)
class Burst:
    """A finished sequence: a scan (`code`) or typing (`typed`, to hand back)."""

    typed: str  # every character as it came, prefix included: what a field would have got
    code: str | None  # the scanned code (prefix stripped), None when it was typing
    suffixed: bool  # ended by the scanner's suffix (the suffix itself is in neither text)
    end_ts: int = 0  # timestamp of its last key (the suffix, if it had one)
    released: str = ""  # the head of the sequence already handed out as typing before it ended

    @property
    def is_scan(self) -> bool:
        return self.code is not None


@dataclass
class _Sequence:
    chars: list[str] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    released: int = 0  # characters already handed out as typing (the hold ran out mid-sequence)
    after_typing: bool = False  # began within LEAD_MS of a person's key

    def gaps(self, end: int | None = None) -> list[int]:
        times = self.times if end is None else [*self.times, end]
        return [b - a for a, b in pairwise(times)]


class BurstClassifier:
    def __init__(self, settings: WedgeSettings | None = None) -> None:
        self.settings = settings or WedgeSettings()
        self.pace_ms = float(self.settings.gap_ms)
        self.learned = 0  # scans the pace has learned from
        self._seq = _Sequence()
        self._typed_at: int | None = None  # timestamp of the last key that was typing

    # ----- the limits, from the learned pace -----
    @property
    def join_ms(self) -> int:
        return int(min(max(3 * self.pace_ms, JITTER_MS), TYPING_GAP_MS))

    @property
    def mean_ms(self) -> int:
        return int(min(max(2.5 * self.pace_ms, JITTER_MEAN_MS), TYPING_MEAN_MS))

    @property
    def open(self) -> bool:
        return bool(self._seq.chars)

    @property
    def pending(self) -> str:
        """The characters of the open sequence not yet handed out."""
        return "".join(self._seq.chars[self._seq.released:])

    def is_suffix_char(self, ch: str) -> bool:
        return ch == self.settings.suffix_char

    # ----- events -----
    def key(self, ch: str, ts: int) -> Burst | None:
        """A code character. Returns the sequence it ended, if it starts a new one."""
        ended = None
        if self._seq.chars and not self._joins(ts):
            ended = self._end(scan_target=False)
        if not self._seq.chars:
            self._seq.after_typing = self._typed_at is not None and 0 <= ts - self._typed_at <= LEAD_MS
        self._seq.chars.append(ch)
        self._seq.times.append(ts)
        return ended

    def suffix(self, ts: int) -> Burst | None:
        """The scanner's suffix key. Returns the sequence it ended (a scan or typing), or None when no
        sequence was open or the suffix came too late for it (then it is a key like any other)."""
        if not self._seq.chars or not self._joins(ts):
            return None
        seq = self._seq
        code = self._code(seq.gaps(ts)) if self._long_enough() else None
        if code is not None:
            self._learn(seq.gaps(ts))
        return self._close(code, suffixed=True, end_ts=ts)

    def commit(self, text: str) -> None:
        """Text an input method committed mid-sequence: it joins it, with no gap of its own."""
        if self._seq.chars:
            self._seq.chars.extend(text)
            self._seq.times.extend([self._seq.times[-1]] * len(text))

    def silence(self, scan_target: bool) -> Burst | None:
        """No key came for the caller's hold time, or a key that is no code character came: the
        sequence ends without a suffix. `scan_target`: no text field has the focus."""
        return self._end(scan_target) if self._seq.chars else None

    def release(self) -> str:
        """Hand out the pending characters as typing (the hold ran out in a text field) while the
        sequence stays open: if the event loop was only late, the rest of a scan still completes it."""
        text = self.pending
        self._seq.released = len(self._seq.chars)
        return text

    def reset(self) -> None:
        self._seq = _Sequence()

    # ----- the rule -----
    def _joins(self, ts: int) -> bool:
        gap = ts - self._seq.times[-1]
        if gap < 0:
            return False  # keys from a clock that went back prove nothing about speed
        if gap <= self.join_ms:
            return True
        return gap <= STALL_MS and self._scanner_like(self._seq.gaps())

    def _scanner_like(self, gaps: list[int]) -> bool:
        return bool(gaps) and not self._seq.after_typing and statistics.fmean(gaps) <= self._mean_limit()

    def _has_prefix(self) -> bool:
        prefix = self.settings.prefix
        return bool(prefix) and "".join(self._seq.chars).startswith(prefix)

    def _mean_limit(self) -> int:
        return TYPING_MEAN_MS if self._has_prefix() else self.mean_ms

    def _long_enough(self) -> bool:
        prefix = len(self.settings.prefix) if self._has_prefix() else 0
        return len(self._seq.chars) - prefix >= self.settings.min_length

    def _code(self, gaps: list[int]) -> str | None:
        if not self._scanner_like(gaps):
            return None
        text = "".join(self._seq.chars)
        return text[len(self.settings.prefix):] if self._has_prefix() else text

    def _end(self, scan_target: bool) -> Burst:
        no_suffix_scanner = self.settings.suffix == "none"
        code = self._code(self._seq.gaps()) if (no_suffix_scanner or scan_target) and self._long_enough() else None
        if code is not None and (no_suffix_scanner or self._has_prefix()):
            self._learn(self._seq.gaps())  # this scanner's own way of ending (or starting) a code
        return self._close(code, suffixed=False, end_ts=self._seq.times[-1])

    def _close(self, code: str | None, suffixed: bool, end_ts: int) -> Burst:
        seq = self._seq
        burst = Burst("".join(seq.chars), code, suffixed, end_ts, "".join(seq.chars[:seq.released]))
        if code is None:
            self._typed_at = seq.times[-1]
        self.reset()
        return burst

    def _learn(self, gaps: list[int]) -> None:
        self.pace_ms += LEARN_WEIGHT * (statistics.median(gaps) - self.pace_ms)
        self.learned += 1


SET_ASIDE_SECONDS = 30.0  # how long "typed? …" waits for the packer before it is logged and let go


class SetAside:
    """Typing that came where only a scan could be meant (no text field had the focus), kept for the
    packer to accept as a scan or to let expire: shown, never silently dropped. Time is injected."""

    def __init__(self, expire_s: float = SET_ASIDE_SECONDS) -> None:
        self.expire_s = expire_s
        self.text = ""
        self._since: float | None = None  # monotonic seconds of the last addition

    def add(self, text: str, now: float) -> None:
        self.text += text
        self._since = now

    def retract(self, head: str) -> None:
        """The head of a scan had been set aside before the rest of it came: take it back."""
        if head and self.text.endswith(head):
            self.text = self.text[:-len(head)]
            if not self.text:
                self._since = None

    def scanned(self, code: str) -> bool:
        """The packer scanned the code that was set aside (a second go, this time at scanner speed):
        the scan stands for it. True when that cleared the text."""
        if not code or self.text.strip() != code:
            return False
        self.take()
        return True

    def take(self) -> str:
        """Accepted: the text goes on as a scan."""
        text, self.text, self._since = self.text, "", None
        return text

    def expired(self, now: float) -> str | None:
        """The text given up on (to be logged), once it has waited `expire_s`."""
        if self._since is None or now - self._since < self.expire_s:
            return None
        return self.take()
