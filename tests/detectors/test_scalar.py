"""Statistical and unit tests of the river-backed scalar drift detector (seeded)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detectors.scalar import ScalarDriftDetector

METHODS = {
    "adwin": {"method": "adwin", "delta": 0.002},
    "page_hinkley": {"method": "page_hinkley", "threshold": 100.0},
    "kswin": {"method": "kswin", "alpha": 0.0001, "window_size": 100, "stat_size": 30},
}


@pytest.mark.parametrize("name", list(METHODS))
def test_detects_mean_shift(name: str) -> None:
    # a 2-sd level shift at 500 must be detected within 150 samples, every one of 8 seeds
    for seed in range(8):
        rng = np.random.default_rng(seed)
        det = ScalarDriftDetector(seed=seed, **METHODS[name])
        det.update_many(rng.normal(0, 1, 500))
        pre = det.alarms
        for x in rng.normal(2, 1, 150):
            if det.update(x) and det.alarms > pre:
                break
        assert det.alarms > pre, (name, seed)


@pytest.mark.parametrize("name", ["adwin", "page_hinkley"])
def test_few_false_alarms_without_change(name: str) -> None:
    # 10 seeded N(0,1) streams of 1 000: at most 2 of them may raise any alarm
    streams_with_alarm = 0
    for seed in range(10):
        det = ScalarDriftDetector(**METHODS[name])
        det.update_many(np.random.default_rng(50 + seed).normal(0, 1, 1000))
        streams_with_alarm += det.drift_detected
    assert streams_with_alarm <= 2


def test_page_hinkley_direction() -> None:
    rng = np.random.default_rng(7)
    data = np.concatenate([rng.normal(10, 1, 300), rng.normal(6, 1, 300)])  # level drops
    up = ScalarDriftDetector(method="page_hinkley", threshold=50.0, direction="up")
    down = ScalarDriftDetector(method="page_hinkley", threshold=50.0, direction="down")
    up.update_many(data)
    down.update_many(data)
    assert not up.drift_detected and down.drift_detected


def test_latched_until_reset_and_alarm_count() -> None:
    rng = np.random.default_rng(8)
    det = ScalarDriftDetector(method="adwin")
    det.update_many(np.concatenate([rng.normal(0, 1, 300), rng.normal(4, 1, 300)]))
    assert det.drift_detected and det.alarms >= 1
    det.update_many(rng.normal(4, 1, 300))  # river restarted; our flag stays latched
    assert det.drift_detected
    det.reset()
    assert not det.drift_detected and det.state.n == 0 and det.alarms == 0


def test_history_bound_marks_inexact_state() -> None:
    det = ScalarDriftDetector(method="page_hinkley", max_history=50)
    det.update_many(np.arange(80, dtype=float) % 7)
    d = json.loads(json.dumps(det.state_dict()))
    assert d["exact"] is False and len(d["history"]) == 50 and d["n"] == 80
    again = ScalarDriftDetector(method="page_hinkley", max_history=50)
    again.load_state(d)
    assert again.state.n == 80


def test_statistic_and_threshold_semantics() -> None:
    det = ScalarDriftDetector(method="kswin", alpha=0.01)
    assert det.state.threshold == pytest.approx(0.99)
    ph = ScalarDriftDetector(method="page_hinkley", threshold=12.5)
    assert ph.state.threshold == 12.5
    assert np.isnan(ScalarDriftDetector(method="adwin").state.threshold)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"method": "cusum"}, "method"), ({"direction": "sideways"}, "direction"),
     ({"max_history": 0}, "max_history")],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ScalarDriftDetector(**kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x", None])
def test_bad_observations(bad: object) -> None:
    with pytest.raises(ValueError):
        ScalarDriftDetector().update(bad)
