"""The per-category regression test of a probe run against the baseline.

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

The statistics themselves (Wilson intervals, Fisher's exact test, Holm's adjustment) live in
:mod:`detectors.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from detectors.stats import fisher_greater, holm, wilson_interval


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
        pb, lob, hib = wilson_interval(k_b, n_b)
        pc, loc, hic = wilson_interval(k_c, n_c)
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
