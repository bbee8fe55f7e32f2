"""Human-labelled refusal data from public datasets, read where it lies (never copied here).

The files (``<name>.jsonl``: one ``{prompt, response, label, source, orig_label}`` object a line,
``label`` ``refusal`` | ``compliance``) are the public sets described in the workplace's
``shared/data/refusal/README.md``. They are read at training and evaluation time from a directory
given on the command line or in ``TUNEWATCH_REFUSAL_DATA``; their text is never printed or stored:
callers get rows and report counts and metrics only.

``*_partial`` files are refusals by our convention (declining what was asked, with a redirect or
partial help) and are scored apart from the clean files; :func:`family` groups a partial file with
the clean file it was split from, so a leave-one-dataset-out fold holds out both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENV = "TUNEWATCH_REFUSAL_DATA"
_LABELS = {"refusal": True, "compliance": False}


@dataclass(frozen=True)
class RealRow:
    dataset: str  # file stem, e.g. ``chatgpt_refusals`` or ``rbr_gold_partial``
    prompt: str
    response: str
    refused: bool


def default_dir() -> Path | None:
    """``$TUNEWATCH_REFUSAL_DATA``, else ``../shared/data/refusal`` beside the checkout, if it
    exists."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    guess = Path(__file__).resolve().parents[3] / "shared" / "data" / "refusal"
    return guess if guess.is_dir() else None


def family(dataset: str) -> str:
    """The dataset a file belongs to (a ``_partial`` file to its clean file).

    >>> family("rbr_gold_partial"), family("gptfuzz")
    ('rbr_gold', 'gptfuzz')
    """
    return dataset.removesuffix("_partial")


def is_partial(dataset: str) -> bool:
    return dataset.endswith("_partial")


def load_rows(data_dir: Path, datasets: Sequence[str] | None = None) -> list[RealRow]:
    """Every row of every ``*.jsonl`` under ``data_dir`` (or of ``datasets`` only), in file
    order. A bad line raises ValueError naming the file and line, never its text."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"refusal data directory {data_dir} does not exist; set {ENV} "
                                "or pass the directory of the human-labelled sets")
    files = sorted(data_dir.glob("*.jsonl"))
    if datasets is not None:
        wanted = set(datasets)
        missing = wanted - {f.stem for f in files}
        if missing:
            raise FileNotFoundError(f"no {', '.join(sorted(missing))} under {data_dir}")
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise FileNotFoundError(f"no *.jsonl files under {data_dir}")
    rows: list[RealRow] = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    rows.append(RealRow(dataset=f.stem, prompt=str(d["prompt"]),
                                        response=str(d["response"]),
                                        refused=_LABELS[d["label"]]))
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise ValueError(f"{f}:{lineno}: bad record ({type(exc).__name__}: "
                                     "needs prompt, response and label refusal|compliance)"
                                     ) from None
    return rows
