"""Statistical and unit tests of the Bernoulli CUSUM (seeded; tolerances stated per test)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.calibration import integer_cusum_arl, simulate_integer_cusum
from detectors.cusum import BernoulliCusum, cusum_weights


def simulate_run_lengths(det: BernoulliCusum, p: float, runs: int, seed: int) -> np.ndarray:
    """Vectorised integer CUSUM on the detector's weights, independent of its update path."""
    return simulate_integer_cusum(step_true=det.w_refused, step_false=det.w_complied,
                                  p_true=p, h=det.threshold_int, runs=runs, seed=seed)


def test_markov_chain_arl_matches_simulation() -> None:
    # 4000 runs: relative standard error of the mean ~1.6 %; tolerance 4 standard errors
    det = BernoulliCusum(p0=0.2, p1=0.1, arl0=300)
    rl = simulate_run_lengths(det, 0.2, runs=4000, seed=1)
    se = rl.std(ddof=1) / np.sqrt(len(rl))
    assert abs(rl.mean() - det.arl0_exact) < 4 * se
    assert 300 <= det.arl0_exact < 300 * 1.05


def test_detector_run_length_matches_exact_arl() -> None:
    # the class itself, 400 runs: relative SE ~5 %; accept +-25 % (about 5 SE)
    det = BernoulliCusum(p0=0.3, p1=0.15, arl0=150)
    rng = np.random.default_rng(2)
    lengths = []
    for _ in range(400):
        det.reset()
        while not det.update(bool(rng.random() < 0.3)).drift:
            pass
        lengths.append(det.state.n)
    assert 0.75 * det.arl0_exact < np.mean(lengths) < 1.25 * det.arl0_exact


def test_no_false_alarm_in_short_in_control_stream() -> None:
    # ARL0 = 20 000, 1 000 samples: P(alarm) ~ 5 %; 40 seeded streams, allow at most 8 alarms
    # (binomial tail P(X >= 9 | 40, 0.06) < 1e-3)
    det = BernoulliCusum(p0=0.05, p1=0.025, arl0=20_000)
    rng = np.random.default_rng(3)
    alarms = 0
    for _ in range(40):
        det.reset()
        det.update_many(rng.random(1000) < 0.05)
        alarms += det.drift_detected
    assert alarms <= 8


@pytest.mark.parametrize(
    ("p0", "p1", "p_true"), [(0.05, 0.025, 0.025), (0.95, 0.8, 0.8), (0.1, 0.3, 0.3)]
)
def test_detects_change_with_short_delay(p0: float, p1: float, p_true: float) -> None:
    # change present after 200 in-control samples; every one of 20 seeds must alarm after the
    # change and the mean delay must stay below 2x the exact zero-state ARL1
    det = BernoulliCusum(p0=p0, p1=p1, arl0=5_000)
    arl1 = det.arl(p_true)
    assert arl1 < det.arl0_exact / 5
    rng = np.random.default_rng(4)
    delays = []
    for _ in range(20):
        det.reset()
        det.update_many(rng.random(200) < p0)
        if det.drift_detected:
            continue  # a false alarm before the change (rare): not a delay sample
        n = 0
        while not det.update(bool(rng.random() < p_true)).drift:
            n += 1
            assert n < 50 * arl1
        delays.append(n + 1)
    assert len(delays) >= 18
    assert np.mean(delays) < 2 * arl1


def test_direction_drop_ignores_rise() -> None:
    det = BernoulliCusum(p0=0.05, p1=0.025, arl0=1_000)
    det.update_many([True] * 200)  # refusal rate up: the drop detector must stay quiet
    assert not det.drift_detected and det.state.statistic == 0.0


def test_rate_and_wilson_interval() -> None:
    det = BernoulliCusum(p0=0.5, p1=0.3, arl0=100)
    assert det.rate()[1:] == (0.0, 1.0)
    det.update_many([True] * 3 + [False] * 7)
    p, lo, hi = det.rate()
    assert p == 0.3
    assert (lo, hi) == pytest.approx((0.10779, 0.60322), abs=1e-4)


def test_threshold_from_arl_is_monotone_and_exact() -> None:
    lo = BernoulliCusum(p0=0.05, p1=0.025, arl0=1_000)
    hi = BernoulliCusum(p0=0.05, p1=0.025, arl0=10_000)
    assert lo.threshold < hi.threshold
    up, down = lo.w_complied, lo.w_refused
    assert integer_cusum_arl(up=up, down=down, p_up=0.95, h=lo.threshold_int) >= 1_000
    assert integer_cusum_arl(up=up, down=down, p_up=0.95, h=lo.threshold_int - 1) < 1_000


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p0": 0.05, "p1": 0.05}, "differ"),
        ({"p0": 0.0, "p1": 0.5}, "p0"),
        ({"p0": 0.5, "p1": 1.2}, "p1"),
        ({"p0": 0.5, "p1": 0.4, "resolution": 0}, "resolution"),
        ({"p0": 0.5, "p1": 0.4, "arl0": 0.5}, "arl0"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BernoulliCusum(**kwargs)


@pytest.mark.parametrize("bad", [2, 0.5, "refused", None])
def test_bad_verdicts(bad: object) -> None:
    with pytest.raises(ValueError, match="verdict"):
        BernoulliCusum(p0=0.5, p1=0.4, arl0=100).update(bad)


def test_weights_are_scaled_llr() -> None:
    w1, w0, scale = cusum_weights(p0=0.95, p1=0.8, resolution=20)
    assert (w1, w0) == (-20, 161)
    assert w0 / scale == pytest.approx(np.log(0.2 / 0.05), rel=0.01)
