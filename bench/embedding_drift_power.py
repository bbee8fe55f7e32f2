"""Embedding-drift detection power vs window size, MiniLM vs static embeddings.

Corpus: ``bench/corpus/prompts.jsonl`` (8 topics x 160 template prompts, several styles; rebuild
with ``bench/corpus/make_corpus.py``). Seven topics form the production mix; ``astronomy`` is the
new topic. Per repetition: a reference of 400 prompts drawn from the mix; the stream draws from the
*other* mix prompts (never the reference ones) and, after the change, a fraction ``q`` of prompts
comes from the new topic (no prompt repeats inside any window; see ``no_repeat``). The detector
(online MMD, threshold calibrated to ``--ert``) sees
``window + 200`` pre-change prompts, then ``--post`` post-change prompts.

Prints per embedder and window: power (share of repetitions that alarm after the change within
``--post`` prompts) and median delay for q = 10 %, 20 %, 50 %; the false-alarm share on an unchanged
stream of ``--null`` prompts, next to the share expected from the ERT (``1 - exp(-(L-W)/ERT)``).

    .venv/bin/python bench/embedding_drift_power.py [--quick] [--ert 10000] [--reps 10]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from detectors.embeddings import load_embedder
from detectors.mmd import EmbeddingDriftDetector

CORPUS = Path(__file__).with_name("corpus") / "prompts.jsonl"
NEW_TOPIC = "astronomy"


def no_repeat(rng: np.random.Generator, choose, n: int, gap: int) -> np.ndarray:
    """``n`` indices from ``choose(rng)`` with no index repeated within ``gap`` positions.

    Exact duplicate prompts inside one window inflate the within-window kernel sum (k(x, x) = 1);
    the template corpus is small, so the stream is drawn without repeats inside any window.
    """
    out: list[int] = []
    recent: set[int] = set()
    while len(out) < n:
        i = int(choose(rng))
        if i in recent:
            continue
        out.append(i)
        recent.add(i)
        if len(out) > gap:
            recent.discard(out[-gap - 1])
    return np.array(out)


def run_stream(det: EmbeddingDriftDetector, xs: np.ndarray) -> int | None:
    det.reset()
    det.update_many(xs)
    return det.alarm_at


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ert", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--post", type=int, default=1000)
    ap.add_argument("--null", type=int, default=2000)
    ap.add_argument("--embedders", default="minilm,static")
    args = ap.parse_args()
    reps = 3 if args.quick else args.reps
    windows = [50, 100] if args.quick else [25, 50, 100, 200]
    fractions = [0.1, 0.2, 0.5]
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    texts = [r["prompt"] for r in rows]
    topics = np.array([r["topic"] for r in rows])
    base_idx = np.flatnonzero(topics != NEW_TOPIC)
    new_idx = np.flatnonzero(topics == NEW_TOPIC)
    print(f"corpus: {len(rows)} prompts, {len(set(topics))} topics; new topic {NEW_TOPIC!r}; "
          f"ERT {args.ert}; {reps} repetitions; post-change {args.post}; null stream {args.null}")
    for kind in args.embedders.split(","):
        t0 = time.perf_counter()
        emb = load_embedder(kind)  # type: ignore[arg-type]
        x_all = emb.encode(texts)
        print(f"\n== embedder {kind} (dim {x_all.shape[1]}), corpus embedded in "
              f"{time.perf_counter() - t0:.1f} s")
        print(f"{'window':>6} | " + " | ".join(f"q={q:.0%} power  delay" for q in fractions)
              + " | false alarms (expected) | ...")
        for window in windows:
            hits = {q: 0 for q in fractions}
            delays: dict[float, list[int]] = {q: [] for q in fractions}
            false_alarms = 0
            early = 0  # alarms before the change (counted as misses)
            for rep in range(reps):
                rng = np.random.default_rng(10_000 * window + rep)
                perm = rng.permutation(base_idx)
                ref_idx, pool = perm[:400], perm[400:]
                det = EmbeddingDriftDetector(
                    reference=x_all[ref_idx], reference_id=f"{kind}-{rep}", window=window,
                    ert=args.ert, seed=rep,
                )
                pre = window + 200
                gap = max(windows)
                for q in fractions:

                    def mixed(r: np.random.Generator, q: float = q,
                              pool: np.ndarray = pool) -> int:
                        return r.choice(new_idx) if r.random() < q else r.choice(pool)

                    head = no_repeat(rng, lambda r, pool=pool: r.choice(pool), pre, gap)
                    post = no_repeat(rng, mixed, args.post, gap)
                    alarm = run_stream(det, x_all[np.concatenate([head, post])])
                    if alarm is not None and alarm > pre:
                        hits[q] += 1
                        delays[q].append(alarm - pre)
                    elif alarm is not None:
                        early += 1
                null = no_repeat(rng, lambda r, pool=pool: r.choice(pool), args.null, gap)
                if run_stream(det, x_all[null]) is not None:
                    false_alarms += 1
            expected = 1 - math.exp(-(args.null - window) / args.ert)
            cells = []
            for q in fractions:
                med = f"{np.median(delays[q]):6.0f}" if delays[q] else "     -"
                cells.append(f"   {hits[q]:>2}/{reps:<2}   {med}")
            print(f"{window:>6} | " + " | ".join(cells)
                  + f" | {false_alarms}/{reps} ({expected:.2f}) | pre-change alarms {early}")
        print(f"  ({kind}: {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
