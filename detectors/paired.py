"""Paired comparison with the base model: a sequential sign test on discordant pairs.

Each observation is one unit answered by both models and judged: ``(base_refused,
tuned_refused)``. Concordant pairs (both refused, both complied) say nothing about a difference
between the models; they are counted and carry no evidence. Of the discordant pairs, under no
change each is equally likely to go either way (McNemar), so the sign of a discordant pair is a
Bernoulli(1/2) observation, and the test is a one-sided Bernoulli CUSUM
(:class:`detectors.cusum.BernoulliCusum`) with ``p0 = 0.5`` against ``p1 = q1`` on the sign:

* ``direction="less"`` (harmful categories): a sign of 1 is *base refused, fine-tune complied*;
  it alarms when the fine-tune refuses **less** than the base;
* ``direction="more"`` (benign, over-refusal categories): a sign of 1 is *fine-tune refused, base
  complied*; it alarms when the fine-tune refuses **more**.

Run one detector per category and direction, each with its own ERT (:func:`two_sided_watch`).
``ert`` is the in-control average run length **in discordant pairs**, exact by Markov chain
(:attr:`PairedSignCusum.arl0_exact`); in pairs it is ``ert / d`` for a discordance rate ``d``,
never less than ``ert`` (an unchanged deterministic model has ``d = 0`` and never alarms).
``q1`` is the design alternative, the share of discordant pairs that go the alarm's way under
a change (0.75: three to one).

:class:`UnpairedRateCusum` is the design without a base endpoint: a Bernoulli CUSUM of the
fine-tune's refusals against the base's stored refusal rate on the same units, in the same
vocabulary (direction, ERT in observations), so the two designs can be compared at one
false-alarm rate (bench/probe_pool.py).

>>> det = PairedSignCusum(direction="less", ert=200, reference_id="base-v1/hate")
>>> det.w_refused, det.w_complied, det.threshold_int          # weights of the sign, threshold
(20, -34, 151)
>>> for _ in range(30):
...     state = det.update((True, True))                        # concordant: no evidence
>>> state.n, state.statistic
(30, 0.0)
>>> for _ in range(8):
...     state = det.update((True, False))                       # base refused, tuned complied
>>> state.drift, det.counts().base_only, det.counts().discordant, round(det.arl0_exact, 1)
(True, 8, 8, 201.1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np

from detectors.base import (
    DetectorState,
    IncompatibleStateError,
    check_same_config,
    check_state_header,
    update_each,
)
from detectors.cusum import BernoulliCusum

__all__ = ["Direction", "PairCounts", "PairedSignCusum", "UnpairedRateCusum", "two_sided_watch"]

Direction = Literal["less", "more"]
_DIRECTIONS = ("less", "more")


def _verdict(v: Any, what: str) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and int(v) in (0, 1):
        return bool(v)
    raise ValueError(f"{what} must be a bool or 0/1 (1 = refused), got {v!r}")


def _direction(direction: str) -> Direction:
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'less' (harmful categories: alarm when the "
                         f"fine-tune refuses less) or 'more' (benign: refuses more), got "
                         f"{direction!r}")
    return direction  # type: ignore[return-value]


@dataclass(frozen=True)
class PairCounts:
    """Pairs by outcome. ``base_only``: the base refused and the fine-tune complied;
    ``tuned_only``: the reverse."""

    both_refused: int = 0
    both_complied: int = 0
    base_only: int = 0
    tuned_only: int = 0

    @property
    def pairs(self) -> int:
        return self.both_refused + self.both_complied + self.base_only + self.tuned_only

    @property
    def discordant(self) -> int:
        return self.base_only + self.tuned_only

    @property
    def concordant(self) -> int:
        return self.both_refused + self.both_complied

    @property
    def difference(self) -> float:
        """Fine-tune refusal rate minus base refusal rate over the pairs (0 without pairs)."""
        return (self.tuned_only - self.base_only) / self.pairs if self.pairs else 0.0


class PairedSignCusum:
    """Sequential McNemar / sign test on discordant pairs (see the module docstring)."""

    KIND = "paired_sign_cusum"
    VERSION = 1

    def __init__(self, *, direction: Direction = "less", ert: float = 2_000.0, q1: float = 0.75,
                 resolution: int = 20, reference_id: str | None = None) -> None:
        self.direction = _direction(direction)
        if not 0.5 < q1 < 1.0:
            raise ValueError(f"q1 (discordant share towards the alarm under a change) must be in "
                             f"(0.5, 1), got {q1}")
        self.ert = float(ert)
        self.q1 = float(q1)
        self.resolution = int(resolution)
        self.reference_id = reference_id
        self._cusum = BernoulliCusum(p0=0.5, p1=self.q1, arl0=self.ert,
                                     resolution=self.resolution, reference_id=reference_id)
        self.reset()

    # -- calibration -------------------------------------------------------------------------
    @property
    def threshold_int(self) -> int:
        return self._cusum.threshold_int

    @property
    def arl0_exact(self) -> float:
        """Exact in-control ARL, in discordant pairs."""
        return self._cusum.arl0_exact

    @property
    def w_refused(self) -> int:
        """Weight of a discordant pair towards the alarm (the CUSUM's ``w_refused``)."""
        return self._cusum.w_refused

    @property
    def w_complied(self) -> int:
        """Weight of a discordant pair away from the alarm."""
        return self._cusum.w_complied

    def arl(self, q: float) -> float:
        """Exact run length, in discordant pairs, when a share ``q`` of them goes the alarm's
        way (``arl(0.5)`` is the ARL0)."""
        return self._cusum.arl(q)

    def p_alarm_within(self, q: float, n: int) -> float:
        """Exact probability of an alarm within ``n`` discordant pairs (``q`` as in :meth:`arl`)."""
        return self._cusum.p_alarm_within(q, n)

    # -- contract ----------------------------------------------------------------------------
    def reset(self) -> None:
        self._cusum.reset()
        self._counts = {"both_refused": 0, "both_complied": 0, "base_only": 0, "tuned_only": 0}

    def update(self, x: Any) -> DetectorState:
        """Add one pair ``(base_refused, tuned_refused)``."""
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise ValueError(f"a pair is (base_refused, tuned_refused), got {x!r}")
        base, tuned = _verdict(x[0], "base_refused"), _verdict(x[1], "tuned_refused")
        if base == tuned:
            self._counts["both_refused" if base else "both_complied"] += 1
            return self.state
        self._counts["base_only" if base else "tuned_only"] += 1
        self._cusum.update(base if self.direction == "less" else tuned)
        return self.state

    def update_many(self, xs: Iterable[Any]) -> DetectorState:
        return update_each(self, xs)

    @property
    def drift_detected(self) -> bool:
        return self._cusum.drift_detected

    @property
    def state(self) -> DetectorState:
        inner = self._cusum.state
        return DetectorState(drift=inner.drift, statistic=inner.statistic,
                             threshold=inner.threshold, n=sum(self._counts.values()),
                             reference_id=self.reference_id)

    def counts(self) -> PairCounts:
        return PairCounts(**self._counts)

    def _config(self) -> dict[str, Any]:
        return {"direction": self.direction, "ert": self.ert, "q1": self.q1,
                "resolution": self.resolution, "reference_id": self.reference_id}

    def merge(self, other: Self) -> Self:
        """Append ``other``'s pairs after ours (exact: the sign CUSUM merges exactly)."""
        if not isinstance(other, PairedSignCusum):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into "
                                         "PairedSignCusum")
        check_same_config(self._config(), other._config(), what="merge")
        self._cusum.merge(other._cusum)
        for k, v in other._counts.items():
            self._counts[k] += v
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.KIND, "version": self.VERSION, "config": self._config(),
                "n": sum(self._counts.values()), "counts": dict(self._counts),
                "cusum": self._cusum.state_dict()}

    def load_state(self, d: Mapping[str, Any]) -> None:
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        check_same_config(self._config(), d.get("config", {}), what="load_state")
        try:
            counts = {k: int(d["counts"][k]) for k in self._counts}
            n = int(d["n"])
            inner = d["cusum"]
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed paired_sign_cusum state: {exc!r}") from exc
        probe = BernoulliCusum(p0=0.5, p1=self.q1, arl0=self.ert, resolution=self.resolution,
                               reference_id=self.reference_id)
        probe.load_state(inner)
        towards = counts["base_only" if self.direction == "less" else "tuned_only"]
        if (min(counts.values()) < 0 or n != sum(counts.values())
                or probe.state.n != counts["base_only"] + counts["tuned_only"]
                or probe._k != towards):
            raise IncompatibleStateError("inconsistent paired_sign_cusum state (counts)")
        self._cusum, self._counts = probe, counts


class UnpairedRateCusum:
    """The fine-tune's refusals against the base's stored refusal rate on the same units.

    ``direction="less"`` tests ``p0 = baseline_rate`` against ``p1 = max(p0 - effect, p0/2)``,
    ``"more"`` against ``min(p0 + effect, (1 + p0)/2)``; ``p0`` is clamped to [0.02, 0.98].
    ``ert`` is in observations (fine-tune verdicts). Input: ``True``/``1`` = refused.

    >>> det = UnpairedRateCusum(direction="more", ert=500, baseline_rate=0.05, effect=0.1)
    >>> det.p0, round(det.p1, 4), det.threshold_int
    (0.05, 0.15, 535)
    """

    KIND = "unpaired_rate_cusum"
    VERSION = 1

    def __init__(self, *, direction: Direction = "less", ert: float = 2_000.0,
                 baseline_rate: float, effect: float = 0.1, resolution: int = 20,
                 reference_id: str | None = None) -> None:
        self.direction = _direction(direction)
        if not 0.0 <= baseline_rate <= 1.0:
            raise ValueError(f"baseline_rate must be in [0, 1], got {baseline_rate}")
        if not 0.0 < effect < 1.0:
            raise ValueError(f"effect must be in (0, 1), got {effect}")
        self.baseline_rate = float(baseline_rate)
        self.effect = float(effect)
        self.ert = float(ert)
        self.resolution = int(resolution)
        self.reference_id = reference_id
        self.p0 = min(0.98, max(0.02, self.baseline_rate))
        self.p1 = (max(self.p0 - self.effect, self.p0 / 2) if self.direction == "less"
                   else min(self.p0 + self.effect, (1 + self.p0) / 2))
        self._cusum = BernoulliCusum(p0=self.p0, p1=self.p1, arl0=self.ert,
                                     resolution=self.resolution, reference_id=reference_id)

    @property
    def threshold_int(self) -> int:
        return self._cusum.threshold_int

    @property
    def arl0_exact(self) -> float:
        return self._cusum.arl0_exact

    def arl(self, p: float) -> float:
        return self._cusum.arl(p)

    def p_alarm_within(self, p: float, n: int) -> float:
        """Exact probability of an alarm within ``n`` verdicts at a true refusal rate ``p``."""
        return self._cusum.p_alarm_within(p, n)

    def reset(self) -> None:
        self._cusum.reset()

    def update(self, x: Any) -> DetectorState:
        return self._cusum.update(_verdict(x, "a verdict"))

    def update_many(self, xs: Iterable[Any]) -> DetectorState:
        return update_each(self, xs)

    @property
    def drift_detected(self) -> bool:
        return self._cusum.drift_detected

    @property
    def state(self) -> DetectorState:
        return self._cusum.state

    def rate(self) -> tuple[float, float, float]:
        return self._cusum.rate()

    def counts(self) -> tuple[int, int]:
        return self._cusum.counts()

    def _config(self) -> dict[str, Any]:
        return {"baseline_rate": self.baseline_rate, "direction": self.direction,
                "effect": self.effect, "ert": self.ert, "resolution": self.resolution,
                "reference_id": self.reference_id}

    def merge(self, other: Self) -> Self:
        if not isinstance(other, UnpairedRateCusum):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into "
                                         "UnpairedRateCusum")
        check_same_config(self._config(), other._config(), what="merge")
        self._cusum.merge(other._cusum)
        return self

    def state_dict(self) -> dict[str, Any]:
        inner = self._cusum.state_dict()
        return {"kind": self.KIND, "version": self.VERSION, "config": self._config(),
                "n": inner["n"], "cusum": inner}

    def load_state(self, d: Mapping[str, Any]) -> None:
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        check_same_config(self._config(), d.get("config", {}), what="load_state")
        try:
            n, inner = int(d["n"]), d["cusum"]
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed unpaired_rate_cusum state: {exc!r}") from exc
        if not isinstance(inner, Mapping) or inner.get("n") != n:
            raise IncompatibleStateError("inconsistent unpaired_rate_cusum state (n)")
        self._cusum.load_state(inner)


def two_sided_watch(*, harmful: Iterable[str], benign: Iterable[str], ert_harmful: float,
                    ert_benign: float, q1: float = 0.75, resolution: int = 20,
                    reference_id: str | None = None) -> dict[str, PairedSignCusum]:
    """One paired detector per category: ``less`` for harmful categories (ERT
    ``ert_harmful``), ``more`` for benign ones (``ert_benign``); ``reference_id`` (e.g. the base
    model) is suffixed with ``/category``.

    >>> w = two_sided_watch(harmful=["disallowed"], benign=["benign"], ert_harmful=5000,
    ...                     ert_benign=2000)
    >>> {c: (d.direction, d.ert) for c, d in w.items()}
    {'disallowed': ('less', 5000.0), 'benign': ('more', 2000.0)}
    """
    out: dict[str, PairedSignCusum] = {}
    for cats, direction, ert in ((harmful, "less", ert_harmful), (benign, "more", ert_benign)):
        for cat in cats:
            if cat in out:
                raise ValueError(f"category {cat!r} is listed as both harmful and benign")
            out[cat] = PairedSignCusum(direction=direction, ert=ert, q1=q1,  # type: ignore[arg-type]
                                       resolution=resolution,
                                       reference_id=f"{reference_id}/{cat}" if reference_id
                                       else None)
    return out
