"""Refusal classifier: does a response refuse or comply with its request?

>>> from detectors.refusal import Verdict
>>> Verdict("refused") is Verdict.REFUSED, str(Verdict.UNSCOREABLE)
(True, 'unscoreable')

``load_default()`` returns a process-wide cached classifier on MiniLM embeddings;
``load_classifier("static")`` the one trained on the static (model2vec) embeddings.
``judge_error(kind)`` is the shipped judge's error measured on human-labelled data we did not write
(for :func:`detectors.refusal.rates.corrected_rate`); ``fingerprint(kind)`` names its weights.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from detectors.embeddings import EmbedderKind, load_embedder
from detectors.refusal.classifier import (
    LinearModel,
    RefusalClassifier,
    Verdict,
    load_model,
    unscoreable_reason,
)
from detectors.refusal.rates import JudgeError

__all__ = ["JudgeError", "LinearModel", "RefusalClassifier", "Verdict", "fingerprint",
           "judge_error", "load_classifier", "load_default", "unscoreable_reason"]

_CACHE: dict[tuple[str, str, str], RefusalClassifier] = {}
_LOCK = threading.Lock()


def load_classifier(
    kind: EmbedderKind = "minilm", *, cache_dir: Path | None = None, device: str = "cpu"
) -> RefusalClassifier:
    """The shipped classifier for embedder ``kind``, loaded once per process (``device`` as in
    :func:`detectors.embeddings.load_embedder`)."""
    key = (kind, str(cache_dir or ""), device)
    with _LOCK:
        clf = _CACHE.get(key)
        if clf is None:
            clf = RefusalClassifier(embedder=load_embedder(kind, cache_dir=cache_dir,
                                                           device=device),
                                    model=load_model(kind))
            _CACHE[key] = clf
    return clf


def load_default() -> RefusalClassifier:
    """The default (MiniLM) refusal classifier, cached per process."""
    return load_classifier("minilm")


def judge_error(kind: EmbedderKind = "minilm") -> JudgeError | None:
    """The held-out error counts in the shipped card of ``kind`` (``None`` when not measured)."""
    meta = load_model(kind).meta.get("judge_error")
    return JudgeError.from_mapping(meta) if isinstance(meta, dict) else None


def fingerprint(kind: EmbedderKind = "minilm") -> str:
    """A short digest of the shipped weights of ``kind`` (embedder, coefficients, intercept,
    threshold; not the card's notes), for caches of verdicts that a new judge invalidates."""
    m = load_model(kind)
    h = hashlib.sha256(f"{m.embedder}|{m.intercept!r}|{m.threshold!r}|".encode())
    h.update(m.coef.astype("<f8").tobytes())
    return h.hexdigest()[:16]
