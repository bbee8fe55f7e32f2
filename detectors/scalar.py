"""Univariate streaming drift on a scalar feature (lengths, latency, ...) with river.

``ScalarDriftDetector(method=...)`` wraps one river detector:

* ``"adwin"`` — ADWIN (``delta``): adaptive window; alarms when the means of two sub-windows differ
  by more than a Hoeffding-style bound. Two-sided (increase or decrease of the mean).
  ``statistic`` = |mean of the current window - mean of the first ``grace`` samples| (a level
  shift readout), ``threshold`` = NaN (ADWIN's bound depends on the cut point).
* ``"page_hinkley"`` — Page-Hinkley (``delta``, ``threshold``, ``direction`` ``"up"``, ``"down"``
  or ``"both"``): cumulative deviation from the running mean; ``statistic`` is the larger of the
  monitored cumulative deviations, ``threshold`` river's ``threshold`` (in feature units).
* ``"kswin"`` — KSWIN (``alpha``, ``window_size``, ``stat_size``, ``seed``): Kolmogorov-Smirnov test
  of the most recent ``stat_size`` values against a random sample of the older window; detects any
  change of distribution. ``statistic`` = 1 - last p-value, ``threshold`` = 1 - alpha.

The river detector restarts itself after each detection (as river does); this wrapper *latches*
``drift`` until ``reset()`` and counts detections in ``alarms``. ``reset()`` builds a fresh river
detector (forgetting all data) with the same parameters.

Persistence and merge replay retained observations: the wrapper keeps the observations since the
last reset, up to ``max_history`` (default 10 000). ``load_state`` and ``merge`` rebuild the river
state by replaying them, which is exact while nothing was dropped (``n <= max_history``); beyond
that the replay sees only the latest ``max_history`` values (the state records ``exact: false``).

>>> import random
>>> rng = random.Random(1)
>>> det = ScalarDriftDetector(method="page_hinkley", threshold=500.0, direction="up")
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
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Self

from river import drift as river_drift

from detectors.base import (
    DetectorState,
    IncompatibleStateError,
    check_same_config,
    check_state_header,
)

__all__ = ["ScalarDriftDetector"]

_METHODS = ("adwin", "page_hinkley", "kswin")
_DIRECTIONS = {"up": "up", "down": "down", "both": "both"}


class ScalarDriftDetector:
    """River-backed univariate drift detector (see the module docstring)."""

    KIND = "scalar_river"
    VERSION = 1

    def __init__(
        self,
        *,
        method: str = "adwin",
        delta: float | None = None,
        threshold: float = 50.0,
        direction: str = "both",
        min_instances: int = 30,
        alpha: float = 0.005,
        window_size: int = 100,
        stat_size: int = 30,
        grace: int = 30,
        seed: int = 0,
        reference_id: str | None = None,
        max_history: int = 10_000,
    ) -> None:
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {tuple(_DIRECTIONS)}, got {direction!r}")
        if max_history < 1:
            raise ValueError(f"max_history must be >= 1, got {max_history}")
        if delta is None:
            delta = 0.002 if method == "adwin" else 0.005
        self.method = method
        self.delta = float(delta)
        self.threshold = float(threshold)
        self.direction = direction
        self.min_instances = int(min_instances)
        self.alpha = float(alpha)
        self.window_size = int(window_size)
        self.stat_size = int(stat_size)
        self.grace = int(grace)
        self.seed = int(seed)
        self.reference_id = reference_id
        self.max_history = int(max_history)
        self.reset()

    def _new_river(self) -> Any:
        if self.method == "adwin":
            return river_drift.ADWIN(delta=self.delta)
        if self.method == "page_hinkley":
            return river_drift.PageHinkley(
                min_instances=self.min_instances,
                delta=self.delta,
                threshold=self.threshold,
                mode=_DIRECTIONS[self.direction],
            )
        return river_drift.KSWIN(
            alpha=self.alpha, window_size=self.window_size, stat_size=self.stat_size, seed=self.seed
        )

    def reset(self) -> None:
        """Forget all observations: a fresh river detector, zero counts, alarm cleared."""
        self._river = self._new_river()
        self._history: deque[float] = deque(maxlen=self.max_history)
        self._n = 0
        self._alarms = 0
        self._grace_sum = 0.0
        self._exact = True

    def _statistic(self) -> float:
        r = self._river
        if self.method == "adwin":
            if self._n == 0 or r.width == 0:
                return 0.0
            return abs(r.estimation - self._grace_sum / min(self._n, self.grace))
        if self.method == "page_hinkley":
            up = r._sum_increase - r._min_increase if math.isfinite(r._min_increase) else 0.0
            down = r._max_decrease - r._sum_decrease if r._max_decrease != -1 else 0.0
            if self.direction == "up":
                return float(up)
            if self.direction == "down":
                return float(down)
            return float(max(up, down))
        return float(1.0 - r.p_value) if r.p_value else 0.0

    def _threshold(self) -> float:
        if self.method == "adwin":
            return math.nan
        if self.method == "page_hinkley":
            return self.threshold
        return 1.0 - self.alpha

    def _feed(self, x: float) -> None:
        if self._n < self.grace:
            self._grace_sum += x
        self._river.update(x)
        self._history.append(x)
        self._n += 1
        if self._n > self.max_history:
            self._exact = False
        if self._river.drift_detected:
            self._alarms += 1

    def update(self, x: Any) -> DetectorState:
        """Add one finite scalar observation."""
        try:
            v = float(x)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a scalar observation must be a real number, got {x!r}") from exc
        if not math.isfinite(v):
            raise ValueError(f"a scalar observation must be finite, got {x!r}")
        self._feed(v)
        return self.state

    def update_many(self, xs: Iterable[Any]) -> DetectorState:
        state = self.state
        for x in xs:
            state = self.update(x)
        return state

    @property
    def alarms(self) -> int:
        """Number of river detections since the last reset."""
        return self._alarms

    @property
    def drift_detected(self) -> bool:
        return self._alarms > 0

    @property
    def state(self) -> DetectorState:
        return DetectorState(
            drift=self.drift_detected,
            statistic=self._statistic(),
            threshold=self._threshold(),
            n=self._n,
            reference_id=self.reference_id,
        )

    def _config(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "delta": self.delta,
            "threshold": self.threshold,
            "direction": self.direction,
            "min_instances": self.min_instances,
            "alpha": self.alpha,
            "window_size": self.window_size,
            "stat_size": self.stat_size,
            "grace": self.grace,
            "seed": self.seed,
            "reference_id": self.reference_id,
            "max_history": self.max_history,
        }

    def merge(self, other: Self) -> Self:
        """Append ``other``'s stream after ours by replaying its retained observations.

        Exact when ``other`` dropped nothing (``other.state.n <= max_history``).
        """
        if not isinstance(other, ScalarDriftDetector):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into {self.KIND}")
        check_same_config(self._config(), other._config(), what="merge")
        n_target = self._n + other._n
        for x in list(other._history):
            self._feed(x)
        self._n = n_target
        self._exact = self._exact and other._exact
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "config": self._config(),
            "n": self._n,
            "alarms": self._alarms,
            "grace_sum": self._grace_sum,
            "exact": self._exact,
            "history": list(self._history),
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        check_same_config(self._config(), d.get("config", {}), what="load_state")
        try:
            n, alarms = int(d["n"]), int(d["alarms"])
            history = [float(v) for v in d["history"]]
            grace_sum, exact = float(d["grace_sum"]), bool(d["exact"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed {self.KIND} state: {exc!r}") from exc
        if len(history) != min(n, self.max_history) or alarms < 0:
            raise IncompatibleStateError("inconsistent scalar state: history length vs n")
        self.reset()
        for x in history:
            self._river.update(x)
            self._history.append(x)
        self._n, self._alarms, self._grace_sum, self._exact = n, alarms, grace_sum, exact
