"""The station's sync worker (docs/architecture.md §10.4): rounds of push-then-pull on its own thread, with backoff.

A round pushes the whole outbox (batches of up to 500) and then pulls products, orders and tracking
events. Every batch and every page is its own short transaction, so the bench, writing scans on
another thread, never waits on the worker for longer than one batch is marked or one page applied.

After a failure the next round waits with exponential backoff and full jitter (a uniform random delay
between 0 and min(cap, base·2^(failures-1)); base 2 s, cap 5 min), so a fleet of stations coming back
after an outage does not hit the server all at once. A refused enrollment (HTTP 401/403) stops
automatic rounds: nothing will change until an admin re-enrolls the station, so the worker says so and
waits for `kick()` (a manual round) or `set_client()` (new credentials).

The worker publishes `SyncStatus` to plain-Python listeners (on the worker thread; `ui/` bridges
them to Qt signals): online or not, why not, the outbox depth and the age of the oldest unsent event.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.backoff import Backoff
from app.clock import Clock
from app.i18n import ENGLISH, LIST_SEPARATOR, N_, render, translator
from app.store import Store
from app.worker import Chore, Worker
from protocol import RuleSetOut
from sync.calls import CallsSource, pull_calls
from sync.client import SyncClient, SyncError
from sync.outbox import EventSink, PushReport, oldest_unsent_at, outbox_depth, push_outbox, rejected_count
from sync.pools import WaybillSource, top_up_pools
from sync.pull import FEEDS, FeedReport, PageSource, PullReport, pull_feed

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.rules.book import RulesUpdate

DEFAULT_INTERVAL_S = 15.0  # between successful rounds
STATUS_EVERY_S = 5.0  # while waiting: refresh depth and age so the window shows new events queueing
PROGRESS_EVERY_S = 0.5  # while draining: how often the window hears the depth go down
STOPS_ROUND = ("unreachable", "auth")  # after these, the rest of the round cannot succeed either
RULES_RERUN_WINDOW = timedelta(days=30)  # orders a new rule set is run over (as the runtime's timer pass)


class RulesSource(Protocol):
    def rules(self) -> RuleSetOut: ...


class SyncApi(EventSink, PageSource, RulesSource, WaybillSource, CallsSource, Protocol):
    """What a round needs from the server: `SyncClient`, or a fake in tests."""


# Between failed rounds: 2 s doubling up to 5 min, full jitter (a fleet comes back spread out).
ROUND_BACKOFF = Backoff(base=2.0, cap=300.0, jitter=True)
PAUSED = N_("{reason} — automatic sync paused until the station is enrolled again")


@dataclass(frozen=True)
class SyncStatus:
    online: bool
    last_error: str | None
    outbox_depth: int
    oldest_unsent_age_s: float | None  # at `as_of`; the UI can tick it on from `oldest_unsent_at`
    last_round_at: datetime | None  # last round that completed without error
    rejected_count: int
    oldest_unsent_at: datetime | None = None
    needs_admin: bool = False  # the server refuses the enrollment: automatic rounds are paused
    retry_in_s: float | None = None  # when the next automatic round is due; None: paused or running
    running: bool = False  # a round is in progress
    as_of: datetime | None = None


@dataclass(frozen=True)
class RoundReport:
    push: PushReport = field(default_factory=PushReport)
    pull: PullReport = field(default_factory=PullReport)
    outbox_depth: int = 0
    rejected_count: int = 0
    errors: tuple[SyncError, ...] = ()
    rules: RulesUpdate | None = None  # None: not asked this round (an earlier step failed)
    topped_up: dict[str, int] = field(default_factory=dict)  # carrier → numbers the server's pool gave

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error(self) -> SyncError | None:
        return self.errors[0] if self.errors else None

    def summary(self, lang: str = ENGLISH) -> str:
        """One line: what moved, in `lang` (the rule set's outcome as app.rules words it)."""
        p = self.push
        parts = [render(N_("pushed {sent} (accepted {accepted}, known {known}, rejected {rejected}), pulled orders "
                           "{orders}, products {products}, tracking {tracking}; outbox depth {depth}"), lang,
                        {"sent": p.sent, "accepted": p.accepted, "known": p.known, "rejected": p.rejected,
                         "orders": self.pull.items("orders"), "products": self.pull.items("products"),
                         "tracking": self.pull.items("tracking"), "depth": self.outbox_depth})]
        if self.rules and self.rules.outcome != "unchanged":
            parts.append(self.rules.summary())
        parts += [render(N_("{carrier} pool +{count} from the server"), lang, {"carrier": carrier, "count": n})
                  for carrier, n in self.topped_up.items()]
        return translator(lang).gettext(LIST_SEPARATOR).join(parts)

    def as_dict(self) -> dict[str, object]:
        p = self.push
        return {
            "ok": self.ok,
            "pushed": {"sent": p.sent, "accepted": p.accepted, "known": p.known, "rejected": p.rejected,
                       "batches": p.batches},
            "pulled": {name: {"items": r.items, "pages": r.pages, "intercepts": r.intercepts,
                              **({"notes": list(r.notes)} if r.notes else {})}
                       for name, r in self.pull.feeds.items()},
            "outbox_depth": self.outbox_depth,
            "rejected_total": self.rejected_count,
            "errors": [{"kind": e.kind, "retryable": e.retryable, "reason": e.reason} for e in self.errors],
            "rules": None if self.rules is None else {"version": self.rules.version, "outcome": self.rules.outcome,
                                                      **({"reason": self.rules.reason} if self.rules.reason else {})},
            "waybills_topped_up": dict(self.topped_up),
        }


class _Stopped(Exception):
    """Raised between batches/pages when the worker is asked to stop."""


def run_round(store: Store, api: SyncApi, clock: Clock, *,
              on_push: Callable[[PushReport], None] | None = None,
              on_page: Callable[[FeedReport], None] | None = None) -> RoundReport:
    """Push everything, pull every feed, then push what the pulls recorded (each applied page is an
    audit fact with its outbox event), so a quiet round ends with an empty outbox. Between the two,
    low waybill pools are topped up from the server's (`sync.pools`).

    A SyncError ends the step it happened in; the round goes on to the next step unless the server is
    unreachable or refuses this station. Other exceptions (a store error, a bug) propagate: the worker
    logs them and backs off."""
    errors: list[SyncError] = []
    done = PushReport()

    def push() -> None:
        nonlocal done
        before = done

        def count_push(report: PushReport) -> None:
            if on_push is not None:
                on_push(before + report)

        try:
            done = before + push_outbox(store, api, clock, on_batch=count_push)
        except SyncError as exc:
            errors.append(exc)

    def stopped() -> bool:
        return bool(errors) and errors[-1].kind in STOPS_ROUND

    push()
    feeds: dict[str, FeedReport] = {}
    for feed in FEEDS:
        if stopped():
            break
        progress = FeedReport(feed)

        def count_page(report: FeedReport) -> None:
            nonlocal progress
            progress = report
            if on_page is not None:
                on_page(report)

        try:
            feeds[feed] = pull_feed(store, api, clock, feed, on_page=count_page)
        except SyncError as exc:
            feeds[feed] = progress
            errors.append(exc)
    rules = None
    if not stopped():
        try:
            rules = pull_rules(store, api, clock)
        except SyncError as exc:
            errors.append(exc)
    topped_up: dict[str, int] = {}
    if not stopped():
        try:
            topped_up = top_up_pools(store, api, clock)
        except SyncError as exc:
            errors.append(exc)
    if not stopped():
        try:
            pull_calls(store, api, clock)
        except SyncError as exc:
            errors.append(exc)
    if not stopped() and (any(report.items for report in feeds.values()) or topped_up
                          or (rules is not None and rules.outcome != "unchanged")):
        push()
    return RoundReport(done, PullReport(feeds), outbox_depth(), rejected_count(), tuple(errors), rules, topped_up)


def pull_rules(store: Store, api: RulesSource, clock: Clock) -> RulesUpdate:
    """Ask for the server's rule set and put it in force when new (`app.rules.accept_served`); after an
    install, every enabled rule runs over the recent orders, since rules that only fire on import
    would otherwise never see the orders already here."""
    from app.rules import ALL, accept_served, run_rules

    served = api.rules()
    update = accept_served(store, clock, served.version, served.sha256, served.content)
    if update.outcome in ("installed", "reset"):
        from app.rules import load_book

        run_rules(store, clock, load_book(store).current, ALL, since=clock.now() - RULES_RERUN_WINDOW)
    return update


class SyncWorker:
    """Runs rounds on a daemon thread until `stop()`; everything it learns goes to the listeners."""

    def __init__(self, store: Store, client: SyncApi, clock: Clock, *, interval: float = DEFAULT_INTERVAL_S,
                 backoff: Backoff | None = None,
                 status_every: float | None = STATUS_EVERY_S, name: str = "sync-worker",
                 owns_client: bool = False) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self.backoff = backoff or ROUND_BACKOFF
        self.status_every = status_every
        self.name = name
        self._client = client
        self._owns_client = owns_client
        self._lock = threading.Lock()
        self._manual = False
        self._paused = False
        self._failures = 0
        self._next_round_at = 0.0  # time.monotonic(); math.inf while paused
        self._worker = self._new_worker()
        self._listeners: list[Callable[[SyncStatus], None]] = []
        self._online = False
        self._last_error: str | None = None
        self._last_round_at: datetime | None = None
        self._status = SyncStatus(False, None, 0, None, None, 0)
        self.last_report: RoundReport | None = None
        self._round_start = self._status
        self._progress_at = 0.0
        self._retired: list[Callable[[], None]] = []  # closers of replaced clients, run on this thread

    # ----- listeners and status -----
    def add_listener(self, listener: Callable[[SyncStatus], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[SyncStatus], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def status(self) -> SyncStatus:
        return self._status

    @property
    def paused(self) -> bool:
        return self._paused

    def publish(self, *, retry_in_s: float | None = None, running: bool = False, depth: int | None = None,
                rejected: int | None = None) -> SyncStatus:
        """Read depth/age/rejections from the store (on the calling thread; `depth` and `rejected`
        when the caller knows them) and tell the listeners."""
        now = self.clock.now()
        oldest = oldest_unsent_at()
        status = SyncStatus(
            online=self._online, last_error=self._last_error,
            outbox_depth=outbox_depth() if depth is None else depth,
            oldest_unsent_age_s=max((now - oldest).total_seconds(), 0.0) if oldest else None,
            last_round_at=self._last_round_at, rejected_count=rejected_count() if rejected is None else rejected,
            oldest_unsent_at=oldest, needs_admin=self._paused, retry_in_s=retry_in_s, running=running, as_of=now,
        )
        self._status = status
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("sync status listener failed")
        return status

    # ----- control -----
    def _new_worker(self) -> Worker:
        # Rounds are a chore that sets its own next run (the interval, a backoff, or math.inf: until
        # kicked); while waiting, the status is refreshed so the window sees new events queue up.
        self._rounds = Chore(0.0, self._round_chore)
        chores = [self._rounds]
        if self.status_every is not None:
            chores.append(Chore(self.status_every, self._refresh_status))
        return Worker(self.name, chores=chores, on_exit=self._on_exit)

    def start(self) -> None:
        """Start rounds (the first at once); after a stop, a new thread starts them again."""
        if self._worker.stopping:
            self._worker = self._new_worker()
        self._worker.start()  # the rounds chore is due at once

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop after the batch or page in flight; True when the thread has ended."""
        return self._worker.stop(timeout)

    def kick(self) -> None:
        """Run a round now (the "sync now" button); also resumes after a refused enrollment."""
        with self._lock:
            self._manual = True
        self._worker.schedule(self._rounds, 0)

    def set_client(self, client: SyncApi, owns_client: bool = False) -> None:
        """New credentials (re-enrollment): resume automatic rounds with them at once. The worker closes
        the client it owned once the round in flight (if any) is over."""
        with self._lock:
            old, owned = self._client, self._owns_client
            self._client, self._owns_client = client, owns_client
            self._paused, self._failures, self._manual = False, 0, True
        self._worker.schedule(self._rounds, 0)
        close = getattr(old, "close", None)
        if owned and callable(close) and old is not client:
            self._retired.append(close)

    # ----- one step: a round (unless paused) and the delay before the next -----
    def step(self) -> float | None:
        """Run one round unless paused; returns seconds until the next one (None: wait for a kick)."""
        with self._lock:
            manual, self._manual = self._manual, False
            client = self._client
            retired, self._retired = self._retired, []
        for close in retired:
            close()
        if self._paused and not manual:
            return None
        self._round_start = self.publish(running=True)
        self._progress_at = time.monotonic()
        try:
            report = run_round(self.store, client, self.clock, on_push=self._on_push, on_page=self._on_page)
        except _Stopped:
            return None
        except Exception as exc:  # a store error or a bug: the bench must not lose its sync for good
            log.exception("sync round failed")
            self._online = False
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._failures += 1
            delay = self.backoff.delay(self._failures)
            self.publish(retry_in_s=delay)
            return delay
        self.last_report = report
        return self._after(report)

    def _after(self, report: RoundReport) -> float | None:
        error = report.error
        refused = next((e for e in report.errors if e.needs_admin), None)
        if error is None:
            self._online, self._last_error, self._failures, self._paused = True, None, 0, False
            self._last_round_at = self.clock.now()
            delay: float | None = self.interval
        elif refused is not None:
            self._online, self._paused = False, True
            self._last_error = render(PAUSED, ENGLISH, {"reason": refused.reason})  # the chip words it again
            delay = None
        else:
            self._online = error.kind == "refused"  # the server answered; it just would not take something
            self._last_error = "; ".join(e.reason for e in report.errors)
            self._failures += 1
            delay = self.backoff.delay(self._failures)
        self.publish(retry_in_s=delay, depth=report.outbox_depth)
        return delay

    def _on_push(self, report: PushReport) -> None:
        """After each batch: progress for the window, at most every PROGRESS_EVERY_S (counted, not
        queried: a COUNT per batch would cost the drain more than it tells anyone)."""
        if self._worker.stopping:
            raise _Stopped
        self._online = True
        if time.monotonic() - self._progress_at < PROGRESS_EVERY_S:
            return
        self._progress_at = time.monotonic()
        start = self._round_start
        settled = report.accepted + report.known + report.rejected
        self.publish(running=True, depth=max(start.outbox_depth - settled, 0),
                     rejected=start.rejected_count + report.rejected)

    def _on_page(self, report: FeedReport) -> None:
        if self._worker.stopping:
            raise _Stopped

    # ----- the thread -----
    def _round_chore(self) -> float:
        try:
            delay = self.step()
        except Exception:  # e.g. the store stayed locked past busy_timeout while publishing
            log.exception("sync worker step failed")
            self._failures += 1
            delay = self.backoff.delay(self._failures)
        wait = math.inf if delay is None else delay
        self._next_round_at = time.monotonic() + wait
        return wait

    def _refresh_status(self) -> None:
        left = self._next_round_at - time.monotonic()
        self.publish(retry_in_s=None if left == math.inf else max(left, 0.0))

    def _on_exit(self) -> None:
        self.store.db.close()  # this thread's own SQLite connection
        close = getattr(self._client, "close", None)
        if self._owns_client and callable(close):
            close()


def start_worker_if_enrolled(store: Store, data_dir: Path, clock: Clock,
                             listener: Callable[[SyncStatus], None] | None = None) -> SyncWorker | None:
    """For the station window: a running worker when `sync.toml` exists, else None (not enrolled)."""
    from sync.credentials import load_credentials

    creds = load_credentials(data_dir)
    if creds is None:
        return None
    worker = SyncWorker(store, SyncClient.from_credentials(creds, clock=clock), clock, owns_client=True)
    if listener is not None:
        worker.add_listener(listener)
    worker.start()
    return worker
