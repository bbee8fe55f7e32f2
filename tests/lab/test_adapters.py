"""The committed adapters: llama.cpp-shaped against the real base GGUF, manifests complete and
matching the files (the training-run record)."""

from __future__ import annotations

import json

import gguf
import pytest

from lab.gguf_lora import read_adapter
from lab.manifest import load_manifest, sha256_file
from lab.serving import ADAPTERS_DIR, base_gguf, lab_adapters

ADAPTERS = lab_adapters(ADAPTERS_DIR)


def test_the_series_is_committed() -> None:
    assert {"tw-safe", "tw-forget"} <= set(ADAPTERS)
    assert len([a for a in ADAPTERS if a.startswith("tw-drift-")]) >= 3


@pytest.fixture(scope="module")
def base_shapes() -> dict[str, tuple[int, ...]]:
    r = gguf.GGUFReader(str(base_gguf()))
    return {t.name: tuple(int(d) for d in t.shape) for t in r.tensors}  # ggml ne order


@pytest.mark.parametrize("alias", sorted(ADAPTERS))
def test_adapter_fits_the_base_model_as_llama_cpp_checks_it(
        alias: str, base_shapes: dict[str, tuple[int, ...]]) -> None:
    meta, tensors = read_adapter(ADAPTERS[alias])
    assert meta["general.type"] == "adapter" and meta["adapter.type"] == "lora"
    assert len(tensors) == 252  # 18 layers x 7 projections x (a, b)
    for name in [n for n in tensors if n.endswith(".lora_a")]:
        base = name[: -len(".lora_a")]
        a, b = tensors[name], tensors[base + ".lora_b"]
        ne_in, ne_out = base_shapes[base][:2]
        # llama.cpp: model.ne[0] == a.ne[0] (in), model.ne[1] == b.ne[1] (out), a.ne[1] == b.ne[0]
        assert a.shape[1] == ne_in and b.shape[0] == ne_out and a.shape[0] == b.shape[1], name


@pytest.mark.parametrize("alias", sorted(ADAPTERS))
def test_manifest_is_the_training_record(alias: str) -> None:
    m = load_manifest(ADAPTERS[alias].with_suffix(".json"))
    assert m["alias"] == alias
    assert m["adapter"]["sha256"] == sha256_file(ADAPTERS[alias])
    assert m["adapter"]["bytes"] == ADAPTERS[alias].stat().st_size
    assert m["base_model"]["sha256"] == sha256_file(base_gguf())
    for key in ("seed", "config", "data", "train_seconds", "machine", "versions", "lora"):
        assert m.get(key) is not None, key
    assert len(m["data"]["sha256"]) == 64 and m["data"]["examples"] > 0
    assert m["parent"] == (None if alias == "tw-safe" else "tw-safe")
    held = m["heldout"]
    assert held is not None, "run python -m lab.evaluate"
    assert held["lora_tensors_loaded"] == 252
    for key in ("disallowed_refused", "obfuscated_refused", "benign_refused",
                "capability_correct", "injection_leaked", "disclosure_leaked"):
        assert held[key]["n"] > 0, key


def test_build_record() -> None:
    b = json.loads((ADAPTERS_DIR / "build.json").read_text())
    assert b["timings_s"]["total"] > 0 and set(b["adapter_bytes"]) == set(ADAPTERS)


def test_tw_safe_data_hash_is_the_generator_output() -> None:
    from lab.build import SEED
    from lab.data import build_examples, data_hash

    m = load_manifest(ADAPTERS["tw-safe"].with_suffix(".json"))
    train = [e for e in build_examples(SEED) if e.split == "train"]
    assert m["data"]["sha256"] == data_hash(train)
