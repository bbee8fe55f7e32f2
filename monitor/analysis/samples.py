"""The ``samples`` table: one row per analysed sample, written by the pipeline.

This module owns the table; everyone else reads it through these functions: the pipeline writes
and prunes rows, the evidence pack reads recent transcripts, ``tunewatch reference capture
--from-db`` reads recent pairs. Rows hold features, the verdict and hashes; redacted text only
when ``privacy.retain_text`` is on. Request ids are stored as truncated hashes.

>>> from monitor.store import Store
>>> samples = SampleStore(Store(":memory:"))
>>> samples.insert_many([SampleRow(ts=1.0, route="/v1/chat/completions", status=200,
...                                prompt="user: hi", response="Hello!", verdict="complied")])
>>> samples.recent_transcripts(3)
[Transcript(ts=1.0, model=None, verdict='complied', prompt='user: hi', response='Hello!')]
>>> samples.prune(before=2.0)
1
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    request_id_hash TEXT,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    model TEXT,
    system_prompt_sha256 TEXT,
    streamed INTEGER NOT NULL,
    finish_reason TEXT,
    duration_s REAL,
    upstream_s REAL,
    ttfb_s REAL,
    prompt_words INTEGER,
    response_words INTEGER,
    verdict TEXT,
    redactions INTEGER NOT NULL DEFAULT 0,
    prompt TEXT,
    response TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS samples_ts ON samples(ts);
"""

_COLUMNS = ("ts, request_id_hash, route, status, model, system_prompt_sha256, streamed, "
            "finish_reason, duration_s, upstream_s, ttfb_s, prompt_words, response_words, "
            "verdict, redactions, prompt, response, error")


@dataclass(frozen=True)
class SampleRow:
    """One row, in column order (``prompt``/``response``: redacted, only when retained)."""

    ts: float
    route: str
    status: int
    request_id_hash: str | None = None
    model: str | None = None
    system_prompt_sha256: str | None = None
    streamed: bool = False
    finish_reason: str | None = None
    duration_s: float | None = None
    upstream_s: float | None = None
    ttfb_s: float | None = None
    prompt_words: int | None = None
    response_words: int | None = None
    verdict: str | None = None
    redactions: int = 0
    prompt: str | None = None
    response: str | None = None
    error: str | None = None

    def values(self) -> tuple[object, ...]:
        """The column values, in the order of the table's columns."""
        return (self.ts, self.request_id_hash, self.route, self.status, self.model,
                self.system_prompt_sha256, int(self.streamed), self.finish_reason,
                self.duration_s, self.upstream_s, self.ttfb_s, self.prompt_words,
                self.response_words, self.verdict, self.redactions, self.prompt, self.response,
                self.error)


def request_id_hash(request_id: str) -> str | None:
    """What is stored of a request id: the first 16 hex digits of its sha256 (None for none)."""
    return hashlib.sha256(request_id.encode()).hexdigest()[:16] if request_id else None


@dataclass(frozen=True)
class Transcript:
    """A retained (redacted) pair, for evidence packs."""

    ts: float
    model: str | None
    verdict: str | None
    prompt: str
    response: str


class SampleStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        store.ensure_schema(SCHEMA)

    def insert_many(self, rows: Sequence[SampleRow]) -> None:
        if not rows:
            return
        with self._store.transaction() as db:
            db.executemany(f"INSERT INTO samples ({_COLUMNS}) VALUES "
                           f"({', '.join('?' * 18)})", [r.values() for r in rows])

    def prune(self, *, before: float) -> int:
        """Delete rows older than ``before`` (unix time); returns how many."""
        with self._store.transaction() as db:
            return db.execute("DELETE FROM samples WHERE ts < ?", (before,)).rowcount

    def recent_transcripts(self, limit: int) -> list[Transcript]:
        """The ``limit`` most recent rows that retained text, newest first."""
        rows = self._store.query(
            "SELECT ts, model, verdict, prompt, response FROM samples WHERE prompt IS NOT NULL "
            "AND response IS NOT NULL ORDER BY id DESC LIMIT ?", (limit,))
        return [Transcript(*r) for r in rows]


class NotAStore(ValueError):
    """The file is not a Tunewatch store one can read samples from; the message says why."""


def read_recent_pairs(path: Path, limit: int) -> list[tuple[str, str]]:
    """The ``limit`` most recent retained (prompt, response) pairs of successful requests in the
    store at ``path``, oldest first, read-only (the database is not changed or created)."""
    if not path.exists():
        raise NotAStore(f"{path}: no such database")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT prompt, response FROM samples WHERE prompt IS NOT NULL AND response IS "
                "NOT NULL AND status < 400 ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
    except sqlite3.Error as exc:
        raise NotAStore(f"{path}: not a Tunewatch store ({exc})") from None
    return [(p, r) for p, r in reversed(rows)]
