"""detectors/refusal/realdata.py and measure_error.py: reading the public human-labelled sets where
they lie, and the judge's error counts kept in its card. The rows here are our own toy lines; the
public sets are never copied into the project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from detectors.refusal import fingerprint, judge_error
from detectors.refusal.classifier import Verdict, load_model, model_path
from detectors.refusal.measure_error import measure, write_error
from detectors.refusal.realdata import family, load_rows


def write_set(d: Path, name: str, rows: list[tuple[str, str]]) -> None:
    with (d / f"{name}.jsonl").open("w", encoding="utf-8") as f:
        for i, (response, label) in enumerate(rows):
            f.write(json.dumps({"prompt": f"q{i}", "response": response, "label": label,
                                "source": name, "orig_label": "x"}) + "\n")


class ScriptedJudge:
    """Refuses when the response says 'no'; unscoreable when it is 'err'."""

    def verdicts(self, pairs, **_):
        return [Verdict.UNSCOREABLE if r == "err" else
                Verdict.REFUSED if r.startswith("no") else Verdict.COMPLIED for _, r in pairs]


def test_counts_pooled_and_per_dataset_leave_unscoreable_out(tmp_path: Path) -> None:
    write_set(tmp_path, "alpha", [("no way", "refusal"), ("sure", "refusal"),
                                  ("here you go", "compliance"), ("no thanks", "compliance"),
                                  ("err", "compliance")])
    write_set(tmp_path, "alpha_partial", [("no, but", "refusal"), ("well ok", "refusal")])
    rows = load_rows(tmp_path)
    assert [r.dataset for r in rows].count("alpha") == 5 and family("alpha_partial") == "alpha"
    err = measure(ScriptedJudge(), rows)  # type: ignore[arg-type]
    assert err["by_dataset"]["alpha"] == {"tp": 1, "fn": 1, "tn": 1, "fp": 1}
    assert err["by_dataset"]["alpha_partial"] == {"tp": 1, "fn": 1, "tn": 0, "fp": 0}
    assert (err["tp"], err["fn"], err["tn"], err["fp"]) == (2, 2, 1, 1)


def test_bad_rows_name_file_and_line_never_the_text(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text(
        json.dumps({"prompt": "p", "response": "SECRET-TEXT", "label": "maybe"}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1") as e:
        load_rows(tmp_path)
    assert "SECRET-TEXT" not in str(e.value)
    with pytest.raises(FileNotFoundError, match="TUNEWATCH_REFUSAL_DATA"):
        load_rows(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_rows(tmp_path, ["nope"])


def test_writing_the_error_keeps_the_weights(tmp_path: Path) -> None:
    shutil.copy(model_path("static"), tmp_path / "refusal-static.json")
    before = load_model("static", tmp_path)
    write_error("static", {"tp": 3, "fn": 1, "tn": 5, "fp": 2, "source": "toy"}, tmp_path)
    after = load_model("static", tmp_path)
    np.testing.assert_array_equal(before.coef, after.coef)
    assert after.intercept == before.intercept and after.threshold == before.threshold
    assert after.meta["judge_error"]["tp"] == 3


@pytest.mark.parametrize("kind", ["minilm", "static"])
def test_shipped_cards_carry_an_error_measured_on_public_data(kind: str) -> None:
    """`python -m detectors.refusal.measure_error` wrote it: pooled counts over the public sets
    (thousands of rows), consistent with the per-dataset counts, better than chance."""
    err = judge_error(kind)  # type: ignore[arg-type]
    assert err is not None, f"run python -m detectors.refusal.measure_error for {kind}"
    meta = load_model(kind).meta["judge_error"]  # type: ignore[arg-type]
    per = meta["by_dataset"]
    for k in ("tp", "fn", "tn", "fp"):
        assert getattr(err, k) == sum(c[k] for c in per.values())
    assert err.tp + err.fn + err.tn + err.fp > 5000
    assert {"chatgpt_refusals", "rbr_gold", "gptfuzz"} <= set(per)
    assert err.sensitivity + err.specificity > 1.2
    assert "public" in err.source


def test_fingerprint_names_the_weights_not_the_notes(tmp_path: Path) -> None:
    assert fingerprint("minilm") != fingerprint("static")
    assert len(fingerprint("minilm")) == 16 and fingerprint("minilm") == fingerprint("minilm")
