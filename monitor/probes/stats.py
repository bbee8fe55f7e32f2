"""Confidence intervals and the per-category regression test against the baseline.

The test. For each category with ``k_b`` failures out of ``n_b`` scoreable units in the baseline
and ``k_c`` of ``n_c`` now, a one-sided Fisher exact test asks whether the current failure rate is
higher (H1: ``p_c > p_b``). The baseline is itself a sample, which Fisher's test accounts for (an
exact binomial against the baseline point estimate would not). p-values are Holm-adjusted across
the categories tested, so the family-wise false-alarm rate of one run is at most ``alpha``.
A category is a **regression** when its adjusted p-value is ``<= alpha`` **and** the observed
increase ``p_c - p_b`` is at least ``min_effect_size``.

Re-running against the baseline model passes because (1) under deterministic settings
(temperature 0, fixed seed) identical answers give identical counts: the effect is exactly 0,
below any positive ``min_effect_size``, so no category can be flagged whatever its p-value (which is
then well above 0.5 anyway); (2) with sampling noise, Holm keeps the chance of any
false regression per run at or below ``alpha``, and the minimum effect size removes statistically
significant but tiny shifts (tests/monitor/probes/test_stats.py measures the rate by simulation).

>>> r = compare({"disallowed": (2, 30)}, {"disallowed": (14, 30)}, alpha=0.05, min_effect_size=0.1)
>>> c = r["disallowed"]
>>> c.regression, round(c.p_value, 5), round(c.effect, 3)
(True, 0.00045, 0.4)
>>> same = compare({"disallowed": (2, 30)}, {"disallowed": (2, 30)}, alpha=0.05,
...                min_effect_size=0.1)["disallowed"]
>>> same.regression, round(same.p_adjusted, 3), same.effect
(False, 0.694, 0.0)
>>> [round(x, 4) for x in wilson(3, 30)]
[0.1, 0.0346, 0.2562]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy.stats import beta, fisher_exact, norm


def wilson(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(p, lo, hi)``: estimate and Wilson score interval; ``(nan, 0, 1)`` when ``n == 0``."""
    if n == 0:
        return math.nan, 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(p, lo, hi)`` with the exact (conservative) Clopper-Pearson interval.

    >>> [round(x, 4) for x in clopper_pearson(0, 20)]
    [0.0, 0.0, 0.1684]
    """
    if n == 0:
        return math.nan, 0.0, 1.0
    a = 1 - confidence
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return k / n, lo, hi


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1).

    >>> holm({"a": 0.01, "b": 0.04, "c": 0.03})
    {'a': 0.03, 'b': 0.06, 'c': 0.06}
    """
    items = sorted(pvalues.items(), key=lambda kv: kv[1])
    m = len(items)
    out: dict[str, float] = {}
    running = 0.0
    for i, (key, p) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        out[key] = round(running, 12)
    return {k: out[k] for k in pvalues}


def fisher_greater(k_c: int, n_c: int, k_b: int, n_b: int) -> float:
    """One-sided Fisher exact p-value for ``rate_current > rate_baseline``."""
    if n_c == 0 or n_b == 0:
        return 1.0
    table = [[k_c, n_c - k_c], [k_b, n_b - k_b]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def fisher_two_sided(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    if n_a == 0 or n_b == 0:
        return 1.0
    return float(fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)


@dataclass(frozen=True)
class Comparison:
    """Baseline versus current failure rate of one category."""

    category: str
    baseline_failed: int
    baseline_n: int
    current_failed: int
    current_n: int
    p_value: float
    p_adjusted: float
    regression: bool
    baseline_rate: float
    current_rate: float
    baseline_ci: tuple[float, float]
    current_ci: tuple[float, float]

    @property
    def effect(self) -> float:
        if self.baseline_n == 0 or self.current_n == 0:
            return 0.0
        return self.current_rate - self.baseline_rate

    @property
    def testable(self) -> bool:
        return self.baseline_n > 0 and self.current_n > 0


def compare(
    baseline: Mapping[str, tuple[int, int]],
    current: Mapping[str, tuple[int, int]],
    *,
    alpha: float,
    min_effect_size: float,
) -> dict[str, Comparison]:
    """Test each category of ``current`` (``(failed, scored)``) against ``baseline``.

    Categories without scoreable units on either side are reported but not tested (p = 1) and
    do not count towards the Holm correction.
    """
    raw: dict[str, float] = {}
    for cat, (k_c, n_c) in current.items():
        k_b, n_b = baseline.get(cat, (0, 0))
        if n_c and n_b:
            raw[cat] = fisher_greater(k_c, n_c, k_b, n_b)
    adjusted = holm(raw) if raw else {}
    out: dict[str, Comparison] = {}
    for cat, (k_c, n_c) in current.items():
        k_b, n_b = baseline.get(cat, (0, 0))
        pb, lob, hib = wilson(k_b, n_b)
        pc, loc, hic = wilson(k_c, n_c)
        p_adj = adjusted.get(cat, 1.0)
        effect = (pc - pb) if (n_b and n_c) else 0.0
        out[cat] = Comparison(
            category=cat,
            baseline_failed=k_b,
            baseline_n=n_b,
            current_failed=k_c,
            current_n=n_c,
            p_value=raw.get(cat, 1.0),
            p_adjusted=p_adj,
            regression=bool(cat in raw and p_adj <= alpha and effect >= min_effect_size - 1e-12),
            baseline_rate=pb,
            current_rate=pc,
            baseline_ci=(lob, hib),
            current_ci=(loc, hic),
        )
    return out
