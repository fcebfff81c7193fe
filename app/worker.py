"""One small worker thread: an inbox of calls, periodic chores, a clean stop, crash logging.

Every background thread of the station is one of these (the runtime that takes scans, housekeeping,
each printer's print worker, the case notifier, the packing photographer, the sync worker), so
there is one answer to "how does it stop", "what if a step raises" and "how do I wait for it":

- `post(fn)` queues a call; it runs on the worker's thread, one at a time, in order. A bounded inbox
  (`max_inbox`) refuses with False instead of blocking the caller.
- `Chore(every, run)`: `run` is called every `every` seconds on the same thread, between calls, on a
  timer a busy inbox cannot starve. A chore that returns a number sets its own next delay (a
  backoff; `math.inf` waits for `schedule(chore, 0)`).
- A step that raises is logged with its traceback and passed to `on_error`; the worker goes on with
  the next one. Nothing a step does can end the thread except `stop()`.
- `stop()` ends the thread after the step in flight (`drain=True`: after everything already queued)
  and joins it; `sleep(s)` is the wait a long step uses so that `stop()` cuts it short.
- `on_exit` runs on the thread as it ends: where a thread closes what is its own (peewee keeps one
  SQLite connection per thread).
- `run_pending()` runs the inbox on the caller's thread, for deterministic tests without threads.

Qt-free: `ui/` bridges results to signals itself.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.errors import describe

log = logging.getLogger(__name__)

Step = Callable[[], Any]
_WAKE = object()  # re-read the chores' timers now
_STOP = object()


@dataclass
class Chore:
    """Periodic work on a worker's thread. `run()` may return the seconds until its next run."""

    every_seconds: float
    run: Step
    due: float = 0.0  # time.monotonic() of the next run; set when the worker starts


class Worker:
    def __init__(self, name: str, *, chores: Iterable[Chore] = (), max_inbox: int = 0,
                 on_error: Callable[[str], None] | None = None, on_exit: Step | None = None) -> None:
        self.name = name
        self.chores = list(chores)
        self.max_inbox = max_inbox
        self.on_error = on_error
        self.on_exit = on_exit
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Condition()
        self._queued = 0  # posted calls not yet finished (the inbox plus the one running)
        self._stopping = threading.Event()
        self._drain = False
        self._thread: threading.Thread | None = None

    # ----- the caller's side -----
    def start(self) -> None:
        """Start the thread (once; a second call does nothing). Chores are first due one period later."""
        with self._lock:
            if self._thread is not None:
                return
            now = time.monotonic()
            for chore in self.chores:
                chore.due = now + chore.every_seconds
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def post(self, fn: Step) -> bool:
        """Queue `fn` for the worker's thread. False (and not queued) when the inbox is full or the
        worker is stopping: the caller decides whether that is worth a log line."""
        with self._lock:
            if self._stopping.is_set() or (self.max_inbox and self._inbox.qsize() >= self.max_inbox):
                return False
            self._queued += 1
            self._inbox.put(fn)
        return True

    def add_chore(self, chore: Chore) -> None:
        """Add periodic work (before or after `start`); first due one period from now."""
        chore.due = time.monotonic() + chore.every_seconds
        self.chores.append(chore)
        self._inbox.put(_WAKE)

    def schedule(self, chore: Chore, in_seconds: float) -> None:
        """Move a chore's next run (0: as soon as the step in flight is done)."""
        chore.due = time.monotonic() + in_seconds
        self._inbox.put(_WAKE)

    def stop(self, timeout: float = 5.0, drain: bool = False) -> bool:
        """Stop after the step in flight (with `drain`, after every call already posted); join the
        thread unless called from it. True when the thread has ended (or never started)."""
        with self._lock:
            self._drain = drain
            self._stopping.set()
        self._inbox.put(_STOP)
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("worker %s did not stop within %.1f s", self.name, timeout)
            return False
        return True

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def on_own_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def sleep(self, seconds: float) -> bool:
        """Wait inside a step; returns True early when the worker is being stopped."""
        return self._stopping.wait(seconds)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every call posted so far has finished."""
        with self._lock:
            return self._lock.wait_for(lambda: self._queued == 0, timeout)

    @property
    def pending(self) -> int:
        return self._queued

    def run_pending(self) -> int:
        """Run what is queued on the caller's thread (tests without the thread); returns how many."""
        count = 0
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return count
            if item is not _WAKE and item is not _STOP:
                self._run(item)
                count += 1

    # ----- the thread -----
    def _loop(self) -> None:
        try:
            while True:
                item = self._next()
                if item is _STOP or (self._stopping.is_set() and not self._drain):
                    if item is not _STOP and item is not _WAKE and item is not None:
                        self._inbox.put(item)  # not run: counted off with the rest below
                    break
                if item is not _WAKE and item is not None:
                    self._run(item)
                self._run_due_chores()
        except BaseException as exc:  # a bug in this loop itself: say so loudly, the thread is gone
            log.critical("worker %s died", self.name, exc_info=True)
            self._report(f"worker {self.name} stopped: {type(exc).__name__}: {exc}")
        finally:
            self._discard_rest()
            if self.on_exit is not None:
                self._guard(self.on_exit)

    def _next(self) -> Any:
        wait = min((c.due for c in self.chores), default=math.inf) - time.monotonic()
        try:
            return self._inbox.get(timeout=None if wait == math.inf else max(wait, 0.0))
        except queue.Empty:
            return None

    def _run(self, fn: Step) -> None:
        try:
            self._guard(fn)
        finally:
            with self._lock:
                self._queued -= 1
                if self._queued == 0:
                    self._lock.notify_all()

    def _run_due_chores(self) -> None:
        for chore in list(self.chores):
            if self._stopping.is_set() and not self._drain:
                return
            if time.monotonic() < chore.due:
                continue
            chore.due = math.inf  # a chore that reschedules itself meanwhile (schedule) wins below
            result = self._guard(chore.run)
            if chore.due == math.inf:
                delay = float(result) if type(result) in (int, float) else chore.every_seconds
                chore.due = time.monotonic() + delay

    def _guard(self, step: Step) -> Any:
        try:
            return step()
        except Exception as exc:
            log.exception("%s: a step failed", self.name)
            message, _, expected = describe(exc)  # a PackBenchError's own line; a bug named by its type
            self._report(message if expected else f"{type(exc).__name__}: {exc}")
            return None

    def _report(self, message: str) -> None:
        if self.on_error is None:
            return
        try:
            self.on_error(message)
        except Exception:
            log.exception("%s: the error listener failed", self.name)

    def _discard_rest(self) -> None:
        """Calls still queued at a stop without drain are not run; waiters are released."""
        with self._lock:
            while True:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is not _WAKE and item is not _STOP:
                    self._queued -= 1
            self._queued = max(self._queued, 0)
            self._lock.notify_all()
