"""Statistical and unit tests of the online MMD embedding-drift detector (seeded, small dims)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detectors.base import IncompatibleStateError
from detectors.mmd import EmbeddingDriftDetector


def sphere(rng: np.random.Generator, n: int, d: int = 6, shift: float = 0.0) -> np.ndarray:
    z = rng.normal(size=(n, d))
    z[:, 0] += shift
    return z / np.linalg.norm(z, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def ref() -> np.ndarray:
    return sphere(np.random.default_rng(0), 300)


@pytest.fixture(scope="module")
def det(ref: np.ndarray) -> EmbeddingDriftDetector:
    return EmbeddingDriftDetector(reference=ref, reference_id="r0", window=25, ert=400, seed=1)


def test_measured_ert_within_factor_three(det: EmbeddingDriftDetector) -> None:
    # alibi-detect style check: ert/3 < mean run length < 3*ert over 60 seeded streams
    # (relative SE of the mean ~13 %, so the factor-3 band is > 6 SE wide on either side)
    rng = np.random.default_rng(2)
    lengths = []
    for _ in range(60):
        det.reset()
        while det.alarm_at is None and det.state.n < 20 * det.ert:
            det.update_many(sphere(rng, 100))
        lengths.append(det.alarm_at or 20 * det.ert)
    assert det.ert / 3 < np.mean(lengths) < 3 * det.ert


def test_no_alarm_before_window_full(det: EmbeddingDriftDetector) -> None:
    det.reset()
    far = sphere(np.random.default_rng(3), det.window - 1, shift=5.0)
    state = det.update_many(far)
    assert not state.drift and state.statistic > det.threshold
    assert det.update(far[0]).drift


def test_detects_topic_shift_quickly(det: EmbeddingDriftDetector) -> None:
    # a shifted distribution must be detected within 2 windows after the change, all 10 seeds
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        det.reset()
        det.update_many(sphere(rng, 100))
        if det.drift_detected:
            continue
        det.update_many(sphere(rng, 2 * det.window, shift=1.5))
        assert det.drift_detected, seed
        assert det.alarm_at is not None and det.alarm_at <= 100 + 2 * det.window


def test_update_many_equals_updates(det: EmbeddingDriftDetector, ref: np.ndarray) -> None:
    xs = sphere(np.random.default_rng(4), 90, shift=0.5)
    det.reset()
    many = det.update_many(xs)
    one = EmbeddingDriftDetector(
        reference=ref, reference_id="r0", window=25, ert=400, threshold=det.threshold
    )
    for x in xs:
        single = one.update(x)
    assert (many.n, many.drift) == (single.n, single.drift)
    assert many.statistic == pytest.approx(single.statistic, abs=1e-12)
    assert det.alarm_at == one.alarm_at


def test_statistic_matches_direct_formula(det: EmbeddingDriftDetector, ref: np.ndarray) -> None:
    xs = sphere(np.random.default_rng(5), 60)
    det.reset()
    stat = det.update_many(xs).statistic
    w = xs[-det.window :].astype(np.float32).astype(np.float64)
    g = 1.0 / (2 * det.bandwidth**2)

    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-g * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    kww, kwr, krr = k(w, w), k(w, ref), k(ref, ref)
    m, n = len(w), len(ref)
    direct = (
        (kww.sum() - np.trace(kww)) / (m * (m - 1))
        - 2 * kwr.mean()
        + (krr.sum() - np.trace(krr)) / (n * (n - 1))
    )
    assert stat == pytest.approx(direct, abs=1e-9)


def test_calibration_is_seeded_and_cached(det: EmbeddingDriftDetector, ref: np.ndarray) -> None:
    again = EmbeddingDriftDetector(reference=ref, reference_id="r0", window=25, ert=400, seed=1)
    assert again.threshold == det.threshold
    longer = EmbeddingDriftDetector(reference=ref, reference_id="r0", window=25, ert=4000, seed=1)
    assert longer.threshold > det.threshold
    det.reset()
    det.update_many(sphere(np.random.default_rng(6), 40))
    d = json.loads(json.dumps(det.state_dict()))
    rebuilt = EmbeddingDriftDetector.from_state(d, reference=ref)
    assert rebuilt.threshold == det.threshold and rebuilt.state == det.state


def test_load_state_refuses_other_reference(det: EmbeddingDriftDetector, ref: np.ndarray) -> None:
    d = det.state_dict()
    other = ref.copy()
    other[0, 0] += 1e-3
    with pytest.raises(IncompatibleStateError, match="reference"):
        EmbeddingDriftDetector.from_state(d, reference=other)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reference": np.zeros((10, 3))}, "reference"),
        ({"reference": np.zeros(30)}, "reference"),
        ({"window": 1}, "window"),
        ({"ert": 20}, "ert"),
    ],
)
def test_bad_construction(ref: np.ndarray, kwargs: dict, match: str) -> None:
    params = {"reference": ref, "reference_id": "r", "window": 25, "ert": 400, **kwargs}
    with pytest.raises(ValueError, match=match):
        EmbeddingDriftDetector(**params)


def test_bad_inputs(det: EmbeddingDriftDetector) -> None:
    with pytest.raises(ValueError, match="shape"):
        det.update(np.zeros(5))
    with pytest.raises(ValueError, match="shape"):
        det.update_many(np.zeros((3, 7)))
    with pytest.raises(ValueError, match="finite"):
        det.update(np.full(6, np.nan))
