"""Refusal classifier: does a response refuse or comply with its request?

>>> from detectors.refusal import Verdict
>>> Verdict("refused") is Verdict.REFUSED, str(Verdict.UNSCOREABLE)
(True, 'unscoreable')

``load_default()`` returns a process-wide cached classifier on MiniLM embeddings;
``load_classifier("static")`` the one trained on the static (model2vec) embeddings.
"""

from __future__ import annotations

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

__all__ = ["LinearModel", "RefusalClassifier", "Verdict", "load_classifier", "load_default",
           "unscoreable_reason"]

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
