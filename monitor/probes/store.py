"""The probe tables: ``probe_runs`` (one row per run: status, counts, verdicts per category),
``probe_attempts`` (outcomes only, no raw text), ``probe_state`` (rotation offset, the
per-category evidence ledgers of the sequential tests, pool passes per epoch) and
``probe_base_verdicts`` (the base model's verdict per unit, cached: the base does not change, so
each unit is sent to it once).

This module owns them; the scheduler writes runs through :class:`ProbeStore`, the detector host
keeps the probe CUSUMs in ``probe_state`` rows (:meth:`ProbeStore.slot`), and the evidence pack
reads the latest successful run (:meth:`ProbeStore.latest_ok`).

>>> from monitor.store import Store
>>> runs = ProbeStore(Store(":memory:"))
>>> runs.record_failure(run_id="r1", started=1.0, ended=2.0, suite_name="default",
...                     suite_hash="h", baseline_run_id=None, error="TargetUnreachable")
>>> runs.last_run_times(), runs.latest_ok() is None
((2.0, None), True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.probes.attempt import ScoredAttempt
from monitor.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS probe_runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    status TEXT NOT NULL,              -- ok | failed
    suite_name TEXT NOT NULL,
    suite_hash TEXT NOT NULL,
    baseline_run_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    regressions TEXT NOT NULL DEFAULT '[]',   -- JSON list of categories
    summary TEXT NOT NULL DEFAULT '{}',       -- JSON: per-category counts, rates, p-values
    error TEXT
);
CREATE TABLE IF NOT EXISTS probe_attempts (
    run_id TEXT NOT NULL,
    probe_id TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,             -- pass | fail | unscoreable
    verdict TEXT,
    detail TEXT,
    error TEXT,
    finish_reason TEXT,
    model TEXT,
    latency_s REAL,
    PRIMARY KEY (run_id, probe_id, repeat)
);
CREATE INDEX IF NOT EXISTS probe_attempts_category ON probe_attempts (category, run_id);
CREATE TABLE IF NOT EXISTS probe_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS probe_base_verdicts (
    base TEXT NOT NULL,                -- key of the base endpoint, model and judge
    unit TEXT NOT NULL,                -- category:unit id
    refused INTEGER NOT NULL,          -- 1 refused, 0 complied (unscoreable is not cached)
    run_id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (base, unit)
);
"""

ROTATION_OFFSET = "rotation_offset"


def cusum_key(category: str) -> str:
    """The ``probe_state`` key of a category's refusal CUSUM (against the baseline)."""
    return f"cusum:{category}"


def paired_key(category: str) -> str:
    """The ``probe_state`` key of a category's paired test (against the base model)."""
    return f"paired:{category}"


@dataclass(frozen=True)
class ProbeRunRecord:
    """A successful run as stored: ``summary`` maps category to its counts, test result
    (``baseline_failed``, ``baseline_n``, ``p_adjusted``, ``regression``, ...) and CUSUM state."""

    run_id: str
    ended_at: float
    suite_name: str
    suite_hash: str
    baseline_run_id: str | None
    attempts: int
    regressions: list[str]
    summary: dict[str, dict[str, Any]]


class ProbeStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        store.ensure_schema(DDL)

    # -- runs ------------------------------------------------------------------------------------
    def record_failure(self, *, run_id: str, started: float, ended: float, suite_name: str,
                       suite_hash: str, baseline_run_id: str | None, error: str) -> None:
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO probe_runs (run_id, started_at, ended_at, status, suite_name, "
                "suite_hash, baseline_run_id, error) VALUES (?, ?, ?, 'failed', ?, ?, ?, ?)",
                (run_id, started, ended, suite_name, suite_hash, baseline_run_id, error),
            )

    def record_success(self, *, run_id: str, started: float, ended: float, suite_name: str,
                       suite_hash: str, baseline_run_id: str | None, regressions: Sequence[str],
                       summary: Mapping[str, Mapping[str, Any]],
                       attempts: Sequence[ScoredAttempt], rotation_offset: int,
                       state: Mapping[str, Mapping[str, Any]]) -> None:
        """The run, its attempts, the next rotation offset and ``state`` (``probe_state`` key ->
        CUSUM state dict) in one transaction: a crash records all of it or none."""
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO probe_runs (run_id, started_at, ended_at, status, suite_name, "
                "suite_hash, baseline_run_id, attempts, regressions, summary) "
                "VALUES (?, ?, ?, 'ok', ?, ?, ?, ?, ?, ?)",
                (run_id, started, ended, suite_name, suite_hash, baseline_run_id, len(attempts),
                 json.dumps(list(regressions)), json.dumps(summary, sort_keys=True)),
            )
            db.executemany(
                "INSERT INTO probe_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, sa.attempt.probe_id, sa.attempt.repeat, sa.attempt.category,
                  sa.outcome, sa.verdict, sa.detail, sa.attempt.error, sa.attempt.finish_reason,
                  sa.attempt.model, sa.attempt.latency_s) for sa in attempts],
            )
            db.execute("INSERT OR REPLACE INTO probe_state VALUES (?, ?)",
                       (ROTATION_OFFSET, str(rotation_offset)))
            for key, value in state.items():
                db.execute("INSERT OR REPLACE INTO probe_state VALUES (?, ?)",
                           (key, json.dumps(dict(value))))

    def last_run_times(self) -> tuple[float | None, float | None]:
        """End of the last run and of the last successful run (None when there is none)."""
        rows = self._store.query(
            "SELECT max(ended_at), max(CASE WHEN status = 'ok' THEN ended_at END) FROM probe_runs")
        return rows[0] if rows else (None, None)

    def latest_ok(self) -> ProbeRunRecord | None:
        rows = self._store.query(
            "SELECT run_id, ended_at, suite_name, suite_hash, baseline_run_id, attempts, "
            "regressions, summary FROM probe_runs WHERE status = 'ok' "
            "ORDER BY ended_at DESC LIMIT 1")
        if not rows:
            return None
        run_id, ended, suite, suite_hash, base_id, attempts, regs, summary = rows[0]
        return ProbeRunRecord(run_id=run_id, ended_at=ended, suite_name=suite,
                              suite_hash=suite_hash, baseline_run_id=base_id, attempts=attempts,
                              regressions=json.loads(regs), summary=json.loads(summary))

    def canary_tallies(self, run_id: str) -> dict[str, tuple[int, int]]:
        """Category -> (canary checks, leaks) of a run: the attempts scored by canary detection
        (``detail`` ``canary:none`` passed, ``canary:<how>`` leaked). No canary text is read."""
        return {cat: (int(n), int(leaks or 0)) for cat, n, leaks in self._store.query(
            "SELECT category, COUNT(*), SUM(outcome = 'fail') FROM probe_attempts "
            "WHERE run_id = ? AND detail LIKE 'canary:%' AND outcome != 'unscoreable' "
            "GROUP BY category ORDER BY category", (run_id,))}

    def attempt_probe_ids(self, run_id: str) -> set[str]:
        return {r[0] for r in self._store.query(
            "SELECT probe_id FROM probe_attempts WHERE run_id = ?", (run_id,))}

    # -- state -----------------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        rows = self._store.query("SELECT value FROM probe_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_state(self, key: str, value: str) -> None:
        with self._store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO probe_state VALUES (?, ?)", (key, value))

    # -- base model verdicts -----------------------------------------------------------------
    def base_verdicts(self, base: str, units: Sequence[str]) -> dict[str, bool]:
        """``unit -> refused`` of the cached base verdicts among ``units``."""
        out: dict[str, bool] = {}
        for i in range(0, len(units), 500):
            chunk = list(units[i:i + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._store.query(
                f"SELECT unit, refused FROM probe_base_verdicts WHERE base = ? AND unit IN "
                f"({marks})", (base, *chunk))
            out.update({u: bool(r) for u, r in rows})
        return out

    def save_base_verdicts(self, base: str, verdicts: Mapping[str, bool], *, run_id: str,
                           at: float) -> None:
        with self._store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO probe_base_verdicts VALUES (?, ?, ?, ?, ?)",
                           [(base, u, int(r), run_id, at) for u, r in verdicts.items()])

    def slot(self, key: str) -> ProbeStateSlot:
        return ProbeStateSlot(self._store, key)


class ProbeStateSlot:
    """A JSON row of ``probe_state`` (a :class:`monitor.detection.host.StateSlot`)."""

    def __init__(self, store: Store, key: str) -> None:
        self._store = store
        self.key = key

    def load(self) -> dict[str, Any] | None:
        rows = self._store.query("SELECT value FROM probe_state WHERE key = ?", (self.key,))
        return json.loads(rows[0][0]) if rows else None

    def save(self, state: Mapping[str, Any]) -> None:
        with self._store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO probe_state VALUES (?, ?)",
                       (self.key, json.dumps(dict(state))))
