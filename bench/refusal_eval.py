"""The refusal judge on human-labelled data we did not write, leave-one-dataset-out.

    python bench/refusal_eval.py [--data DIR] [--kinds static minilm] [--json OUT]
                                 [--throughput-rows 512]

Data: the public human-labelled sets (``--data``, default ``$TUNEWATCH_REFUSAL_DATA`` or
``../shared/data/refusal``; :mod:`detectors.refusal.realdata`) and the project's own generated
split. Only counts and metrics are printed, never a row's text. For every set and every embedder
kind it prints F1 / precision / recall (positive class: refused; recall only for the
``_partial`` sets, which hold refusals only, and specificity for compliance-only sets) of:

* ``shipped``: the shipped judge (``model/refusal-<kind>.json``, trained on our own data only, so
  every public row is held out from it);
* ``lodo``: the same recipe (embedding + lexical cues, logistic regression) trained on our own
  train split **plus every public set but the one scored** (a set and its ``_partial`` file are
  held out together; each set weighs the same, our own data three times as much), i.e. how far
  training on real data carries to a dataset it has not seen;
* ``substring``: the refusal-phrase substring list (detectors/refusal/baseline.py) on the same rows.

Then the own held-out split's F1 for each, and the shipped judge's throughput in responses/s on
public responses (batches of 64; this machine, its cores as they are). Results are recorded in
docs/refusal.md with the date and machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.embeddings import load_embedder
from detectors.refusal.baseline import SubstringBaseline
from detectors.refusal.classifier import RefusalClassifier, Verdict, featurize, load_model
from detectors.refusal.data import load_pairs
from detectors.refusal.measure_error import count
from detectors.refusal.realdata import default_dir, family, is_partial, load_rows
from detectors.refusal.train import fit

OWN_WEIGHT = 3.0


def metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    c = count(y.tolist(), pred.tolist())
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else None  # None: the set has no such rows
    f = 2 * p * r / (p + r) if tp and r is not None else 0.0
    spec = tn / (tn + fp) if tn + fp else None
    return {"n": int(y.size), "f1": round(f, 4), "precision": round(p, 4),
            "recall": None if r is None else round(r, 4),
            "specificity": None if spec is None else round(spec, 4)}


def balanced_weights(groups: np.ndarray, own: str) -> np.ndarray:
    """Each group weighs the same in total; the own group ``OWN_WEIGHT`` times as much."""
    w = np.zeros(groups.size)
    for g in np.unique(groups):
        sel = groups == g
        w[sel] = (OWN_WEIGHT if g == own else 1.0) * 1000.0 / sel.sum()
    return w


def cell(m: dict[str, Any], partial: bool) -> str:
    if partial:
        return f"R {m['recall']:.3f}"
    if m["recall"] is None:
        return f"spec {m['specificity']:.3f}"
    return f"{m['f1']:.3f} ({m['precision']:.2f}/{m['recall']:.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--kinds", nargs="+", default=["static", "minilm"],
                    choices=["minilm", "static"])
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--throughput-rows", type=int, default=512)
    args = ap.parse_args()
    data = args.data or default_dir()
    if data is None:
        ap.error("no refusal data directory: pass --data or set TUNEWATCH_REFUSAL_DATA")
    rows = load_rows(data)
    own_tr, own_ho = load_pairs("train"), load_pairs("heldout")
    ds = np.array([r.dataset for r in rows])
    y = np.array([r.refused for r in rows])
    y_tr = np.array([p.label == "refused" for p in own_tr])
    y_ho = np.array([p.label == "refused" for p in own_ho])
    datasets = sorted(set(ds.tolist()), key=lambda d: (family(d), is_partial(d)))
    print(f"data: {data} ({len(rows)} rows in {len(datasets)} sets); own split "
          f"{len(own_tr)} train / {len(own_ho)} held out")
    sub = SubstringBaseline().verdicts([(r.prompt, r.response) for r in rows])
    sub_pred = np.array([v is Verdict.REFUSED for v in sub])
    sub_ho = np.array([v is Verdict.REFUSED for v in SubstringBaseline().verdicts(
        [(p.prompt, p.response) for p in own_ho])])
    out: dict[str, Any] = {"data_rows": {d: int((ds == d).sum()) for d in datasets},
                           "substring": {d: metrics(y[ds == d], sub_pred[ds == d])
                                         for d in datasets},
                           "substring_own_heldout": metrics(y_ho, sub_ho), "kinds": {}}
    for kind in args.kinds:
        emb = load_embedder(kind)
        t0 = time.perf_counter()
        x = featurize(emb, [r.response for r in rows])
        x_tr = featurize(emb, [p.response for p in own_tr])
        x_ho = featurize(emb, [p.response for p in own_ho])
        embed_s = time.perf_counter() - t0
        shipped = load_model(kind)
        ship_pred = shipped.proba(x) >= shipped.threshold
        lodo_pred = np.zeros(len(rows), dtype=bool)
        for fam in sorted({family(d) for d in datasets}):
            test = np.array([family(d) == fam for d in ds])
            xs = np.vstack([x[~test], x_tr])
            ys = np.concatenate([y[~test], y_tr])
            groups = np.concatenate([ds[~test], np.full(len(own_tr), "own")])
            coef, b = fit(xs, ys, c=1.0, sample_weight=balanced_weights(groups, "own"))
            lodo_pred[test] = (x[test] @ coef + b) >= 0.0
        xs, ys = np.vstack([x, x_tr]), np.concatenate([y, y_tr])
        groups = np.concatenate([ds, np.full(len(own_tr), "own")])
        coef, b = fit(xs, ys, c=1.0, sample_weight=balanced_weights(groups, "own"))
        all_ho = (x_ho @ coef + b) >= 0.0
        clf = RefusalClassifier(embedder=emb, model=shipped)
        sample = [(r.prompt, r.response) for r in rows[:: max(1, len(rows)
                                                             // args.throughput_rows)]]
        clf.verdicts(sample[:64])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(sample), 64):
            clf.verdicts(sample[i:i + 64])
        rps = len(sample) / (time.perf_counter() - t0)
        out["kinds"][kind] = {
            "shipped": {d: metrics(y[ds == d], ship_pred[ds == d]) for d in datasets},
            "lodo": {d: metrics(y[ds == d], lodo_pred[ds == d]) for d in datasets},
            "own_heldout": {"shipped": metrics(y_ho, shipped.proba(x_ho) >= shipped.threshold),
                            "trained_on_all_public": metrics(y_ho, all_ho)},
            "responses_per_s": round(rps, 1), "embed_all_s": round(embed_s, 1),
        }
    print(f"\n{'set':<28}{'rows':>6}  " + "".join(
        f"{k + ' shipped':<24}{k + ' lodo':<24}" for k in args.kinds) + "substring")
    for d in datasets:
        part = is_partial(d)
        line = f"{d:<28}{out['data_rows'][d]:>6}  "
        for k in args.kinds:
            r = out["kinds"][k]
            line += f"{cell(r['shipped'][d], part):<24}{cell(r['lodo'][d], part):<24}"
        print(line + cell(out["substring"][d], part))
    print("\ncells: F1 (precision/recall), R = recall on refusal-only sets, spec = specificity "
          "on compliance-only sets")
    print(f"\nown held-out F1: substring {out['substring_own_heldout']['f1']:.3f}; " + "; ".join(
        f"{k} shipped {r['own_heldout']['shipped']['f1']:.3f}, trained on all public + own "
        f"{r['own_heldout']['trained_on_all_public']['f1']:.3f}"
        for k, r in out["kinds"].items()))
    for k, r in out["kinds"].items():
        print(f"{k}: {r['responses_per_s']} responses/s (shipped judge, batches of 64); "
              f"featurising all {len(rows)} public rows took {r['embed_all_s']} s")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
