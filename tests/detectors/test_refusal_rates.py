"""detectors/refusal/rates.py: refusal rates corrected for the judge's error (Rogan–Gladen)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.refusal.rates import JudgeError, corrected_rate, rogan_gladen


@pytest.mark.parametrize("pi", [0.0, 0.1, 0.35, 0.8, 1.0])
def test_the_estimator_undoes_the_judges_bias(pi: float) -> None:
    se, sp = 0.8, 0.9
    observed = pi * se + (1 - pi) * (1 - sp)
    assert rogan_gladen(observed, se, sp) == pytest.approx(pi, abs=1e-12)


def test_a_judge_no_better_than_chance_gives_no_estimate() -> None:
    assert np.isnan(rogan_gladen(0.4, 0.6, 0.4))


def test_interval_covers_the_true_rate_at_its_level() -> None:
    """Simulated (seeded): the judge's held-out counts and the observed verdicts are both drawn
    afresh in every trial. 300 trials of a 95 % interval; tolerance: at least 90 % cover (the
    binomial 1st percentile of 300 trials at 95 % is about 91 %)."""
    rng = np.random.default_rng(7)
    pi, se, sp = 0.3, 0.8, 0.9
    covered = 0
    trials = 300
    for t in range(trials):
        tp = int(rng.binomial(200, se))
        tn = int(rng.binomial(300, sp))
        err = JudgeError(tp=tp, fn=200 - tp, tn=tn, fp=300 - tn)
        k = int(rng.binomial(150, pi * se + (1 - pi) * (1 - sp)))
        r = corrected_rate(k, 150, err, seed=t)
        assert r is not None
        covered += r.low <= pi <= r.high
    assert covered / trials >= 0.90, covered


def test_the_interval_carries_the_judges_uncertainty() -> None:
    """Same rates, ten times fewer held-out rows behind them: a wider interval."""
    many = corrected_rate(60, 200, JudgeError(tp=800, fn=200, tn=900, fp=100))
    few = corrected_rate(60, 200, JudgeError(tp=8, fn=2, tn=9, fp=1))
    assert many is not None and few is not None
    assert many.corrected == pytest.approx(few.corrected)
    assert (few.high - few.low) > 1.5 * (many.high - many.low)
    assert 0.0 <= few.low <= few.corrected <= few.high <= 1.0


def test_deterministic_for_a_seed() -> None:
    err = JudgeError(tp=90, fn=10, tn=95, fp=5)
    assert corrected_rate(30, 100, err) == corrected_rate(30, 100, err)
    assert corrected_rate(30, 100, err, seed=1) != corrected_rate(30, 100, err, seed=2)


def test_bad_input_is_refused_clearly() -> None:
    err = JudgeError(tp=9, fn=1, tn=9, fp=1)
    with pytest.raises(ValueError, match="refused must be in"):
        corrected_rate(5, 4, err)
    with pytest.raises(ValueError, match="level"):
        corrected_rate(1, 4, err, level=1.5)
    assert corrected_rate(0, 0, err) is None
    with pytest.raises(ValueError, match="held-out refusals and held-out compliance"):
        JudgeError(tp=0, fn=0, tn=5, fp=1)
    with pytest.raises(ValueError, match=">= 0"):
        JudgeError(tp=-1, fn=2, tn=5, fp=1)
    with pytest.raises(ValueError, match="invalid judge error"):
        JudgeError.from_mapping({"tp": 1})
