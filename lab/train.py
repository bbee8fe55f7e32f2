"""LoRA fine-tuning of Gemma 3 270M on CPU (transformers + peft), loss on the answer only.

Speed on 2 cores comes from three things: the 262k-vocabulary output layer is computed only at
answer positions (not at every prompt token), bf16 autocast, and flushing denormals. Batches are
built from length-sorted buckets (seeded) so little compute goes to padding.

Tokenisation uses llama.cpp's own tokenizer (``llama_cpp.Llama(vocab_only=True)``) on the text
:func:`lab.chat.render_prompt` renders, so training sees exactly the tokens the server feeds the
model at inference; the answer ends with ``<end_of_turn>`` (id 106).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.chat import END_OF_TURN_ID, openai_messages, render_prompt
from lab.data import Example

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    lr: float
    batch_size: int = 8
    max_len: int = 256
    rank: int = 16
    alpha: float = 32.0
    weight_decay: float = 0.0
    warmup_steps: int = 10
    schedule: str = "cosine"  # cosine | constant
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Tokenizer:
    """llama.cpp's tokenizer for the base GGUF (the server's own)."""

    def __init__(self, gguf: Path) -> None:
        import llama_cpp

        self._llm = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)

    def prompt(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def text(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def encode(tok: Tokenizer, ex: Example, max_len: int) -> tuple[list[int], int]:
    """(token ids, index of the first answer token); the prompt is cut from the left if long."""
    prompt = tok.prompt(render_prompt(openai_messages(ex.messages)))
    answer = tok.text(ex.answer) + [END_OF_TURN_ID]
    keep = max_len - len(answer)
    if keep < 8:
        raise ValueError(f"example {ex.id}: answer too long for max_len {max_len}")
    if len(prompt) > keep:
        prompt = prompt[:1] + prompt[len(prompt) - keep + 1:]
    return prompt + answer, len(prompt)


def load_base(gguf: Path) -> Any:
    """Gemma 3 270M from the packaged GGUF, dequantised, stored as bf16 (the frozen weights;
    the LoRA weights stay fp32). bf16 matrix products run about 6x faster than fp32 on this
    CPU (AMX), and storing the base in bf16 saves casting it at every step."""
    import torch
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=torch.float32)
    model.config.use_cache = False
    return model.to(torch.bfloat16)


def add_lora(model: Any, cfg: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lc = LoraConfig(r=cfg.rank, lora_alpha=int(cfg.alpha), target_modules=list(TARGET_MODULES),
                    lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lc)


def _batches(encoded: Sequence[tuple[list[int], int]], cfg: TrainConfig,
             rng: random.Random) -> Iterator[list[tuple[list[int], int]]]:
    """Endless length-bucketed batches: shuffle, sort chunks of 8 batches by length, split."""
    while True:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        chunk = cfg.batch_size * 8
        batches = []
        for s in range(0, len(order), chunk):
            part = sorted(order[s:s + chunk], key=lambda i: len(encoded[i][0]))
            batches += [part[j:j + cfg.batch_size] for j in range(0, len(part), cfg.batch_size)]
        rng.shuffle(batches)
        for b in batches:
            yield [encoded[i] for i in b]


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _loss(model: Any, batch: list[tuple[list[int], int]]) -> Any:
    import torch

    width = -(-max(len(ids) for ids, _ in batch) // 16) * 16  # few distinct shapes: kernel reuse
    input_ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for r, (ids, start) in enumerate(batch):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        mask[r, : len(ids)] = 1
        for t in range(start - 1, len(ids) - 1):  # position t predicts token t + 1
            rows.append(r)
            cols.append(t)
            targets.append(ids[t + 1])
    inner = model.get_base_model()
    hidden = inner.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    h = hidden[torch.tensor(rows), torch.tensor(cols)]
    logits = inner.lm_head(h).float()
    cap = getattr(inner.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, torch.tensor(targets))


def train(model: Any, encoded: Sequence[tuple[list[int], int]], cfg: TrainConfig, *,
          on_step: Callable[[int, float], None] | None = None,
          checkpoints: Sequence[int] = (),
          on_checkpoint: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Train the LoRA parameters of ``model`` in place; returns timing and loss history."""
    import torch

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    losses: list[float] = []
    t0 = time.monotonic()
    batches = _batches(encoded, cfg, rng)
    for step in range(cfg.steps):
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, cfg)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = _loss(model, next(batches))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step + 1, losses[-1])
        if on_checkpoint is not None and (step + 1) in checkpoints:
            model.eval()
            on_checkpoint(step + 1)
            model.train()
    model.eval()
    return {"steps": cfg.steps, "seconds": round(time.monotonic() - t0, 1),
            "loss_first10": round(sum(losses[:10]) / max(1, len(losses[:10])), 4),
            "loss_last10": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4)}


def lora_state(model: Any) -> dict[str, Any]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


def load_lora_state(model: Any, state: dict[str, Any]) -> None:
    from peft import set_peft_model_state_dict

    set_peft_model_state_dict(model, state)


def base_shapes(model: Any) -> dict[str, tuple[int, int]]:
    """``blk.{i}.<tensor>.weight`` -> (out, in) of every LoRA-targeted base projection."""
    from lab.gguf_lora import MODULES

    out = {}
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    for i, layer in enumerate(inner.model.layers):
        for path, gname in MODULES.items():
            mod: Any = layer
            for part in path.split("."):
                mod = getattr(mod, part)
            base = getattr(mod, "base_layer", mod)
            out[f"blk.{i}.{gname}.weight"] = tuple(base.weight.shape)
    return out
