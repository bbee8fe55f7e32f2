"""What the river-backed scalar detectors share (detectors/scalar/river.py), over all three
classes: detection, few false alarms, latching, the history bound, input checks, and the
migration of states written by the former single ``ScalarDriftDetector`` (seeded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detectors.base import IncompatibleStateError
from detectors.scalar import AdwinDetector, KswinDetector, PageHinkleyDetector
from detectors.scalar.river import RiverScalarDetector

DATA = Path(__file__).with_name("data")
MAKERS: dict[str, Any] = {
    "adwin": lambda seed=0: AdwinDetector(delta=0.002),
    "page_hinkley": lambda seed=0: PageHinkleyDetector(threshold=100.0),
    "kswin": lambda seed=0: KswinDetector(alpha=0.0001, window_size=100, stat_size=30, seed=seed),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_detects_mean_shift(name: str) -> None:
    # a 2-sd level shift at 500 must be detected within 150 samples, every one of 8 seeds
    for seed in range(8):
        rng = np.random.default_rng(seed)
        det = MAKERS[name](seed)
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
        det = MAKERS[name]()
        det.update_many(np.random.default_rng(50 + seed).normal(0, 1, 1000))
        streams_with_alarm += det.drift_detected
    assert streams_with_alarm <= 2


def test_latched_until_reset_and_alarm_count() -> None:
    rng = np.random.default_rng(8)
    det = AdwinDetector()
    det.update_many(np.concatenate([rng.normal(0, 1, 300), rng.normal(4, 1, 300)]))
    assert det.drift_detected and det.alarms >= 1
    det.update_many(rng.normal(4, 1, 300))  # river restarted; our flag stays latched
    assert det.drift_detected
    det.reset()
    assert not det.drift_detected and det.state.n == 0 and det.alarms == 0


def test_history_bound_marks_inexact_state() -> None:
    det = PageHinkleyDetector(max_history=50)
    det.update_many(np.arange(80, dtype=float) % 7)
    d = json.loads(json.dumps(det.state_dict()))
    assert d["exact"] is False and len(d["history"]) == 50 and d["n"] == 80
    again = PageHinkleyDetector(max_history=50)
    again.load_state(d)
    assert again.state.n == 80


@pytest.mark.parametrize("cls", [AdwinDetector, PageHinkleyDetector, KswinDetector])
def test_bad_history_bound(cls: type[RiverScalarDetector]) -> None:
    with pytest.raises(ValueError, match="max_history"):
        cls(max_history=0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x", None])
def test_bad_observations(bad: object) -> None:
    det = AdwinDetector()
    with pytest.raises(ValueError):
        det.update(bad)
    assert det.state.n == 0


def test_a_failed_load_leaves_the_detector_as_it_was() -> None:
    det = PageHinkleyDetector()
    det.update_many([1.0, 2.0, 3.0])
    good = det.state_dict()
    with pytest.raises(IncompatibleStateError, match="inconsistent"):
        det.load_state({**good, "n": 99})
    assert det.state.n == 3 and det.state_dict() == good


# States written by the former single class (``ScalarDriftDetector(method=...)``, kind
# ``scalar_river``), captured from it before the split: each is the state after ``prefix``, and
# ``after`` the state it reached once fed ``suffix`` too. The migrated detector must continue
# exactly as the old one did.
LEGACY = {
    "adwin": (AdwinDetector, {}),
    "page_hinkley": (PageHinkleyDetector, {"threshold": 20.0}),
    "kswin": (KswinDetector, {"window_size": 60, "stat_size": 20, "seed": 3}),
}


@pytest.mark.parametrize("method", list(LEGACY))
def test_legacy_states_are_migrated(method: str) -> None:
    cls, kwargs = LEGACY[method]
    case = json.loads((DATA / f"legacy-{method}.json").read_text())
    det = cls(**kwargs)
    det.load_state(case["state"])
    assert det.state.n == case["state"]["n"]
    assert det.alarms == case["state"]["alarms"]
    final = det.update_many(case["suffix"])
    assert (final.drift, final.n) == (case["after"]["drift"], case["after"]["n"])
    assert det.alarms == case["after"]["alarms"]
    assert final.statistic == pytest.approx(case["after"]["statistic"], rel=1e-12, abs=1e-12)
    # written back in the new format
    assert det.state_dict()["kind"] == cls.KIND


def test_legacy_state_of_another_method_or_config_is_refused() -> None:
    case = json.loads((DATA / "legacy-adwin.json").read_text())
    with pytest.raises(IncompatibleStateError, match="method 'adwin'"):
        PageHinkleyDetector().load_state(case["state"])
    with pytest.raises(IncompatibleStateError, match="delta"):
        AdwinDetector(delta=0.01).load_state(case["state"])
