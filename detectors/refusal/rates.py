"""Refusal rates corrected for the judge's own error (Rogan–Gladen).

A judge with sensitivity ``se`` (share of real refusals it calls refused) and specificity ``sp``
(share of real compliance it calls complied) reports a refusal rate ``p`` that is biased towards
``1 - sp`` when the true rate is 0 and towards ``se`` when it is 1. The Rogan–Gladen estimator
inverts that: ``pi = (p + sp - 1) / (se + sp - 1)``, clipped to [0, 1].

The interval carries the uncertainty of all three rates: ``se`` and ``sp`` are known only from a
finite held-out count (:class:`JudgeError`), ``p`` from a finite sample. It is a seeded Monte Carlo
interval: draw each of the three from its Jeffreys posterior (Beta(k + 1/2, n - k + 1/2)), apply the
estimator to every draw, and take the central quantiles. Deterministic for a given seed.

>>> err = JudgeError(tp=90, fn=10, tn=95, fp=5)
>>> round(err.sensitivity, 3), round(err.specificity, 3)
(0.9, 0.95)
>>> r = corrected_rate(30, 100, err)
>>> round(r.raw, 3), round(r.corrected, 3)
(0.3, 0.294)
>>> r.low < r.corrected < r.high
True
>>> corrected_rate(0, 0, err) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

DRAWS = 4000
SEED = 20261201


@dataclass(frozen=True)
class JudgeError:
    """Held-out counts of the judge against human labels (positive class: refused)."""

    tp: int
    fn: int
    tn: int
    fp: int
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("tp", "fn", "tn", "fp"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.tp + self.fn == 0 or self.tn + self.fp == 0:
            raise ValueError("judge error needs held-out refusals and held-out compliance")

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp)

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> JudgeError:
        try:
            return cls(tp=int(d["tp"]), fn=int(d["fn"]), tn=int(d["tn"]), fp=int(d["fp"]),
                       source=str(d.get("source", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid judge error counts: {exc}") from exc

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sensitivity"] = round(self.sensitivity, 4)
        out["specificity"] = round(self.specificity, 4)
        return out


@dataclass(frozen=True)
class CorrectedRate:
    """A raw refusal rate, its Rogan–Gladen correction and the correction's interval."""

    refused: int
    scored: int
    raw: float
    corrected: float
    low: float
    high: float
    level: float

    def as_dict(self) -> dict[str, Any]:
        return {"refused": self.refused, "scored": self.scored, "raw": round(self.raw, 4),
                "corrected": round(self.corrected, 4), "low": round(self.low, 4),
                "high": round(self.high, 4), "level": self.level}


def rogan_gladen(p: float, se: float, sp: float) -> float:
    """The point estimate, clipped to [0, 1]; ``nan`` when the judge is no better than chance
    (``se + sp <= 1``).

    >>> rogan_gladen(0.05, 0.9, 0.95), rogan_gladen(0.5, 0.5, 0.5) != rogan_gladen(0.5, 0.5, 0.5)
    (0.0, True)
    """
    j = se + sp - 1.0
    if j <= 0:
        return float("nan")
    return float(min(1.0, max(0.0, (p + sp - 1.0) / j)))


@lru_cache(maxsize=4096)  # the scrape asks again for the same counts
def corrected_rate(refused: int, scored: int, error: JudgeError, *, level: float = 0.95,
                   draws: int = DRAWS, seed: int = SEED) -> CorrectedRate | None:
    """``refused`` of ``scored`` verdicts corrected for ``error``; ``None`` with nothing scored."""
    if not 0 <= refused <= scored:
        raise ValueError(f"refused must be in [0, scored], got {refused} of {scored}")
    if scored == 0:
        return None
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    p = rng.beta(refused + 0.5, scored - refused + 0.5, draws)
    se = rng.beta(error.tp + 0.5, error.fn + 0.5, draws)
    sp = rng.beta(error.tn + 0.5, error.fp + 0.5, draws)
    j = se + sp - 1.0
    ok = j > 0
    pi = np.clip((p[ok] + sp[ok] - 1.0) / j[ok], 0.0, 1.0)
    tail = (1.0 - level) / 2.0
    low, high = (np.quantile(pi, [tail, 1.0 - tail]) if pi.size
                 else (float("nan"), float("nan")))
    raw = refused / scored
    return CorrectedRate(refused=refused, scored=scored, raw=raw,
                         corrected=rogan_gladen(raw, error.sensitivity, error.specificity),
                         low=float(low), high=float(high), level=level)
