"""Tests for detectors.embeddings (real models, loaded once per module)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.embeddings import (
    DEFAULT_STATIC_CACHE,
    Embedder,
    MiniLMEmbedder,
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
