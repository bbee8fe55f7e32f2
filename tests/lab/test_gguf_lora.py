"""GGUF LoRA writing: llama.cpp names, orientation checks, metadata round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lab.gguf_lora import AdapterError, check_shapes, read_adapter, to_gguf_tensors, write_adapter


def _state(rank: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    p = "base_model.model.model.layers.0."
    return {p + "self_attn.q_proj.lora_A.weight": rng.normal(size=(rank, 8)).astype(np.float32),
            p + "self_attn.q_proj.lora_B.weight": rng.normal(size=(4, rank)).astype(np.float32),
            p + "mlp.down_proj.lora_A.weight": rng.normal(size=(rank, 6)).astype(np.float32),
            p + "mlp.down_proj.lora_B.weight": rng.normal(size=(8, rank)).astype(np.float32)}


SHAPES = {"blk.0.attn_q.weight": (4, 8), "blk.0.ffn_down.weight": (8, 6)}


def test_round_trip(tmp_path: Path) -> None:
    tensors = to_gguf_tensors(_state())
    check_shapes(tensors, SHAPES, 2)
    size = write_adapter(tmp_path / "a.gguf", tensors, alpha=4.0, name="t")
    meta, back = read_adapter(tmp_path / "a.gguf")
    assert size == (tmp_path / "a.gguf").stat().st_size
    assert meta == {"general.type": "adapter", "adapter.type": "lora", "general.name": "t",
                    "adapter.lora.alpha": 4.0}
    assert sorted(back) == sorted(tensors)
    for name, arr in tensors.items():
        assert back[name].dtype == np.float16 and back[name].shape == arr.shape
        np.testing.assert_array_equal(back[name], arr)


def test_transposed_or_mismatched_pairs_are_refused() -> None:
    tensors = to_gguf_tensors(_state())
    tensors["blk.0.attn_q.weight.lora_a"] = tensors["blk.0.attn_q.weight.lora_a"].T.copy()
    with pytest.raises(AdapterError, match="attn_q"):
        check_shapes(tensors, SHAPES, 2)
    with pytest.raises(AdapterError, match="not a LoRA tensor"):
        to_gguf_tensors({"model.layers.0.input_layernorm.weight": np.zeros(3)})
