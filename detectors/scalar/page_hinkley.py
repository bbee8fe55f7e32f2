"""Page-Hinkley: cumulative deviation from the running mean of a scalar feature (river).

``PageHinkleyDetector(delta=..., threshold=..., direction="up"|"down"|"both")`` alarms when the
cumulative deviation in a monitored direction exceeds ``threshold`` (in feature units).
``statistic`` is the larger of the monitored cumulative deviations, ``threshold`` river's
``threshold``. Latching, persistence and merging: :mod:`detectors.scalar.river`.

>>> import random
>>> rng = random.Random(1)
>>> det = PageHinkleyDetector(threshold=500.0, direction="up")
>>> first = None
>>> for i in range(2000):
...     x = rng.gauss(100.0, 10.0) + (25.0 if i >= 1000 else 0.0)   # latency steps up at 1000
...     if det.update(x).drift and first is None:
...         first = i
>>> first, det.alarms
(1018, 1)
"""

from __future__ import annotations

import math
from typing import Any

from river import drift as river_drift

from detectors.scalar.river import RiverScalarDetector

__all__ = ["PageHinkleyDetector"]

DIRECTIONS = ("up", "down", "both")


class PageHinkleyDetector(RiverScalarDetector):
    """Page-Hinkley on one scalar feature (see the module docstring)."""

    KIND = "page_hinkley"
    METHOD = "page_hinkley"

    def __init__(
        self,
        *,
        delta: float = 0.005,
        threshold: float = 50.0,
        direction: str = "both",
        min_instances: int = 30,
        reference_id: str | None = None,
        max_history: int = 10_000,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        self.delta = float(delta)
        self.threshold = float(threshold)
        self.direction = direction
        self.min_instances = int(min_instances)
        super().__init__(reference_id=reference_id, max_history=max_history)

    def _new_river(self) -> Any:
        return river_drift.PageHinkley(
            min_instances=self.min_instances,
            delta=self.delta,
            threshold=self.threshold,
            mode=self.direction,
        )

    def _params(self) -> dict[str, Any]:
        return {"delta": self.delta, "threshold": self.threshold, "direction": self.direction,
                "min_instances": self.min_instances}

    def _statistic(self) -> float:
        r = self._river
        up = r._sum_increase - r._min_increase if math.isfinite(r._min_increase) else 0.0
        down = r._max_decrease - r._sum_decrease if r._max_decrease != -1 else 0.0
        if self.direction == "up":
            return float(up)
        if self.direction == "down":
            return float(down)
        return float(max(up, down))

    def _threshold(self) -> float:
        return self.threshold
