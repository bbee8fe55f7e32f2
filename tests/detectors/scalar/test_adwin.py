"""detectors/scalar/adwin.py: the level-shift statistic and the undefined threshold."""

from __future__ import annotations

import math

import numpy as np

from detectors.scalar import AdwinDetector


def test_threshold_is_undefined_and_statistic_reads_the_level_shift() -> None:
    det = AdwinDetector()
    assert math.isnan(det.state.threshold) and det.state.statistic == 0.0
    rng = np.random.default_rng(2)
    det.update_many(rng.normal(5.0, 0.5, 400))
    assert det.state.statistic < 0.3  # no shift: the window mean stays near the first samples
    det.update_many(rng.normal(8.0, 0.5, 400))
    assert det.drift_detected and 2.0 < det.state.statistic < 4.0  # shifted by 3


def test_grace_sum_survives_a_round_trip() -> None:
    det = AdwinDetector(grace=10)
    det.update_many([1.0] * 5 + [2.0] * 10)
    again = AdwinDetector(grace=10)
    again.load_state(det.state_dict())
    assert again.state_dict() == det.state_dict()
    assert again.state.statistic == det.state.statistic
