"""Threshold calibration of the detectors, from a target run length without drift.

* :mod:`detectors.calibration.cusum` — exact average run length of the integer-weight Bernoulli
  CUSUM (a Markov chain), the threshold reaching a target ARL0, and a simulation to check it.
* :mod:`detectors.calibration.mmd` — the expected-run-time threshold of the online MMD test
  (simulated from the reference).
"""

from __future__ import annotations

from detectors.calibration.cusum import (
    integer_cusum_arl,
    integer_cusum_threshold,
    simulate_integer_cusum,
)
from detectors.calibration.mmd import mmd_threshold

__all__ = [
    "integer_cusum_arl",
    "integer_cusum_threshold",
    "mmd_threshold",
    "simulate_integer_cusum",
]
