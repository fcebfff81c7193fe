"""Is this parcel's weight plausible? Expected weight with tolerance, and the parcels' own history."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from app.store.models import Shipment

HISTORY_MIN_PARCELS = 3
HISTORY_SIGMAS = 2.0
HISTORY_MIN_DEVIATION = 0.05  # a 2σ outlier must also be 5% off the mean: tiny σ must not block


@dataclass(frozen=True)
class Tolerance:
    grams: int = 30
    percent: float = 5.0

    def allowed(self, expected_g: int) -> int:
        """The larger of the fixed and the relative tolerance: light parcels need the fixed one."""
        return max(self.grams, round(expected_g * self.percent / 100))


@dataclass(frozen=True)
class WeightVerdict:
    ok: bool
    expected_g: int
    actual_g: int
    allowed_g: int
    reason: str = ""  # "tolerance" | "history"
    history_mean_g: float | None = None
    history_n: int = 0


def items_key(counts: dict[str, int]) -> str:
    """Same items, same key: "SKU-A*2|SKU-B*1" sorted by sku."""
    return "|".join(f"{sku}*{qty}" for sku, qty in sorted(counts.items()) if qty > 0)


def judge_weight(actual_g: int, expected_g: int, tolerance: Tolerance, key: str) -> WeightVerdict:
    allowed = tolerance.allowed(expected_g)
    if abs(actual_g - expected_g) > allowed:
        return WeightVerdict(False, expected_g, actual_g, allowed, "tolerance")
    history = [
        row.weight_g
        for row in Shipment.select(Shipment.weight_g)
        .where((Shipment.items_key == key) & (Shipment.voided == False))  # noqa: E712 (peewee expression)
        .order_by(Shipment.id.desc())
        .limit(200)
    ]
    if len(history) >= HISTORY_MIN_PARCELS:
        mean = statistics.fmean(history)
        sigma = statistics.stdev(history)
        deviation = abs(actual_g - mean)
        if deviation > HISTORY_SIGMAS * sigma and deviation > HISTORY_MIN_DEVIATION * mean:
            return WeightVerdict(False, expected_g, actual_g, allowed, "history", mean, len(history))
        return WeightVerdict(True, expected_g, actual_g, allowed, "", mean, len(history))
    return WeightVerdict(True, expected_g, actual_g, allowed)
