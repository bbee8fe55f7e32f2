"""Assign a text a category: the nearest labelled anchors in embedding space, or ``none``.

The traffic refusal watch compares refusal rates per category (a change in the traffic mix is then
not a change in the model). A sampled prompt's category is decided by its ``k`` nearest labelled
anchors (the probe pool's units, embedded with the daemon's embedder), by cosine similarity:

* anchors with similarity below ``threshold`` do not vote; with none left the text is ``none``
  (ordinary traffic, far from every labelled unit);
* the remaining anchors vote with their similarity; the category with the largest total wins
  (ties: the category of the most similar anchor).

Embeddings must be L2-normalised rows (what :mod:`detectors.embeddings` returns), so the dot
product is the cosine similarity. An all-zero row (an empty text under the static embedder) is
``none``.

>>> import numpy as np
>>> anchors = np.array([[1.0, 0.0], [0.9, 0.436], [0.0, 1.0]])
>>> nc = NearestCategory(anchors=anchors, labels=["harm", "harm", "benign"], k=2, threshold=0.5)
>>> nc.assign(np.array([[0.98, 0.2], [0.1, 0.995], [-1.0, 0.0]]))
['harm', 'benign', 'none']
>>> nc.categories
('benign', 'harm', 'none')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NONE", "NearestCategory"]

NONE = "none"


class NearestCategory:
    """k-nearest labelled anchors with a similarity threshold (see the module docstring)."""

    def __init__(self, *, anchors: np.ndarray, labels: Sequence[str], k: int = 5,
                 threshold: float = 0.5) -> None:
        a = np.asarray(anchors, dtype=np.float32)
        if a.ndim != 2 or len(a) == 0:
            raise ValueError(f"anchors must be a non-empty 2-d array, got shape {a.shape}")
        if len(labels) != len(a):
            raise ValueError(f"{len(labels)} labels for {len(a)} anchors")
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
        if NONE in labels:
            raise ValueError(f"{NONE!r} is the label of texts near no anchor; rename that label")
        self._anchors = a
        names = sorted(set(labels))
        self._names = names
        self._index = np.array([names.index(x) for x in labels], dtype=np.int64)
        self.k = min(int(k), len(a))
        self.threshold = float(threshold)

    @property
    def categories(self) -> tuple[str, ...]:
        """Every label this assigner can return (the anchors' labels, then ``none``)."""
        return (*self._names, NONE)

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """Cosine similarity of each row to its nearest anchor."""
        e = self._check(embeddings)
        if len(e) == 0:
            return np.zeros(0, dtype=np.float32)
        return (e @ self._anchors.T).max(axis=1)  # type: ignore[no-any-return]

    def assign(self, embeddings: np.ndarray) -> list[str]:
        """One category (or ``none``) per row of ``embeddings``."""
        e = self._check(embeddings)
        if len(e) == 0:
            return []
        sims = e @ self._anchors.T
        top = np.argpartition(-sims, self.k - 1, axis=1)[:, : self.k]
        out: list[str] = []
        for row, idx in zip(sims, top, strict=True):
            s = row[idx]
            keep = s >= self.threshold
            if not keep.any() or not np.isfinite(s).all():
                out.append(NONE)
                continue
            votes = np.zeros(len(self._names))
            np.add.at(votes, self._index[idx[keep]], s[keep])
            best = np.flatnonzero(votes == votes.max())
            if len(best) > 1:
                nearest = idx[keep][np.argmax(s[keep])]
                out.append(self._names[int(self._index[nearest])])
            else:
                out.append(self._names[int(best[0])])
        return out

    def _check(self, embeddings: np.ndarray) -> np.ndarray:
        e = np.asarray(embeddings, dtype=np.float32)
        if e.ndim != 2 or e.shape[1] != self._anchors.shape[1]:
            raise ValueError(f"embeddings must have shape (n, {self._anchors.shape[1]}), "
                             f"got {e.shape}")
        return e
