"""Retry delays: the one formula every retry in PackBench waits by (docs/architecture.md §13).

After the n-th failure in a row (n ≥ 1) the ceiling is min(cap, base·2^(n−1)): 2, 4, 8 … seconds for
a base of 2, never more than `cap`, and no overflow however long the outage. Without jitter the
ceiling is the delay. With full jitter the delay is uniform in [0, ceiling): clients that failed
together — a fleet of stations after a server outage — spread their retries instead of all coming
back in the same second. A retry only one party makes (a carrier job, an alert delivery, a chat-robot
message) needs no jitter, and its delays stay predictable for the person reading the log.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

_MAX_DOUBLINGS = 62  # 2.0 ** 62 is still a finite float; the cap has long taken over by then


@dataclass(frozen=True)
class Backoff:
    base: float  # seconds after the first failure
    cap: float  # the longest wait
    jitter: bool = False  # full jitter: uniform in [0, ceiling)
    rand: Callable[[], float] = random.random  # [0, 1); injectable for tests

    def ceiling(self, failures: int) -> float:
        """The longest wait after `failures` failures in a row (0 when nothing failed)."""
        if failures <= 0:
            return 0.0
        return float(min(self.cap, self.base * 2.0 ** min(failures - 1, _MAX_DOUBLINGS)))

    def delay(self, failures: int) -> float:
        """Seconds to wait before the next try after `failures` failures in a row."""
        ceiling = self.ceiling(failures)
        return self.rand() * ceiling if self.jitter else ceiling

    def after(self, failures: int) -> timedelta:
        return timedelta(seconds=self.delay(failures))
