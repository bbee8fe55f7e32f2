"""Rebuild the refusal classifier artifacts from the labeled data (reproducible).

``python -m detectors.refusal.train [--kinds minilm static]`` fits an L2 logistic
regression (lbfgs, deterministic) on the *train* split only, scores the held-out split,
and writes ``model/refusal-<kind>.json`` with the weights, the data's sha256, the
hyper-parameters and the held-out metrics. Where the public human-labelled sets are found
(``--real-data``, ``$TUNEWATCH_REFUSAL_DATA`` or ``../shared/data/refusal``) it then measures the new
weights' error on them into ``meta.judge_error`` (:mod:`detectors.refusal.measure_error`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from detectors.embeddings import EmbedderKind, load_embedder
from detectors.refusal.classifier import LinearModel, RefusalClassifier, featurize, model_path
from detectors.refusal.data import DATA_DIR, LabeledPair, data_sha256, load_pairs
from detectors.refusal.measure_error import measure, write_error
from detectors.refusal.realdata import default_dir, load_rows

C = 16.0
SEED = 0


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Precision/recall/F1 with ``refused`` (True) as the positive class."""
    tp = int(np.sum(y_true & y_pred))
    fp = int(np.sum(~y_true & y_pred))
    fn = int(np.sum(y_true & ~y_pred))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    acc = float(np.mean(y_true == y_pred)) if y_true.size else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "accuracy": round(acc, 4), "n": int(y_true.size)}


def labels(pairs: list[LabeledPair]) -> np.ndarray:
    return np.array([p.label == "refused" for p in pairs])


def fit(x: np.ndarray, y: np.ndarray, *, c: float = C,
        sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=5000, random_state=SEED).fit(
        x, y, sample_weight=sample_weight)
    return clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


def train(kind: EmbedderKind, *, data_dir: Path = DATA_DIR, c: float = C) -> LinearModel:
    import sklearn

    emb = load_embedder(kind)
    tr, ho = load_pairs("train", data_dir), load_pairs("heldout", data_dir)
    coef, intercept = fit(featurize(emb, [p.response for p in tr]), labels(tr), c=c)
    model = LinearModel(embedder=kind, coef=coef, intercept=intercept)
    pred = model.proba(featurize(emb, [p.response for p in ho])) >= model.threshold
    meta: dict[str, Any] = {
        "data_sha256": data_sha256(data_dir),
        "recipe": "python -m detectors.refusal.train",
        "classifier": f"sklearn LogisticRegression(C={c}, lbfgs, max_iter=5000)",
        "features": "embedding(response) + lexical cues (detectors/refusal/lexical.py)",
        "sklearn": sklearn.__version__,
        "n_train": len(tr),
        "heldout": binary_metrics(labels(ho), pred),
    }
    return LinearModel(embedder=kind, coef=coef, intercept=intercept, meta=meta)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", nargs="+", default=["minilm", "static"],
                    choices=["minilm", "static"])
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--real-data", type=Path, default=None,
                    help="the public human-labelled sets, to measure the new weights' error on "
                         "(default: $TUNEWATCH_REFUSAL_DATA or ../shared/data/refusal)")
    args = ap.parse_args(argv)
    real = args.real_data or default_dir()
    rows = load_rows(real) if real is not None else None
    for kind in args.kinds:
        model = train(kind)
        path = model_path(kind, args.model_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model.to_json(), encoding="utf-8")
        print(f"{kind}: held-out {model.meta['heldout']} -> {path}")
        if rows is None:
            print(f"{kind}: no public refusal data found; the card has no judge_error (run "
                  "python -m detectors.refusal.measure_error --data DIR)")
            continue
        clf = RefusalClassifier(embedder=load_embedder(kind), model=model)
        write_error(kind, measure(clf, rows), args.model_dir)
        print(f"{kind}: judge error measured on {len(rows)} public rows -> {path}")


if __name__ == "__main__":
    main()
