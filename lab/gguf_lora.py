"""Write a peft LoRA as a GGUF LoRA adapter that llama.cpp loads (``--lora_path``).

Naming and orientation as llama.cpp's ``convert_lora_to_gguf.py`` produces them: for the base
tensor ``blk.{i}.attn_q.weight`` the adapter holds ``blk.{i}.attn_q.weight.lora_a`` (peft's
``lora_A``, rows = rank, columns = input features) and ``...lora_b`` (peft's ``lora_B``, rows =
output features, columns = rank), as f16. GGUF stores the numpy shape reversed, so llama.cpp sees
``a.ne = [in, rank]`` and ``b.ne = [rank, out]``, which is what its loader checks against the
base tensor (``ne = [in, out]``); a transposed pair is only logged ("incorrect shape") and the
first generation then crashes, so :func:`check_shapes` verifies the pairs before writing.
Metadata: ``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha`` (llama.cpp
scales by ``alpha / rank``, as peft does).

>>> hf_to_gguf_name("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight")
('blk.3.attn_q.weight.lora_a', 'a')
>>> hf_to_gguf_name("base_model.model.model.layers.17.mlp.down_proj.lora_B.default.weight")
('blk.17.ffn_down.weight.lora_b', 'b')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_NAME = re.compile(r"layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)"
                   r"\.lora_([AB])(?:\.default)?\.weight$")


class AdapterError(ValueError):
    pass


def hf_to_gguf_name(name: str) -> tuple[str, str]:
    """peft state-dict key -> (llama.cpp tensor name, ``a`` or ``b``)."""
    m = _NAME.search(name)
    if m is None:
        raise AdapterError(f"not a LoRA tensor of a supported projection: {name}")
    layer, module, ab = m.groups()
    return f"blk.{layer}.{MODULES[module]}.weight.lora_{ab.lower()}", ab.lower()


def to_gguf_tensors(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """peft ``get_peft_model_state_dict`` output -> ``{gguf name: f16 array}``."""
    out: dict[str, np.ndarray] = {}
    for key, tensor in state.items():
        name, _ = hf_to_gguf_name(key)
        arr = tensor.detach().to("cpu").float().numpy() if hasattr(tensor, "detach") else (
            np.asarray(tensor, dtype=np.float32))
        out[name] = np.ascontiguousarray(arr.astype(np.float16))
    return out


def check_shapes(tensors: Mapping[str, np.ndarray], base_shapes: Mapping[str, tuple[int, int]],
                 rank: int) -> None:
    """Every pair matches its base tensor ``(out, in)`` the way llama.cpp's loader checks it."""
    problems = []
    pairs = {n[: -len(".lora_a")] for n in tensors}
    for base in sorted(pairs):
        a, b = tensors.get(base + ".lora_a"), tensors.get(base + ".lora_b")
        if a is None or b is None:
            problems.append(f"{base}: needs both lora_a and lora_b")
            continue
        out_f, in_f = base_shapes[base]
        if a.shape != (rank, in_f) or b.shape != (out_f, rank):
            problems.append(f"{base}: a{a.shape} b{b.shape}, want a({rank}, {in_f}) "
                            f"b({out_f}, {rank})")
    if problems:
        raise AdapterError("LoRA tensors do not fit the base model:\n" + "\n".join(problems))


def write_adapter(path: Path, tensors: Mapping[str, np.ndarray], *, alpha: float, name: str,
                  architecture: str = "gemma3") -> int:
    """Write the GGUF adapter; returns its size in bytes."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    w = gguf.GGUFWriter(str(tmp), arch=architecture)
    w.add_string("general.type", "adapter")
    w.add_string("general.name", name)
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    for tname in sorted(tensors):
        w.add_tensor(tname, tensors[tname])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path.stat().st_size


def read_adapter(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, tensors as numpy in GGUF's stored orientation) of an adapter file."""
    import gguf

    r = gguf.GGUFReader(str(path))
    meta: dict[str, Any] = {}
    for key in ("general.type", "adapter.type", "general.name", "adapter.lora.alpha"):
        field = r.fields.get(key)
        if field is not None:
            value = field.parts[field.data[0]]
            meta[key] = (bytes(value).decode() if value.dtype == np.uint8 else float(value[0]))
    tensors = {t.name: np.asarray(t.data).reshape([int(d) for d in reversed(t.shape)])
               for t in r.tensors}
    return meta, tensors
