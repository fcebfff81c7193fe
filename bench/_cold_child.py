"""The process `bench.cold_start` spawns: `packbench pack` with simulated devices, up to ready-to-scan.

    python -m bench._cold_child DATA_DIR PLAN_JSON

Runs `main.main(["pack", ...])` itself, so the entry point's imports, config loading, store opening,
device opening and the PackFlow + StationRuntime composition are the app's own. Only
`app.headless.run_line` is replaced: instead of reading input, it starts the runtime, waits until
the start-up work queued on its thread is done (the moment a scan would be taken), prints READY on
stdout for the parent's clock, then times the first scans (log in, open an order, one item) and
prints one JSON line with its marks and memory. Imports nothing from the benchmarks on purpose.
"""

from __future__ import annotations

import time

T_FIRST_LINE = time.monotonic()  # CLOCK_MONOTONIC: comparable with the parent's clock

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from typing import Any  # noqa: E402


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def main() -> int:
    data_dir, plan_json = sys.argv[1], sys.argv[2]
    plan: dict[str, Any] = json.loads(plan_json)
    marks: dict[str, float] = {"first_line": T_FIRST_LINE}
    memory: dict[str, int] = {}
    first: dict[str, Any] = {}

    import main as entry  # the `packbench` console script's module, with everything it imports

    marks["imported_main"] = time.monotonic()
    import app.cli
    import app.headless

    real_open_store = app.cli.open_store

    def timed_open_store(*args: Any, **kwargs: Any) -> Any:
        marks["open_store_start"] = time.monotonic()
        store = real_open_store(*args, **kwargs)
        marks["open_store_end"] = time.monotonic()
        return store

    app.cli.open_store = timed_open_store  # type: ignore[assignment]

    def ready_line(runtime: Any, out: Any, input_done: Any, operator: str | None = None) -> int:
        marks["composed"] = time.monotonic()
        runtime.start()
        runtime.wait_idle(30)
        marks["ready"] = time.monotonic()
        print("READY", flush=True)
        memory["vmrss_ready_kb"] = _status_kb("VmRSS")
        memory["vmhwm_ready_kb"] = _status_kb("VmHWM")

        outcomes: list[tuple[float, str]] = []
        got = threading.Condition()

        def listener(outcome: Any) -> None:
            with got:
                outcomes.append((time.monotonic(), outcome.event))
                got.notify_all()

        runtime.listeners.outcome.append(listener)

        def timed(label: str, submit: Any) -> None:
            with got:
                seen = len(outcomes)
            t0 = time.monotonic()
            submit()
            with got:
                if not got.wait_for(lambda: len(outcomes) > seen, timeout=30):
                    raise RuntimeError(f"{label}: no outcome within 30 s")
                t, event = outcomes[seen]
            first[label] = {"ms": (t - t0) * 1000, "event": event}

        from app.devices import Scan

        timed("login", lambda: runtime.call(lambda: runtime.flow.login(plan["operator"])))
        now = runtime.clock.now
        timed("first_order_scan", lambda: runtime.submit_scan(Scan(plan["order"].encode(), "bench", now())))
        timed("first_item_scan", lambda: runtime.submit_scan(Scan(plan["item"].encode(), "bench", now())))
        runtime.wait_idle(30)
        runtime.stop()
        return 0

    app.headless.run_line = ready_line  # type: ignore[assignment]
    rc = entry.main(["pack", "--data-dir", data_dir, "--scanner", "sim", "--scale", "sim", "--printer", "sim"])
    memory["vmhwm_end_kb"] = _status_kb("VmHWM")
    memory["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rc": rc, "marks": marks, "memory": memory, "first": first,
                      "modules": len(sys.modules)}), flush=True)
    return int(rc)


if __name__ == "__main__":
    raise SystemExit(main())
