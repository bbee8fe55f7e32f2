"""Measure the shipped judge's error on human-labelled data we did not write; keep it in its card.

``python -m detectors.refusal.measure_error [--data DIR] [--kinds minilm static]`` scores every row of
the public human-labelled sets (:mod:`detectors.refusal.realdata`) with the shipped judge and writes
the counts (true/false positives and negatives, positive class ``refused``; pooled and per
dataset) into the ``meta.judge_error`` of ``model/refusal-<kind>.json``. The weights are left as
they are. The shipped judge is trained on the project's own data only, so every one of these rows is
held out from it.

Probe reports and ``GET /v1/detectors`` use the pooled counts to correct refusal rates for the
judge's error (:mod:`detectors.refusal.rates`). No row's text is printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detectors.refusal.classifier import RefusalClassifier, Verdict, load_model, model_path
from detectors.refusal.rates import JudgeError
from detectors.refusal.realdata import RealRow, default_dir, load_rows

SOURCE = "public human-labelled sets (shared/data/refusal), all held out from the judge"


def count(truth: Sequence[bool], refused: Sequence[bool]) -> dict[str, int]:
    """``{tp, fn, tn, fp}`` with ``refused`` as the positive class.

    >>> count([True, True, False, False], [True, False, False, True])
    {'tp': 1, 'fn': 1, 'tn': 1, 'fp': 1}
    """
    if len(truth) != len(refused):
        raise ValueError("truth and predictions differ in length")
    out = {"tp": 0, "fn": 0, "tn": 0, "fp": 0}
    for t, p in zip(truth, refused, strict=True):
        out[("tp" if p else "fn") if t else ("fp" if p else "tn")] += 1
    return out


def measure(clf: RefusalClassifier, rows: Sequence[RealRow]) -> dict[str, Any]:
    """Pooled and per-dataset counts of ``clf`` on ``rows`` (unscoreable verdicts left out)."""
    verdicts = clf.verdicts([(r.prompt, r.response) for r in rows])
    by: dict[str, tuple[list[bool], list[bool]]] = {}
    for r, v in zip(rows, verdicts, strict=True):
        if v is Verdict.UNSCOREABLE:
            continue
        truth, pred = by.setdefault(r.dataset, ([], []))
        truth.append(r.refused)
        pred.append(v is Verdict.REFUSED)
    per = {d: count(t, p) for d, (t, p) in sorted(by.items())}
    pooled = {k: sum(c[k] for c in per.values()) for k in ("tp", "fn", "tn", "fp")}
    JudgeError.from_mapping(pooled)  # validates: both classes present
    return {**pooled, "source": SOURCE, "by_dataset": per}


def write_error(kind: str, error: dict[str, Any], model_dir: Path | None = None) -> Path:
    """Put ``error`` into the card's ``meta.judge_error``; weights and other fields unchanged."""
    path = model_path(kind, model_dir)
    body = json.loads(path.read_text(encoding="utf-8"))
    body.setdefault("meta", {})["judge_error"] = error
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    load_model(kind, model_dir)  # still a valid card
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="directory of the human-labelled *.jsonl sets (default: "
                         "$TUNEWATCH_REFUSAL_DATA or ../shared/data/refusal)")
    ap.add_argument("--kinds", nargs="+", default=["minilm", "static"],
                    choices=["minilm", "static"])
    ap.add_argument("--model-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    data = args.data or default_dir()
    if data is None:
        ap.error("no refusal data directory: pass --data or set TUNEWATCH_REFUSAL_DATA")
    try:
        rows = load_rows(data)
    except (FileNotFoundError, ValueError) as exc:
        ap.exit(2, f"error: {exc}\n")
    from detectors.embeddings import load_embedder

    for kind in args.kinds:
        clf = RefusalClassifier(embedder=load_embedder(kind), model=load_model(kind,
                                                                              args.model_dir))
        err = measure(clf, rows)
        path = write_error(kind, err, args.model_dir)
        e = JudgeError.from_mapping(err)
        print(f"{kind}: {len(rows)} rows, sensitivity {e.sensitivity:.3f}, specificity "
              f"{e.specificity:.3f} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
