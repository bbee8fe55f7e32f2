"""Binomial statistics shared by the detectors, the probes and the evidence packs.

One implementation of each, imported everywhere else:

* :func:`wilson_interval` — Wilson score interval of a binomial proportion (refusal rates,
  probe failure rates, the evidence pack's confidence intervals).
* :func:`clopper_pearson` — the exact (conservative) interval, for comparison.
* :func:`fisher_greater`, :func:`fisher_two_sided` — Fisher's exact test of two proportions.
* :func:`holm` — Holm-Bonferroni adjustment of a family of p-values.

scipy is imported by the functions that need it, so importing this module stays cheap.

>>> tuple(round(v, 4) for v in wilson_interval(5, 100))
(0.05, 0.0215, 0.1118)
>>> wilson_interval(0, 0)
(nan, 0.0, 1.0)
>>> round(fisher_greater(14, 30, 2, 30), 5)
0.00045
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "Z95",
    "clopper_pearson",
    "fisher_greater",
    "fisher_two_sided",
    "holm",
    "wilson_interval",
]

Z95 = 1.959963984540054  # the 97.5 % normal quantile: two-sided 95 % intervals


def wilson_interval(k: int, n: int, *, z: float = Z95) -> tuple[float, float, float]:
    """``(p_hat, lo, hi)``: the Wilson score interval of ``k`` successes in ``n`` trials.

    With ``n == 0`` the estimate is NaN and the interval is ``[0, 1]``.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return math.nan, 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(p, lo, hi)`` with the exact (conservative) Clopper-Pearson interval.

    >>> [round(x, 4) for x in clopper_pearson(0, 20)]
    [0.0, 0.0, 0.1684]
    """
    from scipy.stats import beta

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


def fisher_greater(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    """One-sided Fisher exact p-value for ``rate_a > rate_b`` (1 when either side is empty)."""
    from scipy.stats import fisher_exact

    if n_a == 0 or n_b == 0:
        return 1.0
    table = [[k_a, n_a - k_a], [k_b, n_b - k_b]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def fisher_two_sided(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    """Two-sided Fisher exact p-value for ``rate_a != rate_b`` (1 when either side is empty)."""
    from scipy.stats import fisher_exact

    if n_a == 0 or n_b == 0:
        return 1.0
    return float(fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
