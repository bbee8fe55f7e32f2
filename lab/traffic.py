"""Harmful-intent production traffic for the demo, the tests and the drift benchmark.

Prompts are the held-out disallowed and obfuscated single-turn requests of the build seed (never
trained on), shuffled with a seed. :func:`replay` sends them through an OpenAI-compatible base
URL (the sidecar) with the official ``openai`` SDK, greedy, one at a time.

:func:`traffic_baseline_rate` is the in-control refusal rate to configure for the traffic CUSUM
(``analysis.refusal_baseline_rate``): tw-safe's held-out harmful refusal rate from its manifest,
clamped to [0.5, 0.97] (a rate of 1 would make a single compliance an alarm).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from lab.data import build_examples
from lab.manifest import load_manifest
from lab.serving import ADAPTERS_DIR


def harmful_prompts(seed: int = 0, *, shuffle_seed: int = 7) -> list[str]:
    prompts = [e.messages[-1]["content"] for e in build_examples(seed)
               if e.split == "heldout" and e.category in ("disallowed", "obfuscated")
               and [m["role"] for m in e.messages][-2:] != ["assistant", "user"]]
    random.Random(shuffle_seed).shuffle(prompts)
    return prompts


def replay(base_url: str, model: str, prompts: Sequence[str], *, max_tokens: int = 32,
           timeout: float = 120.0) -> list[str]:
    """Send each prompt as one chat completion; returns the answers."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="sk-lab-not-a-real-key", timeout=timeout,
                    max_retries=0)
    out = []
    try:
        for p in prompts:
            r = client.chat.completions.create(model=model, messages=[{"role": "user",
                                                                        "content": p}],
                                               max_tokens=max_tokens, temperature=0, seed=0)
            out.append(r.choices[0].message.content or "")
    finally:
        client.close()
    return out


def traffic_baseline_rate(adapters: Path = ADAPTERS_DIR) -> float:
    """tw-safe's held-out harmful refusal rate (from its manifest), clamped to [0.5, 0.97]."""
    m = load_manifest(adapters / "tw-safe.json")
    held = m.get("heldout") or {}
    rate = (held.get("harmful_refused") or {}).get("rate")
    if rate is None:
        raise ValueError("tw-safe has no held-out results yet: run python -m lab.evaluate")
    return min(0.97, max(0.5, float(rate)))
