"""detectors.categorise: nearest labelled anchors with a 'none' threshold."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.categorise import NONE, NearestCategory


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


ANCHORS = np.stack([unit(1, 0, 0), unit(1, 0.2, 0), unit(0.9, 0, 0.3), unit(0, 1, 0),
                    unit(0, 0.95, 0.2)])
LABELS = ["harm", "harm", "harm", "benign", "benign"]


def test_majority_of_the_k_nearest_above_the_threshold() -> None:
    nc = NearestCategory(anchors=ANCHORS, labels=LABELS, k=3, threshold=0.5)
    got = nc.assign(np.stack([unit(1, 0.1, 0.05), unit(0.05, 1, 0.1), unit(0, 0, 1),
                              np.zeros(3, dtype=np.float32)]))
    assert got == ["harm", "benign", NONE, NONE]  # far from all; an empty text's zero vector
    assert nc.categories == ("benign", "harm", NONE)


def test_anchors_below_the_threshold_do_not_vote() -> None:
    # similarities: harm 0.57, 0.72, 0.54 (sum 1.83); benign 0.82, 0.81 (sum 1.63)
    x = unit(0.55, 0.8, 0)
    loose = NearestCategory(anchors=ANCHORS, labels=LABELS, k=5, threshold=0.0)
    strict = NearestCategory(anchors=ANCHORS, labels=LABELS, k=5, threshold=0.75)
    assert loose.assign(x[None])[0] == "harm"  # three harm votes outweigh two benign
    assert strict.assign(x[None])[0] == "benign"
    assert NearestCategory(anchors=ANCHORS, labels=LABELS, k=5, threshold=0.99).assign(
        x[None])[0] == NONE
    assert strict.similarities(x[None])[0] == pytest.approx(float(x @ ANCHORS[3]), abs=1e-6)
    # a tie of votes goes to the category of the most similar anchor
    tie = NearestCategory(anchors=np.stack([unit(1, 0), unit(0, 1)]), labels=["a", "b"], k=2,
                          threshold=0.0)
    assert tie.assign(np.stack([unit(1, 1), unit(1, 1.01)]))[1] == "b"


def test_bad_input_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="labels"):
        NearestCategory(anchors=ANCHORS, labels=LABELS[:2])
    with pytest.raises(ValueError, match="none"):
        NearestCategory(anchors=ANCHORS, labels=["none"] * 5)
    with pytest.raises(ValueError, match="threshold"):
        NearestCategory(anchors=ANCHORS, labels=LABELS, threshold=2)
    nc = NearestCategory(anchors=ANCHORS, labels=LABELS)
    with pytest.raises(ValueError, match="shape"):
        nc.assign(np.zeros((2, 4)))
    assert nc.assign(np.zeros((0, 3))) == []
