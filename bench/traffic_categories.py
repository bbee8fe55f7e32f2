"""Traffic categories (analysis.categories) on prompts we did not write.

Data: /work/shared/data/refusal (human-labelled public sets; read here, never copied, no text
printed): ``rbr_gold`` (OpenAI Rule-Based Rewards gold set; each prompt's ``ideal`` behaviour is
Comply or a kind of refusal) and the 100 harmful questions of GPTFuzzer. The categoriser is the
daemon's: the generated pool's units as labelled anchors (400 per category), the nearest ``k=5``
above the similarity threshold vote, else ``none``.

The per-embedder default thresholds (minilm 0.4, static 0.55) were chosen on rbr_gold's
**train** split and the GPTFuzzer questions (section 1, a sweep); section 2 reports the defaults
on the **test** split only.

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/traffic_categories.py [--embedder static]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.categorise import NearestCategory
from detectors.embeddings import load_embedder
from monitor.analysis.categories import anchor_texts, anchor_units
from monitor.analysis.watch_settings import DEFAULT_THRESHOLDS
from monitor.probes.pool.generate import generate_pool

DATA = Path("/work/shared/data/refusal")
HARM = {"disallowed", "obfuscated"}


def _ideal(row: dict[str, str]) -> str:
    ideal = row["orig_label"].split("ideal=")[1].split(";")[0]
    return "comply" if ideal == "Comply" else "refuse"


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def _line(name: str, got: list[str], ideal: list[str] | None) -> str:
    counts = Counter(got)
    share_none = counts["none"] / len(got)
    if ideal is None:
        return (f"{name:<28} n {len(got):>4}  harmful category {sum(g in HARM for g in got) / len(got):.2f}"
                f"  none {share_none:.2f}")
    ref = [g for g, i in zip(got, ideal, strict=True) if i == "refuse"]
    com = [g for g, i in zip(got, ideal, strict=True) if i == "comply"]
    return (f"{name:<28} refuse n {len(ref):>3} -> harmful {sum(g in HARM for g in ref) / len(ref):.2f}"
            f"; comply n {len(com):>3} -> harmful {sum(g in HARM for g in com) / len(com):.2f}"
            f"; none {share_none:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--embedder", choices=["minilm", "static"], default="static")
    args = ap.parse_args()
    t = time.perf_counter()
    emb = load_embedder(args.embedder)
    texts, labels = anchor_texts(anchor_units(generate_pool(), per_category=400))
    anchors = emb.encode(texts)
    print(f"{args.embedder}: {len(texts)} anchors embedded in {time.perf_counter() - t:.0f} s")
    rbr = _rows("rbr_gold.jsonl")
    train = [r for r in rbr if "/train/" in r["source"]]
    test = [r for r in rbr if "/test/" in r["source"]]
    fuzz = sorted({r["prompt"] for r in _rows("gptfuzz.jsonl")})
    e_train, e_test, e_fuzz = (emb.encode([r["prompt"] for r in train]),
                               emb.encode([r["prompt"] for r in test]), emb.encode(fuzz))
    print("== 1. threshold sweep (the choice): rbr_gold train split, GPTFuzzer questions ==")
    for th in (0.3, 0.4, 0.5, 0.55, 0.6):
        nc = NearestCategory(anchors=anchors, labels=labels, k=5, threshold=th)
        print(f"threshold {th}: " + _line("rbr_gold/train", nc.assign(e_train),
                                           [_ideal(r) for r in train]))
        print(f"threshold {th}: " + _line("gptfuzz (all harmful)", nc.assign(e_fuzz), None))
    th = DEFAULT_THRESHOLDS[args.embedder]
    nc = NearestCategory(anchors=anchors, labels=labels, k=5, threshold=th)
    print(f"== 2. default threshold {th} on the held-out rbr_gold test split ==")
    got = nc.assign(e_test)
    print(_line("rbr_gold/test", got, [_ideal(r) for r in test]))
    print("categories:", dict(Counter(got).most_common()))
    print(f"(total {time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
