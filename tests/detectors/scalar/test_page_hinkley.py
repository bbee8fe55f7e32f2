"""detectors/scalar/page_hinkley.py: direction, threshold semantics, parameter checks."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.scalar import PageHinkleyDetector


def test_direction() -> None:
    rng = np.random.default_rng(7)
    data = np.concatenate([rng.normal(10, 1, 300), rng.normal(6, 1, 300)])  # level drops
    up = PageHinkleyDetector(threshold=50.0, direction="up")
    down = PageHinkleyDetector(threshold=50.0, direction="down")
    up.update_many(data)
    down.update_many(data)
    assert not up.drift_detected and down.drift_detected


def test_threshold_is_rivers_in_feature_units() -> None:
    ph = PageHinkleyDetector(threshold=12.5)
    assert ph.state.threshold == 12.5 and ph.state.statistic == 0.0


def test_bad_direction() -> None:
    with pytest.raises(ValueError, match="direction"):
        PageHinkleyDetector(direction="sideways")
