"""KSWIN: a Kolmogorov-Smirnov test over a sliding window of a scalar feature (river).

``KswinDetector(alpha=..., window_size=..., stat_size=..., seed=...)`` tests the most recent
``stat_size`` values against a random sample of the older window; it detects any change of
distribution. ``statistic`` = 1 - the last p-value, ``threshold`` = 1 - ``alpha``. Latching,
persistence and merging: :mod:`detectors.scalar.river`.

>>> import random
>>> rng = random.Random(4)
>>> det = KswinDetector(alpha=0.0001, seed=4)
>>> first = None
>>> for i in range(600):
...     x = rng.gauss(0.0, 1.0) + (3.0 if i >= 300 else 0.0)
...     if det.update(x).drift and first is None:
...         first = i
>>> 300 <= first < 340, det.state.threshold
(True, 0.9999)
"""

from __future__ import annotations

from typing import Any

from river import drift as river_drift

from detectors.scalar.river import RiverScalarDetector

__all__ = ["KswinDetector"]


class KswinDetector(RiverScalarDetector):
    """KSWIN on one scalar feature (see the module docstring)."""

    KIND = "kswin"
    METHOD = "kswin"

    def __init__(
        self,
        *,
        alpha: float = 0.005,
        window_size: int = 100,
        stat_size: int = 30,
        seed: int = 0,
        reference_id: str | None = None,
        max_history: int = 10_000,
    ) -> None:
        self.alpha = float(alpha)
        self.window_size = int(window_size)
        self.stat_size = int(stat_size)
        self.seed = int(seed)
        super().__init__(reference_id=reference_id, max_history=max_history)

    def _new_river(self) -> Any:
        return river_drift.KSWIN(alpha=self.alpha, window_size=self.window_size,
                                 stat_size=self.stat_size, seed=self.seed)

    def _params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "window_size": self.window_size,
                "stat_size": self.stat_size, "seed": self.seed}

    def _statistic(self) -> float:
        p = self._river.p_value
        return float(1.0 - p) if p else 0.0

    def _threshold(self) -> float:
        return 1.0 - self.alpha
