"""The headless line mode (`packbench pack`): the bench's flow with no screen, one JSON line per outcome.

An automated print-and-apply line is an operator of its own (`--operator`), so everything it does
is attributed. Each outcome is printed only after it is committed, so a consumer that saw a line can
rely on it being in the store, even if the process is killed right after.

The exit code is something an automated line can trust (docs/architecture.md §8): 0 only when every
order the run touched was labelled and its label printed; otherwise a one-line summary on stderr and
6 (an order left unfinished: held, cancelled, wrong weight, items missing when the input ended), 7 (a
label that did not print: printer unreachable or faulted) or 130 (stopped by Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType
from typing import TextIO

from app.devices import DeviceStatus, status_line
from app.errors import ExitCode
from app.i18n import ENGLISH, N_, Phrase, environment_language
from app.pack.outcomes import Level, Outcome
from app.read_back import translate_reasons
from app.station import StationRuntime

PRINT_PROBLEMS = frozenset({"print_failed", "print_uncertain"})


class LineResult:
    """What became of each order a run touched: finished (its label printed) or the last problem seen."""

    def __init__(self) -> None:
        self.finished: set[str] = set()
        self.problem: dict[str, Outcome] = {}
        self.touched: list[str] = []  # in the order first seen
        self.errors: list[str] = []  # runtime steps that failed

    def record(self, outcome: Outcome) -> None:
        order = outcome.order_id
        if not order:
            return
        if order not in self.finished and order not in self.problem and order not in self.touched:
            self.touched.append(order)
        if outcome.event == "label_printed":
            self.finished.add(order)
            self.problem.pop(order, None)
        elif order not in self.finished and outcome.level is not Level.OK:
            self.problem[order] = outcome

    def unfinished(self) -> list[str]:
        return [order for order in self.touched if order not in self.finished]

    def exit_code(self, interrupted: bool) -> int:
        if interrupted:
            return ExitCode.INTERRUPTED
        unfinished = self.unfinished()
        if any(self.problem.get(order) is not None and self.problem[order].event in PRINT_PROBLEMS
               for order in unfinished):
            return ExitCode.DEVICE
        if unfinished or self.errors:
            return ExitCode.UNFINISHED
        return ExitCode.OK

    def summary(self, interrupted: bool, lang: str = ENGLISH) -> str:
        """One line: how many orders did not finish and why, each with its last problem (its event
        code, and its message in the summary's language: the CLI's, not the bench's)."""
        unfinished = self.unfinished()
        parts = []
        for order in unfinished:
            problem = self.problem.get(order)
            parts.append(Phrase(N_("{order} {event}: {problem}"), {"order": order, "event": problem.event,
                                                                   "problem": problem.text(lang)})
                         if problem else Phrase(N_("{order} not labelled"), {"order": order}))
        head = Phrase(N_("{unfinished} of {touched} order(s) unfinished"),
                      {"unfinished": len(unfinished), "touched": len(self.touched)})
        if self.errors:
            head = Phrase(N_("{summary}; {count} step(s) failed, the last: {error}"),
                          {"summary": head, "count": len(self.errors), "error": self.errors[-1]})
        if interrupted:
            head = Phrase(N_("interrupted; {summary}"), {"summary": head})
        if parts:
            head = Phrase(N_("{summary}: {orders}"), {"summary": head, "orders": tuple(parts)})
        return head.text(lang)


def run_line(runtime: StationRuntime, out: TextIO, input_done: threading.Event | None,
             operator: str | None = None) -> int:
    lock = threading.Lock()
    result = LineResult()
    lang = environment_language()  # the CLI's own lines (docs/i18n.md); the JSON keeps the bench's

    def emit(outcome: Outcome) -> None:
        with lock:
            result.record(outcome)
            out.write(json.dumps(outcome.as_json(), ensure_ascii=False, default=str) + "\n")
            out.flush()

    def status(s: DeviceStatus) -> None:
        line = status_line(s, lang)
        with lock:  # one write per line: the scanner's and the scale's threads report at the same moment
            sys.stderr.write(f"{line}\n")
            sys.stderr.flush()

    def error(message: str) -> None:
        with lock:
            result.errors.append(message)
            # An English line filled from a msgid, worded again in the bench's language like the outcomes'.
            words = translate_reasons(message, runtime.flow.language, depth=3)
            out.write(json.dumps({"event": "error", "message": words, "code": None, "order_id": None,
                                  "state": runtime.flow.state.value}, ensure_ascii=False) + "\n")
            out.flush()

    runtime.listeners.outcome.append(emit)
    runtime.listeners.status.append(status)
    runtime.listeners.error.append(error)
    stop = threading.Event()
    runtime.waits_for_room = False  # its halt line tells the operator to start the line again
    runtime.listeners.halted.append(lambda message: stop.set())  # a full disk ends the line at once

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    if operator and (runtime.flow.operator is None or runtime.flow.operator.name != operator):
        runtime.call(lambda: runtime.flow.login(operator))
    runtime.start()
    try:
        while not stop.is_set():
            if input_done is not None and input_done.wait(0.05):
                runtime.wait_idle()
                break
            stop.wait(0.05)
    finally:
        runtime.stop()
    if runtime.halted is not None:  # the disk is full or failing: the bench stopped at once
        print(f"packbench: {translate_reasons(runtime.halted, lang, depth=3)}", file=sys.stderr, flush=True)
        return int(ExitCode.FAILED)
    interrupted = stop.is_set()
    code = result.exit_code(interrupted)
    if code != ExitCode.OK:
        print(f"packbench: {result.summary(interrupted, lang)}", file=sys.stderr, flush=True)
    return int(code)
