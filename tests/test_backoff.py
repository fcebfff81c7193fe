"""The one retry-delay formula (app.backoff): doubling, capped, no overflow, jitter within the ceiling."""

from __future__ import annotations

import random
from datetime import timedelta

from app.backoff import Backoff


def test_without_jitter_the_delay_doubles_up_to_the_cap() -> None:
    retry = Backoff(base=30.0, cap=7200.0)
    assert [retry.delay(n) for n in range(0, 10)] == [0, 30, 60, 120, 240, 480, 960, 1920, 3840, 7200]
    assert retry.after(3) == timedelta(minutes=2)


def test_a_long_outage_stays_at_the_cap() -> None:
    retry = Backoff(base=2.0, cap=600.0)
    assert retry.delay(64) == retry.delay(10_000) == 600.0


def test_full_jitter_spreads_over_zero_to_the_ceiling() -> None:
    rnd = random.Random(11)
    retry = Backoff(base=2.0, cap=300.0, jitter=True, rand=rnd.random)
    for failures in range(1, 12):
        samples = [retry.delay(failures) for _ in range(300)]
        ceiling = retry.ceiling(failures)
        assert all(0.0 <= s < ceiling for s in samples)
        assert max(samples) > 0.8 * ceiling and min(samples) < 0.2 * ceiling


def test_nothing_failed_means_no_wait() -> None:
    assert Backoff(base=2.0, cap=300.0, jitter=True, rand=lambda: 0.99).delay(0) == 0.0
