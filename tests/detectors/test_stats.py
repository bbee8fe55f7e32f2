"""detectors/stats.py: the one Wilson interval, Fisher tests and Holm adjustment (vs scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, fisher_exact

from detectors.stats import (
    clopper_pearson,
    fisher_greater,
    fisher_two_sided,
    holm,
    wilson_interval,
)


def test_intervals_against_references() -> None:
    p, lo, hi = wilson_interval(7, 40)
    ref = binomtest(7, 40).proportion_ci(confidence_level=0.95, method="wilson")
    assert p == 7 / 40
    assert (lo, hi) == pytest.approx((ref.low, ref.high))
    assert (round(lo, 4), round(hi, 4)) == (0.0875, 0.3195)
    _, lo, hi = clopper_pearson(7, 40)
    ci = binomtest(7, 40).proportion_ci(confidence_level=0.95, method="exact")
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    assert wilson_interval(0, 0)[1:] == (0.0, 1.0)
    assert wilson_interval(0, 10)[1] == 0.0
    assert wilson_interval(10, 10)[2] == pytest.approx(1.0)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_rejects_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(k, n)


def test_wilson_coverage() -> None:
    # coverage of the 95 % interval at n=200, p=0.05 over 4000 seeded draws: within [0.92, 0.98]
    rng = np.random.default_rng(5)
    ks = rng.binomial(200, 0.05, 4000)
    cover = np.mean([lo <= 0.05 <= hi for _, lo, hi in (wilson_interval(int(k), 200) for k in ks)])
    assert 0.92 <= cover <= 0.98


def test_holm_matches_definition() -> None:
    p = {"a": 0.001, "b": 0.02, "c": 0.04, "d": 0.5}
    assert holm(p) == pytest.approx({"a": 0.004, "b": 0.06, "c": 0.08, "d": 0.5})


def test_fisher_against_scipy_and_empty_sides() -> None:
    table = [[14, 16], [2, 28]]
    assert fisher_greater(14, 30, 2, 30) == pytest.approx(
        fisher_exact(table, alternative="greater").pvalue)
    assert fisher_two_sided(14, 30, 2, 30) == pytest.approx(fisher_exact(table).pvalue)
    assert fisher_greater(0, 0, 3, 10) == 1.0 and fisher_two_sided(3, 10, 0, 0) == 1.0
