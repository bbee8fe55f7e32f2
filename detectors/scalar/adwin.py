"""ADWIN: adaptive windowing, two-sided drift of the mean of a scalar feature (river).

``AdwinDetector(delta=...)`` alarms when the means of two sub-windows of its adaptive window differ
by more than a Hoeffding-style bound (increase or decrease of the mean). ``statistic`` = |mean of
the current window - mean of the first ``grace`` samples| (a level-shift readout), ``threshold`` =
NaN (ADWIN's bound depends on the cut point). Latching, persistence and merging:
:mod:`detectors.scalar.river`.

>>> import random
>>> rng = random.Random(3)
>>> det = AdwinDetector()
>>> first = None
>>> for i in range(2000):
...     x = rng.gauss(10.0, 1.0) + (3.0 if i >= 1000 else 0.0)   # level steps up at 1000
...     if det.update(x).drift and first is None:
...         first = i
>>> 1000 <= first < 1100, det.state.statistic > 2.5
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from river import drift as river_drift

from detectors.scalar.river import RiverScalarDetector

__all__ = ["AdwinDetector"]


class AdwinDetector(RiverScalarDetector):
    """ADWIN on one scalar feature (see the module docstring)."""

    KIND = "adwin"
    METHOD = "adwin"

    def __init__(
        self,
        *,
        delta: float = 0.002,
        grace: int = 30,
        reference_id: str | None = None,
        max_history: int = 10_000,
    ) -> None:
        self.delta = float(delta)
        self.grace = int(grace)
        super().__init__(reference_id=reference_id, max_history=max_history)

    def _new_river(self) -> Any:
        return river_drift.ADWIN(delta=self.delta)

    def _params(self) -> dict[str, Any]:
        return {"delta": self.delta, "grace": self.grace}

    def _reset_extra(self) -> None:
        self._grace_sum = 0.0

    def _observe(self, x: float) -> None:
        if self._n < self.grace:
            self._grace_sum += x

    def _statistic(self) -> float:
        r = self._river
        if self._n == 0 or r.width == 0:
            return 0.0
        return float(abs(r.estimation - self._grace_sum / min(self._n, self.grace)))

    def _threshold(self) -> float:
        return math.nan

    def _extra_state(self) -> dict[str, Any]:
        return {"grace_sum": self._grace_sum}

    def _parse_extra(self, d: Mapping[str, Any]) -> dict[str, Any]:
        return {"grace_sum": float(d["grace_sum"])}

    def _apply_extra(self, values: Mapping[str, Any]) -> None:
        self._grace_sum = float(values["grace_sum"])
