"""Tests for detectors.embeddings (real models, loaded once per module)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from detectors.embeddings import (
    DEFAULT_STATIC_CACHE,
    Embedder,
    MiniLMEmbedder,
    StaticEmbedder,
    load_embedder,
    minilm_model_dir,
)

TEXTS = [
    "How do I bake sourdough bread?",
    "What is a good recipe for a sourdough loaf?",
    "The stock market fell sharply on Tuesday.",
    "",
]


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm")


@pytest.fixture(scope="module")
def static() -> Embedder:
    # Builds the distilled model into the default cache on first use (~100 s on 2 cores).
    return load_embedder("static")


def test_model_dir_is_bundled() -> None:
    assert (minilm_model_dir() / "model.safetensors").is_file()


def test_minilm_shape_dtype_norm(minilm: Embedder) -> None:
    x = minilm.encode(TEXTS)
    assert isinstance(minilm, Embedder)
    assert (minilm.name, minilm.dim) == ("minilm", 384)
    assert x.shape == (4, 384) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x[:3], axis=1), 1.0, atol=1e-5)


def test_minilm_semantics(minilm: Embedder) -> None:
    x = minilm.encode(TEXTS[:3])
    assert x[0] @ x[1] > x[0] @ x[2] + 0.3  # paraphrases far closer than unrelated text


def test_minilm_deterministic_and_batch_invariant(minilm: Embedder) -> None:
    a = minilm.encode(TEXTS)
    b = minilm.encode(TEXTS)
    np.testing.assert_array_equal(a, b)
    single = np.vstack([minilm.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(a, single, atol=1e-5)


def test_empty_input_and_bad_input(minilm: Embedder) -> None:
    assert minilm.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="not a single string"):
        minilm.encode("just one string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 1"):
        minilm.encode(["ok", 3])  # type: ignore[list-item]


def test_load_embedder_caches_and_validates(minilm: Embedder) -> None:
    assert load_embedder("minilm") is minilm
    with pytest.raises(ValueError, match="unknown embedder kind"):
        load_embedder("bert")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        MiniLMEmbedder(batch_size=0)


@pytest.mark.slow
def test_static_embedder(static: Embedder) -> None:
    x = static.encode(TEXTS)
    assert static.name == "static" and x.shape == (4, static.dim) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x[:3], axis=1), 1.0, atol=1e-5)
    assert not x[3].any()  # empty text -> zero vector, not NaN
    assert x[0] @ x[1] > x[0] @ x[2]
    np.testing.assert_array_equal(static.encode(TEXTS), x)
    assert (DEFAULT_STATIC_CACHE.expanduser() / "tunewatch-static.json").is_file()


@pytest.mark.slow
def test_static_agrees_with_minilm_on_neighbours(minilm: Embedder, static: Embedder) -> None:
    texts = ["I can't help with that.", "Sorry, I cannot assist with this request.",
             "Here is the lasagna recipe.", "Layer pasta, sauce and cheese, then bake.",
             "The weather is sunny today.", "Expect clear skies and warm temperatures."]
    for emb in (minilm, static):
        x = emb.encode(texts)
        sims = x @ x.T
        np.fill_diagonal(sims, -1)
        assert list(sims.argmax(axis=1)) == [1, 0, 3, 2, 5, 4], emb.name


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def test_static_loads_from_a_prebuilt_dir_without_writing(static: Embedder,
                                                            tmp_path: Path) -> None:
    """The container image bakes the distilled model into a read-only layer: loading it must not
    write (root runs these tests, so the check is on the tree, not on permissions)."""
    baked = tmp_path / "baked" / "static-minilm"
    shutil.copytree(DEFAULT_STATIC_CACHE.expanduser(), baked)
    before = _tree(tmp_path)
    emb = StaticEmbedder(cache_dir=baked)
    np.testing.assert_allclose(emb.encode(TEXTS), static.encode(TEXTS), rtol=0, atol=1e-6)
    assert _tree(tmp_path) == before
