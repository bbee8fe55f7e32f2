"""Drift references: what "normal" prompts and responses look like.

A reference has an id, a content hash and a creation time. It is built by
``tunewatch reference capture`` from a JSONL file of prompt/response pairs or from N sampled
production pairs, and saved as JSONL: a header line, then one redacted pair per line.

>>> ref = Reference.build([("hi", "hello"), ("2+2?", "4")], source="doc", created=0.0)
>>> ref.id, ref.n
('ref-1f391567a995', 2)
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.analysis.redaction import Redactor
from monitor.store import Store

FORMAT = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS drift_references (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    created REAL NOT NULL,
    n INTEGER NOT NULL,
    source TEXT NOT NULL,
    embedder TEXT,
    embeddings BLOB
);
"""


class ReferenceError(ValueError):
    """A reference file or input that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class Reference:
    id: str
    sha256: str
    created: float
    source: str
    prompts: tuple[str, ...]
    responses: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.prompts)

    @classmethod
    def build(cls, pairs: Sequence[tuple[str, str]], *, source: str,
              created: float | None = None) -> Reference:
        canon = json.dumps([[p, r] for p, r in pairs], ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(canon.encode()).hexdigest()
        return cls(
            id=f"ref-{digest[:12]}",
            sha256=digest,
            created=time.time() if created is None else created,
            source=source,
            prompts=tuple(p for p, _ in pairs),
            responses=tuple(r for _, r in pairs),
        )

    def to_jsonl(self) -> str:
        out = io.StringIO()
        header = {"tunewatch_reference": FORMAT, "id": self.id, "sha256": self.sha256,
                  "created": self.created, "n": self.n, "source": self.source}
        out.write(json.dumps(header) + "\n")
        for p, r in zip(self.prompts, self.responses, strict=True):
            out.write(json.dumps({"prompt": p, "response": r}, ensure_ascii=False) + "\n")
        return out.getvalue()


def read_pairs(path: Path, *, redactor: Redactor | None = None) -> list[tuple[str, str]]:
    """Read ``{"prompt": ..., "response": ...}`` lines (a reference header line is skipped)."""
    redact = redactor or Redactor()
    pairs: list[tuple[str, str]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceError(f"{path}: cannot read: {exc}") from exc
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReferenceError(f"{path}:{i}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ReferenceError(f"{path}:{i}: expected an object with prompt and response")
        if "tunewatch_reference" in obj:
            continue
        p, r = obj.get("prompt"), obj.get("response")
        if not isinstance(p, str) or not isinstance(r, str):
            raise ReferenceError(f"{path}:{i}: 'prompt' and 'response' must both be strings")
        pairs.append((redact(p).text, redact(r).text))
    if not pairs:
        raise ReferenceError(f"{path}: no prompt/response pairs")
    return pairs


def load_reference_file(path: Path) -> Reference:
    """Load a reference written by ``tunewatch reference capture`` (header checked)."""
    try:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        header = json.loads(first)
    except (OSError, ValueError) as exc:
        raise ReferenceError(f"{path}:1: not a Tunewatch reference ({exc})") from None
    if not isinstance(header, dict) or header.get("tunewatch_reference") != FORMAT:
        raise ReferenceError(f"{path}:1: missing the reference header; create the file with "
                             "`tunewatch reference capture`")
    ref = Reference.build(read_pairs(path), source=str(header.get("source", "file")),
                          created=float(header.get("created", 0.0)))
    if ref.sha256 != header.get("sha256"):
        raise ReferenceError(f"{path}: content hash does not match the header (file edited?)")
    return ref


class ReferenceStore:
    """References (and bootstrap embeddings) kept in the daemon's SQLite store."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        store.ensure_schema(SCHEMA)

    def save(self, ref: Reference, *, embeddings: dict[str, np.ndarray] | None,
             embedder: str | None = None) -> None:
        blob = None
        if embeddings is not None:
            buf = io.BytesIO()
            arrays: dict[str, Any] = {k: v.astype(np.float32) for k, v in embeddings.items()}
            np.savez(buf, **arrays)
            blob = buf.getvalue()
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO drift_references VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ref.id, ref.sha256, ref.created, ref.n, ref.source, embedder, blob),
            )

    def save_bootstrap(self, embeddings: dict[str, np.ndarray], *, embedder: str) -> Reference:
        digest = hashlib.sha256()
        for k in sorted(embeddings):
            digest.update(np.ascontiguousarray(embeddings[k], dtype=np.float32).tobytes())
        h = digest.hexdigest()
        n = len(next(iter(embeddings.values())))
        ref = Reference(id=f"bootstrap-{h[:12]}", sha256=h, created=self._clock(),
                        source="bootstrap", prompts=("",) * n, responses=("",) * n)
        self.save(ref, embeddings=embeddings, embedder=embedder)
        return ref

    def latest_bootstrap(self, embedder: str) -> tuple[Reference, dict[str, np.ndarray]] | None:
        rows = self._store.query(
            "SELECT id, sha256, created, n, embeddings FROM drift_references "
            "WHERE source = 'bootstrap' AND embedder = ? ORDER BY created DESC LIMIT 1",
            (embedder,),
        )
        if not rows:
            return None
        rid, sha, created, n, blob = rows[0]
        data = np.load(io.BytesIO(blob))
        emb = {k: data[k] for k in data.files}
        ref = Reference(id=rid, sha256=sha, created=created, source="bootstrap",
                        prompts=("",) * n, responses=("",) * n)
        return ref, emb
