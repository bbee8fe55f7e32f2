"""monitor/analysis/calibration.py: MMD thresholds calibrated in a child process equal the inline
ones, saved thresholds are reused, and a failing child falls back to inline calibration."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.mmd import EmbeddingDriftDetector
from monitor.analysis.calibration import Calibrator, Job, calibrate, saved_threshold


def reference(seed: int, n: int = 240, d: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def test_a_child_process_computes_the_inline_threshold_and_reuses_saved_ones() -> None:
    jobs = [Job(reference(1), window=40, ert=2000), Job(reference(2), window=40, ert=2000)]
    cal = Calibrator("subprocess", timeout_s=120)
    got = cal.thresholds(jobs, [None, None])
    assert cal.subprocess_runs == 1 and cal.fallbacks == 0
    assert got == [calibrate(jobs[0]), calibrate(jobs[1])]  # seeded: the same number
    det = EmbeddingDriftDetector(reference=jobs[0].reference, reference_id="r", window=40,
                                 ert=2000, threshold=got[0])
    # a restart: both states saved, nothing is simulated again
    again = Calibrator("subprocess").thresholds(jobs[:1], [det.state_dict()])
    assert again == [got[0]]


def test_a_saved_state_counts_only_for_the_same_reference_window_and_ert() -> None:
    ref = reference(3)
    det = EmbeddingDriftDetector(reference=ref, reference_id="r", window=40, ert=2000)
    state = det.state_dict()
    assert saved_threshold(state, Job(ref, window=40, ert=2000)) == det.threshold
    assert saved_threshold(state, Job(ref, window=50, ert=2000)) is None
    assert saved_threshold(state, Job(ref, window=40, ert=3000)) is None
    assert saved_threshold(state, Job(reference(4), window=40, ert=2000)) is None
    assert saved_threshold(None, Job(ref, window=40, ert=2000)) is None
    assert saved_threshold({"config": {"threshold": "x"}}, Job(ref, window=40, ert=2000)) is None


def test_a_failing_child_falls_back_to_inline_calibration(caplog) -> None:
    too_small = Job(reference(5, n=50), window=40, ert=2000)  # the child raises ValueError
    cal = Calibrator("subprocess", timeout_s=120)
    with caplog.at_level("WARNING", logger="tunewatch.calibration"):
        assert cal.thresholds([too_small], [None]) == [None]
    assert cal.fallbacks == 1 and "calibrating inline" in caplog.text


def test_inline_mode_starts_no_child_and_bad_modes_are_refused() -> None:
    cal = Calibrator("inline")
    assert cal.thresholds([Job(reference(6), window=40, ert=2000)], [None]) == [None]
    assert cal.subprocess_runs == 0
    with pytest.raises(ValueError, match="subprocess or inline"):
        Calibrator("thread")  # type: ignore[arg-type]
