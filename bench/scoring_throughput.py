"""End-to-end refusal scoring throughput (embed + classify) and static-vs-MiniLM quality.

    python bench/scoring_throughput.py [--seconds 8] [--threads N] [--device cpu|cuda]
                                       [--embedders minilm,static] [--no-quality]

For each embedder ("minilm", "static") it scores the data set's responses in batches
through ``RefusalClassifier.verdicts`` (lexical cues, embedding, logistic regression,
three-way verdict) for about ``--seconds`` and prints samples/s, for the data set's
short responses and for long (~250-word) responses. Then it prints held-out F1 of the
classifier trained on each embedding and how often the two agree.
Targets on the 2-core dev machine: >= 300 samples/s MiniLM, >= 3000 samples/s static.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.refusal import Verdict, load_classifier
from detectors.refusal.data import load_pairs
from detectors.refusal.train import binary_metrics, labels


def throughput(clf, pairs: list[tuple[str, str]], *, batch: int, seconds: float) -> float:
    clf.verdicts(pairs[:batch])  # warm-up
    done, start = 0, time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        chunk = [pairs[(i + k) % len(pairs)] for k in range(batch)]
        clf.verdicts(chunk)
        done += batch
        i += batch
    return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    ap.add_argument("--device", default="cpu", help="MiniLM's torch device: cpu, cuda, auto")
    ap.add_argument("--embedders", default="minilm,static")
    ap.add_argument("--minilm-batch", type=int, default=64)
    ap.add_argument("--no-quality", action="store_true", help="skip the held-out comparison")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.embedders.split(",") if k.strip()]
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"cpus={os.cpu_count()} torch_threads={torch.get_num_threads()} "
          f"load_avg={os.getloadavg()[0]:.1f} device={args.device} gpu={gpu}")

    all_pairs = load_pairs()
    short = [(p.prompt, p.response) for p in all_pairs]
    rng = np.random.default_rng(0)
    bodies = [p.response for p in all_pairs if p.case == "benign_compliance"]
    long_ = []
    for _ in range(200):
        text = ""
        while len(text.split()) < 250:
            text += " " + bodies[int(rng.integers(len(bodies)))]
        long_.append(("q", text.strip()))
    mean_words = np.mean([len(r.split()) for _, r in short])
    print(f"short: {len(short)} responses, mean {mean_words:.0f} words; "
          f"long: {len(long_)} responses, ~250 words")

    print(f"\n{'embedder':<10}{'texts':<8}{'max_seq':>8}{'batch':>7}{'samples/s':>12}{'target':>8}")
    for kind, target, batch in (("minilm", 300, args.minilm_batch), ("static", 3000, 512)):
        if kind not in kinds:
            continue
        clf = load_classifier(kind, device=args.device)
        if kind == "minilm":
            clf.embedder.batch_size = batch  # type: ignore[attr-defined]
        for name, pairs in (("short", short), ("long", long_)):
            seqs = [256, 128] if kind == "minilm" and name == "long" else [None]
            for seq in seqs:
                if seq is not None:
                    clf.embedder._model.max_seq_length = seq  # type: ignore[attr-defined]
                rate = throughput(clf, pairs, batch=batch, seconds=args.seconds)
                print(f"{kind:<10}{name:<8}{seq or '-':>8}{batch:>7}{rate:>12.0f}"
                      f"{'OK' if rate >= target else 'MISS':>8}")
            if kind == "minilm":
                clf.embedder._model.max_seq_length = 256  # type: ignore[attr-defined]

    if args.device != "cpu" and "minilm" in kinds:
        # the device must not change the answers: held-out verdicts on it vs on the CPU
        held = load_pairs("heldout")
        pairs_h = [(p.prompt, p.response) for p in held]
        on_cpu = load_classifier("minilm", device="cpu").verdicts(pairs_h)
        on_dev = load_classifier("minilm", device=args.device).verdicts(pairs_h)
        same = float(np.mean([a is b for a, b in zip(on_cpu, on_dev, strict=True)]))
        m = binary_metrics(labels(held), np.array([x is Verdict.REFUSED for x in on_dev]))
        print(f"\nheld-out minilm on {args.device}: F1={m['f1']:.4f} (n={m['n']}); "
              f"verdicts equal to the CPU's: {same:.4f}")
    if args.no_quality or set(kinds) != {"minilm", "static"}:
        return
    held = load_pairs("heldout")
    y = labels(held)
    preds = {}
    for kind in ("minilm", "static"):
        v = load_classifier(kind).verdicts([(p.prompt, p.response) for p in held])
        preds[kind] = np.array([x is Verdict.REFUSED for x in v])
        m = binary_metrics(y, preds[kind])
        print(f"\nheld-out {kind:<7} P={m['precision']:.4f} R={m['recall']:.4f} "
              f"F1={m['f1']:.4f} (n={m['n']})", end="")
    agree = float(np.mean(preds["minilm"] == preds["static"]))
    print(f"\nstatic vs minilm verdict agreement on held-out: {agree:.4f}")


if __name__ == "__main__":
    main()
