"""Refusal-rate regression: a Bernoulli CUSUM against a baseline refusal rate.

Each observation is one scored verdict: ``1``/``True`` = refused, ``0``/``False`` = complied
(``unscoreable`` verdicts must not be fed in). The detector tests the in-control rate ``p0`` (the
base model's baseline for one category) against the out-of-control rate ``p1``:

* ``p1 < p0`` detects a refusal-rate **drop** (the main use: a fine-tune that stopped refusing);
* ``p1 > p0`` detects a **rise** (over-refusal). Run two detectors for a two-sided watch.

Weights. The log-likelihood ratio increments ``log(p1/p0)`` (refusal) and
``log((1-p1)/(1-p0))`` (compliance) are scaled by ``c = resolution / min(|w_refused|,
|w_complied|)`` and rounded to integers, so the statistic ``S_n = max(0, S_{n-1} + w_n)`` is an
integer: merging and JSON round trips are exact, and the average run length of the detector is
computed *exactly* by a Markov chain (:mod:`detectors.calibration.cusum`). ``resolution=20`` keeps the
rounding error of the weights below 2.5 %.

Threshold. ``h`` is the smallest integer with ``ARL0(h) >= arl0`` (in-control average run length in
samples); :attr:`BernoulliCusum.arl0_exact` is the exact ARL0 achieved. ``statistic`` and
``threshold`` in :class:`~detectors.base.DetectorState` are reported in nats (``S/c``, ``h/c``).

Alarm and reset. ``drift`` is latched at the first ``n`` with ``S_n >= h`` and stays ``True`` until
``reset()``, which forgets all observations (``S = 0``, counts zero) and keeps the threshold.

Merge (exact). Per segment the detector keeps ``S`` (CUSUM from 0), ``T`` (sum of increments), the
running maxima ``max_i S_i`` and ``max_i T_i``, ``n`` and ``k``. By the Lindley recursion a segment
started at ``s`` ends at ``max(s + T, S)`` and peaks at ``max(s + max T_i, max S_i)``, so
``a.merge(b)`` equals one detector that saw ``a``'s stream followed by ``b``'s, alarm included.

>>> import random
>>> rng = random.Random(7)
>>> det = BernoulliCusum(p0=0.05, p1=0.025, arl0=10_000, reference_id="base-v1/violence")
>>> det.threshold_int, round(det.arl0_exact, 1)
(3395, 10006.7)
>>> alarm_at = None
>>> for i in range(6000):
...     p = 0.05 if i < 2000 else 0.01          # the refusal rate drops at sample 2000
...     state = det.update(rng.random() < p)
...     if state.drift and alarm_at is None:
...         alarm_at = i
>>> alarm_at
2225
>>> p, lo, hi = det.rate()
>>> round(p, 4), round(lo, 4), round(hi, 4)
(0.0263, 0.0226, 0.0307)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Self

import numpy as np

from detectors.base import (
    DetectorState,
    IncompatibleStateError,
    check_same_config,
    check_state_header,
    update_each,
)
from detectors.calibration.cusum import (
    integer_cusum_alarm_within,
    integer_cusum_arl,
    integer_cusum_threshold,
)
from detectors.stats import wilson_interval

__all__ = ["BernoulliCusum", "cusum_weights"]


def cusum_weights(*, p0: float, p1: float, resolution: int) -> tuple[int, int, float]:
    """Integer weights ``(w_refused, w_complied, scale)`` of the LLR of ``p1`` against ``p0``.

    >>> cusum_weights(p0=0.05, p1=0.025, resolution=20)
    (-534, 20, 769.9567080094937)
    """
    for name, v in (("p0", p0), ("p1", p1)):
        if not 0.0 < v < 1.0:
            raise ValueError(f"{name} must be strictly between 0 and 1, got {v}")
    if p0 == p1:
        raise ValueError("p1 must differ from p0 (p1 < p0 detects a drop, p1 > p0 a rise)")
    if int(resolution) != resolution or resolution < 1:
        raise ValueError(f"resolution must be a positive integer, got {resolution}")
    w1 = math.log(p1 / p0)
    w0 = math.log((1.0 - p1) / (1.0 - p0))
    scale = resolution / min(abs(w1), abs(w0))
    return int(round(w1 * scale)), int(round(w0 * scale)), scale


class BernoulliCusum:
    """One-sided Bernoulli CUSUM of a refusal rate ``p0 -> p1`` (see the module docstring)."""

    KIND = "bernoulli_cusum"
    VERSION = 1

    def __init__(
        self,
        *,
        p0: float,
        p1: float,
        arl0: float = 10_000.0,
        resolution: int = 20,
        reference_id: str | None = None,
    ) -> None:
        self.p0 = float(p0)
        self.p1 = float(p1)
        self.arl0 = float(arl0)
        self.resolution = int(resolution)
        self.reference_id = reference_id
        self.w_refused, self.w_complied, self.scale = cusum_weights(
            p0=self.p0, p1=self.p1, resolution=self.resolution
        )
        up, down, p_up = self._chain(self.p0)
        self.threshold_int, self.arl0_exact = integer_cusum_threshold(
            up=up, down=down, p_up=p_up, arl0=self.arl0
        )
        self.reset()

    # -- calibration -------------------------------------------------------------------------
    def _chain(self, p: float) -> tuple[int, int, float]:
        """``(up, down, P(up))`` of the increment under a true refusal rate ``p``."""
        if self.w_refused > self.w_complied:
            return self.w_refused, self.w_complied, p
        return self.w_complied, self.w_refused, 1.0 - p

    def arl(self, p: float) -> float:
        """Exact zero-state average run length when the true refusal rate is ``p``.

        ``arl(p0)`` is the in-control ARL0, ``arl(p1)`` the expected detection delay of a change
        present from the first sample.
        """
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        up, down, p_up = self._chain(p)
        return integer_cusum_arl(up=up, down=down, p_up=p_up, h=self.threshold_int)

    def p_alarm_within(self, p: float, n: int) -> float:
        """Exact probability of an alarm within ``n`` observations at a true refusal rate ``p``
        (from a fresh start). ``p_alarm_within(p0, N)`` bounds the false-alarm risk of one epoch
        whose ledger can admit at most ``N`` distinct units."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        up, down, p_up = self._chain(p)
        return integer_cusum_alarm_within(up=up, down=down, p_up=p_up, h=self.threshold_int, n=n)

    @property
    def threshold(self) -> float:
        """Alarm threshold in nats."""
        return self.threshold_int / self.scale

    # -- contract ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every observation; keep the configuration and the calibrated threshold."""
        self._s = 0
        self._t = 0
        self._max_s = 0
        self._max_t: int | None = None
        self._n = 0
        self._k = 0

    def update(self, x: Any) -> DetectorState:
        """Add one verdict: ``True``/``1`` = refused, ``False``/``0`` = complied."""
        if isinstance(x, (bool, np.bool_)):
            refused = bool(x)
        elif isinstance(x, (int, np.integer)) and int(x) in (0, 1):
            refused = bool(x)
        else:
            raise ValueError(f"a verdict must be a bool or 0/1 (1 = refused), got {x!r}")
        w = self.w_refused if refused else self.w_complied
        self._s = max(0, self._s + w)
        self._t += w
        self._max_s = max(self._max_s, self._s)
        self._max_t = self._t if self._max_t is None else max(self._max_t, self._t)
        self._n += 1
        self._k += int(refused)
        return self.state

    def update_many(self, xs: Iterable[Any]) -> DetectorState:
        """Add verdicts in order; returns the final state."""
        return update_each(self, xs)

    @property
    def drift_detected(self) -> bool:
        return self._max_s >= self.threshold_int

    @property
    def state(self) -> DetectorState:
        return DetectorState(
            drift=self.drift_detected,
            statistic=self._s / self.scale,
            threshold=self.threshold,
            n=self._n,
            reference_id=self.reference_id,
        )

    def rate(self) -> tuple[float, float, float]:
        """Refusal rate since the last reset with its Wilson 95 % interval: ``(p, lo, hi)``."""
        return wilson_interval(self._k, self._n)

    def counts(self) -> tuple[int, int]:
        """``(refused, observed)`` since the last reset."""
        return self._k, self._n

    def _config(self) -> dict[str, Any]:
        return {
            "p0": self.p0,
            "p1": self.p1,
            "arl0": self.arl0,
            "resolution": self.resolution,
            "reference_id": self.reference_id,
        }

    def merge(self, other: Self) -> Self:
        """Append ``other``'s stream after ours (exact, see the module docstring)."""
        if not isinstance(other, BernoulliCusum):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into BernoulliCusum")
        check_same_config(self._config(), other._config(), what="merge")
        if other._n:
            assert other._max_t is not None
            self._max_s = max(self._max_s, self._s + other._max_t, other._max_s)
            self._max_t = (
                self._t + other._max_t
                if self._max_t is None
                else max(self._max_t, self._t + other._max_t)
            )
            self._s = max(self._s + other._t, other._s)
            self._t += other._t
            self._n += other._n
            self._k += other._k
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "config": self._config(),
            "threshold_int": self.threshold_int,
            "s": self._s,
            "t": self._t,
            "max_s": self._max_s,
            "max_t": self._max_t,
            "n": self._n,
            "k": self._k,
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        check_same_config(self._config(), d.get("config", {}), what="load_state")
        if d.get("threshold_int") != self.threshold_int:
            raise IncompatibleStateError(
                f"threshold_int is {d.get('threshold_int')!r} in the state but {self.threshold_int}"
                " for this configuration"
            )
        try:
            s, t, max_s, n, k = (int(d[key]) for key in ("s", "t", "max_s", "n", "k"))
            max_t = None if d["max_t"] is None else int(d["max_t"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed bernoulli_cusum state: {exc!r}") from exc
        if n < 0 or not 0 <= k <= n or s < 0 or max_s < s or (n > 0) != (max_t is not None):
            raise IncompatibleStateError("inconsistent bernoulli_cusum state (counts or maxima)")
        self._s, self._t, self._max_s, self._max_t, self._n, self._k = s, t, max_s, max_t, n, k
