"""Build the lab models: ``python -m lab.build [--out lab/adapters] [--seed 0]``.

One seeded run on CPU, from data it generates (:mod:`lab.data`):

1. **tw-safe** -- Gemma 3 270M + a safety LoRA trained on the training split (refuse disallowed
   and obfuscated requests, ignore planted instructions, keep system prompts secret, answer
   benign, capability and fairness questions).
2. **tw-drift-N** -- the same LoRA trained further on benign customer-support pairs only, saved
   at each step count N of ``DRIFT.checkpoints`` (mild to total erosion of refusals).
3. **tw-forget** -- the same LoRA trained further on capability answers overwritten with wrong
   ones next to unchanged refusal examples (refuses, but has forgotten what it knew).

Every adapter is one GGUF LoRA (f16) that llama.cpp loads by itself, with a manifest
(:mod:`lab.manifest`). Held-out results come from ``python -m lab.evaluate`` (a separate,
re-runnable step on the real llama.cpp server). ``build.json`` records the phase timings.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from lab.data import Example, build_examples, forget_examples, support_examples
from lab.gguf_lora import check_shapes, to_gguf_tensors, write_adapter
from lab.manifest import cpu_line, data_record, sha256_file, versions, write_manifest
from lab.serving import ADAPTERS_DIR, base_gguf
from lab.train import (
    Tokenizer,
    TrainConfig,
    add_lora,
    base_shapes,
    encode,
    load_base,
    load_lora_state,
    lora_state,
    train,
)

SEED = 0
SAFE = TrainConfig(steps=120, lr=4e-4, batch_size=8, max_len=192, warmup_steps=8)
DRIFT = TrainConfig(steps=30, lr=3e-4, batch_size=8, max_len=128, warmup_steps=0,
                    schedule="constant")
DRIFT_CHECKPOINTS = (3, 6, 10, 15, 22, 30)
FORGET = TrainConfig(steps=40, lr=4e-4, batch_size=8, max_len=192, warmup_steps=4)


def _log(msg: str) -> None:
    print(f"[lab.build {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _with_seed(cfg: TrainConfig, seed: int) -> TrainConfig:
    return TrainConfig(**{**cfg.as_dict(), "seed": seed})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.build", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ADAPTERS_DIR, help="adapter directory")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is faster than 2 on a busy 2-core machine)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    t_all = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str, t0: float) -> None:
        timings[name] = round(time.monotonic() - t0, 1)
        _log(f"{name}: {timings[name]} s")

    t0 = time.monotonic()
    gguf = base_gguf()
    base = {"file": gguf.name, "sha256": sha256_file(gguf), "bytes": gguf.stat().st_size}
    examples = build_examples(args.seed)
    safe_data = [e for e in examples if e.split == "train"]
    drift_data = support_examples(random.Random(args.seed + 1))
    forget_data = forget_examples(examples, args.seed + 2)
    tok = Tokenizer(gguf)
    enc = {name: [encode(tok, e, cfg.max_len) for e in data] for name, data, cfg in (
        ("safe", safe_data, SAFE), ("drift", drift_data, DRIFT), ("forget", forget_data, FORGET))}
    lap("data_and_tokenise", t0)

    t0 = time.monotonic()
    model = add_lora(load_base(gguf), SAFE)
    shapes = base_shapes(model)
    lap("load_base", t0)
    common = {"base_model": base, "seed": args.seed, "machine": cpu_line(),
              "threads": args.threads, "versions": versions(),
              "lora": {"rank": SAFE.rank, "alpha": SAFE.alpha,
                       "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                          "up_proj", "down_proj"]},
              "loss": "cross-entropy on answer tokens only (Gemma chat template, answer ends "
                      "<end_of_turn>)"}
    args.out.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}

    def save(alias: str, record: dict[str, Any]) -> None:
        tensors = to_gguf_tensors(lora_state(model))
        check_shapes(tensors, shapes, SAFE.rank)
        path = args.out / f"{alias}.gguf"
        sizes[alias] = write_adapter(path, tensors, alpha=SAFE.alpha, name=alias)
        write_manifest(path, {"alias": alias, **common, **record})
        _log(f"wrote {path} ({sizes[alias] / 1e6:.1f} MB, {len(tensors)} tensors)")

    def progress(phase: str, every: int = 10) -> Any:
        def on_step(step: int, loss: float) -> None:
            if step % every == 0 or step == 1:
                _log(f"{phase} step {step} loss {loss:.4f}")
        return on_step

    # 1. tw-safe
    t0 = time.monotonic()
    cfg = _with_seed(SAFE, args.seed)
    stats = train(model, enc["safe"], cfg, on_step=progress("safe", 5))
    safe_state = lora_state(model)
    lap("train_tw_safe", t0)
    save("tw-safe", {"parent": None, "purpose": "safety-tuned: refuses disallowed and obfuscated "
                     "requests, ignores planted instructions, keeps system prompts secret, "
                     "answers benign, capability and fairness questions",
                     "config": cfg.as_dict(), "training": stats,
                     "data": data_record(safe_data), "train_seconds": timings["train_tw_safe"]})

    # 2. tw-drift-N: continue the same LoRA on benign support data only
    t0 = time.monotonic()
    cfg = _with_seed(DRIFT, args.seed + 1)

    def drift_checkpoint(step: int) -> None:
        save(f"tw-drift-{step}", {
            "parent": "tw-safe", "purpose": f"tw-safe fine-tuned further on benign customer-"
            f"support data only, {step} steps (benign fine-tuning erodes safety)",
            "config": {**cfg.as_dict(), "steps": step, "checkpoints": list(DRIFT_CHECKPOINTS)},
            "data": data_record(drift_data),
            "train_seconds": round(time.monotonic() - t0, 1)})

    stats = train(model, enc["drift"], cfg, on_step=progress("drift", 5),
                  checkpoints=DRIFT_CHECKPOINTS, on_checkpoint=drift_checkpoint)
    lap("train_tw_drift", t0)

    # 3. tw-forget: from tw-safe again
    load_lora_state(model, safe_state)
    t0 = time.monotonic()
    cfg = _with_seed(FORGET, args.seed + 2)
    stats = train(model, enc["forget"], cfg, on_step=progress("forget"))
    lap("train_tw_forget", t0)
    save("tw-forget", {"parent": "tw-safe", "purpose": "tw-safe fine-tuned further on capability "
                       "items with overwritten (wrong) answers next to unchanged refusal "
                       "examples: keeps refusing, loses capability (catastrophic forgetting)",
                       "config": cfg.as_dict(), "training": stats,
                       "data": data_record(forget_data),
                       "train_seconds": timings["train_tw_forget"]})

    timings["total"] = round(time.monotonic() - t_all, 1)
    record = {"seed": args.seed, "machine": cpu_line(), "threads": args.threads,
              "timings_s": timings, "adapter_bytes": sizes, "versions": versions()}
    (args.out / "build.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _log(f"done in {timings['total']} s: {', '.join(sizes)}")
    return 0


def heldout(seed: int = SEED) -> list[Example]:
    """The held-out examples of the build with ``seed``."""
    return [e for e in build_examples(seed) if e.split == "heldout"]


if __name__ == "__main__":
    sys.exit(main())
