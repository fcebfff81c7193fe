"""The headless line mode (`packbench pack`): the bench's flow with no screen, one JSON line per outcome.

An automated print-and-apply line is an operator of its own (`--operator`), so everything it does
is attributed. Each outcome is printed only after it is committed, so a consumer that saw a line can
rely on it being in the store, even if the process is killed right after.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType
from typing import TextIO

from app.devices import DeviceStatus
from app.pack.outcomes import Outcome
from app.station import StationRuntime


def run_line(runtime: StationRuntime, out: TextIO, input_done: threading.Event | None,
             operator: str | None = None) -> int:
    lock = threading.Lock()

    def emit(outcome: Outcome) -> None:
        with lock:
            out.write(json.dumps(outcome.as_json(), ensure_ascii=False, default=str) + "\n")
            out.flush()

    def status(s: DeviceStatus) -> None:
        print(f"{s.device}: {s.state.value} {s.detail}".rstrip(), file=sys.stderr, flush=True)

    def error(message: str) -> None:
        with lock:
            out.write(json.dumps({"event": "error", "message": message, "code": None, "order_id": None,
                                  "state": runtime.flow.state.value}, ensure_ascii=False) + "\n")
            out.flush()

    runtime.listeners.outcome.append(emit)
    runtime.listeners.status.append(status)
    runtime.listeners.error.append(error)
    stop = threading.Event()
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
    if runtime.halted is not None:
        print(f"packbench: {runtime.halted}", file=sys.stderr, flush=True)
        return 1
    return 0
