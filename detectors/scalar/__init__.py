"""Univariate streaming drift on a scalar feature (lengths, latency, ...), one river detector per
module in the river style:

* :mod:`detectors.scalar.adwin` — :class:`AdwinDetector` (two-sided mean shift);
* :mod:`detectors.scalar.page_hinkley` — :class:`PageHinkleyDetector` (cumulative deviation, with
  a direction);
* :mod:`detectors.scalar.kswin` — :class:`KswinDetector` (any change of distribution);
* :mod:`detectors.scalar.river` — what they share (latching, replay, persistence, migration of
  states written by the former single ``ScalarDriftDetector``).
"""

from __future__ import annotations

from detectors.scalar.adwin import AdwinDetector
from detectors.scalar.kswin import KswinDetector
from detectors.scalar.page_hinkley import PageHinkleyDetector

__all__ = ["AdwinDetector", "KswinDetector", "PageHinkleyDetector"]
