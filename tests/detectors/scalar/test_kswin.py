"""detectors/scalar/kswin.py: statistic and threshold semantics."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.scalar import KswinDetector


def test_threshold_is_one_minus_alpha() -> None:
    assert KswinDetector(alpha=0.01).state.threshold == pytest.approx(0.99)


def test_statistic_crosses_the_threshold_at_the_alarm() -> None:
    # statistic = 1 - the KS p-value: the alarm is raised where it exceeds 1 - alpha (8 seeds)
    for seed in range(8):
        rng = np.random.default_rng(seed)
        det = KswinDetector(alpha=0.0001, seed=seed)
        det.update_many(rng.normal(0, 1, 300))
        assert not det.drift_detected and det.state.statistic < det.state.threshold
        alarm = next(s for s in map(det.update, rng.normal(3, 1, 200)) if s.drift)
        assert alarm.statistic > alarm.threshold == pytest.approx(0.9999)
