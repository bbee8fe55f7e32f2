"""Loading the labeled refusal data and hashing it (so stale model artifacts are caught)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
LABELS = ("refused", "complied")


@dataclass(frozen=True)
class LabeledPair:
    id: str
    prompt: str
    response: str
    label: str
    case: str
    lang: str
    template: str
    split: str


def data_files(data_dir: Path = DATA_DIR) -> list[Path]:
    files = sorted(data_dir.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no *.jsonl files under {data_dir}")
    return files


def data_sha256(data_dir: Path = DATA_DIR) -> str:
    """sha256 over every ``*.jsonl`` file's name and bytes, in name order."""
    h = hashlib.sha256()
    for f in data_files(data_dir):
        h.update(f.name.encode() + b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def load_pairs(split: str | None = None, data_dir: Path = DATA_DIR) -> list[LabeledPair]:
    """All labeled pairs (optionally only ``split``: "train" or "heldout")."""
    out: list[LabeledPair] = []
    for f in data_files(data_dir):
        for lineno, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                pair = LabeledPair(**json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ValueError(f"{f}:{lineno}: bad record: {exc}") from exc
            if pair.label not in LABELS:
                raise ValueError(f"{f}:{lineno}: label {pair.label!r} not in {LABELS}")
            if split is None or pair.split == split:
                out.append(pair)
    return out
