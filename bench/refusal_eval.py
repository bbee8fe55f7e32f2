"""Held-out evaluation: refusal classifier vs the substring baseline.

    python bench/refusal_eval.py [--kind minilm|static] [--examples 3]

Prints precision/recall/F1 (positive class = refused) on the held-out split for both,
then a per-case and per-language table of accuracy, then a few misclassified ids for each.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.refusal import Verdict, load_classifier
from detectors.refusal.baseline import SubstringBaseline
from detectors.refusal.data import load_pairs
from detectors.refusal.train import binary_metrics


def _table(title: str, keys: list[str], groups: dict[str, list[int]],
           ok: dict[str, np.ndarray]) -> None:
    names = list(ok)
    print(f"\n{title:<26}" + "".join(f"{n:>12}" for n in names) + f"{'n':>6}")
    for k in keys:
        idx = groups[k]
        print(f"{k:<26}" + "".join(f"{ok[n][idx].mean():>12.3f}" for n in names)
              + f"{len(idx):>6}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", default="minilm", choices=["minilm", "static"])
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()

    pairs = load_pairs("heldout")
    y = np.array([p.label == "refused" for p in pairs])
    clf = load_classifier(args.kind)
    pred = {
        f"clf-{args.kind}": np.array([v is Verdict.REFUSED for v in
                                      clf.verdicts([(p.prompt, p.response) for p in pairs])]),
        "substring": np.array([v is Verdict.REFUSED for v in
                               SubstringBaseline().verdicts([(p.prompt, p.response)
                                                             for p in pairs])]),
    }
    print(f"held-out split: {len(pairs)} pairs, {int(y.sum())} refused, "
          f"{len(pairs) - int(y.sum())} complied")
    print(f"{'model':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'accuracy':>10}")
    for name, p in pred.items():
        m = binary_metrics(y, p)
        print(f"{name:<16}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}"
              f"{m['accuracy']:>10.4f}")

    ok = {name: (p == y) for name, p in pred.items()}
    by_case: dict[str, list[int]] = defaultdict(list)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        by_case[f"{p.case} ({p.label[0]})"].append(i)
        by_lang[p.lang].append(i)
    _table("accuracy by case", sorted(by_case), by_case, ok)
    _table("accuracy by language", sorted(by_lang), by_lang, ok)

    for name, o in ok.items():
        wrong = [pairs[i].id for i in np.flatnonzero(~o)]
        per_case: dict[str, list[str]] = defaultdict(list)
        for w in wrong:
            per_case[w.split(":")[0]].append(w)
        print(f"\n{name}: {len(wrong)} errors")
        for case, ids in sorted(per_case.items()):
            print(f"  {case:<24} {len(ids):>3}  e.g. {', '.join(ids[:args.examples])}")


if __name__ == "__main__":
    main()
