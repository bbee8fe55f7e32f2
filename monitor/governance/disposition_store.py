"""Durable, append-only disposition history in SQLite (this module owns table ``dispositions``).

Nothing is updated in place: SQLite triggers abort any ``UPDATE`` or ``DELETE`` of a row. A new
disposition for the same bound fingerprint supersedes the previous one (its ``supersedes`` column
names it), so the history of a fingerprint is a chain, and the *heads* (records nobody superseded)
are the decisions in force. The current disposition of a serving fingerprint is the newest head
that covers it.

>>> from monitor.store import Store
>>> ds = DispositionStore(store=Store(":memory:"), clock=lambda: 1_800_000_000.0)
>>> base = {"owner": "gov@example.com", "recorded_by": "alice", "fingerprint": {"model": "tw-safe"}}
>>> first = ds.record({**base, "reference": "DR-2026-014", "decision": "rejected"})
>>> second = ds.record({**base, "reference": "DR-2026-015", "decision": "approved"})
>>> second.supersedes == first.id, ds.current_for({"model": "tw-safe"}).reference
(True, 'DR-2026-015')
>>> ds.current_for({"model": "tw-drift-3"}) is None
True
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.governance.dispositions import (
    DEFAULT_REFERENCE_PATTERN,
    Control,
    Disposition,
    DispositionInput,
    EvidenceLink,
    binding,
    fingerprint_id,
    parse_input,
)
from monitor.governance.schema import Migration, migrate
from monitor.store import Store

log = logging.getLogger("tunewatch.governance")

COMPONENT = "dispositions"
_IMMUTABLE = "dispositions are immutable: record a new disposition that supersedes this one"
MIGRATIONS = (
    Migration(1, "dispositions: append-only history", (
        "CREATE TABLE dispositions ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " reference TEXT NOT NULL,"
        " decision TEXT NOT NULL CHECK (decision IN"
        "  ('approved', 'approved-with-conditions', 'rejected')),"
        " owner TEXT NOT NULL,"
        " fingerprint_id TEXT NOT NULL,"
        " fingerprint TEXT NOT NULL,"       # JSON {component: [values]}
        " controls TEXT NOT NULL,"          # JSON [{component, value, note}]
        " conditions TEXT NOT NULL,"        # JSON [text]
        " evidence TEXT NOT NULL,"          # JSON [{title, url, sha256}]
        " tickets TEXT NOT NULL,"           # JSON ["TW-3"]
        " decided_at REAL NOT NULL,"
        " expires_at REAL,"
        " recorded_at REAL NOT NULL,"
        " recorded_by TEXT NOT NULL,"
        " note TEXT,"
        " supersedes INTEGER UNIQUE REFERENCES dispositions (id))",
        "CREATE INDEX dispositions_fingerprint ON dispositions (fingerprint_id, id)",
        "CREATE INDEX dispositions_reference ON dispositions (reference, id)",
        f"CREATE TRIGGER dispositions_no_update BEFORE UPDATE ON dispositions "
        f"BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END",
        f"CREATE TRIGGER dispositions_no_delete BEFORE DELETE ON dispositions "
        f"BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END",
    )),
)

_COLS = ("d.id, d.reference, d.decision, d.owner, d.fingerprint_id, d.fingerprint, d.controls, "
         "d.conditions, d.evidence, d.tickets, d.decided_at, d.expires_at, d.recorded_at, "
         "d.recorded_by, d.note, d.supersedes, s.id")
_FROM = "FROM dispositions d LEFT JOIN dispositions s ON s.supersedes = d.id"


def _row(r: Sequence[Any]) -> Disposition:
    return Disposition(
        id=int(r[0]), reference=r[1], decision=r[2], owner=r[3], fingerprint_id=r[4],
        fingerprint={k: tuple(v) for k, v in json.loads(r[5]).items()},
        controls=tuple(Control(**c) for c in json.loads(r[6])),
        conditions=tuple(json.loads(r[7])),
        evidence=tuple(EvidenceLink(**e) for e in json.loads(r[8])),
        tickets=tuple(json.loads(r[9])), decided_at=float(r[10]),
        expires_at=None if r[11] is None else float(r[11]), recorded_at=float(r[12]),
        recorded_by=r[13], note=r[14], supersedes=r[15], superseded_by=r[16])


class DispositionStore:
    """Record and query dispositions. Thread-safe; listeners hear of each new record."""

    def __init__(self, *, store: Store, clock: Callable[[], float] = time.time,
                 reference_pattern: str = DEFAULT_REFERENCE_PATTERN) -> None:
        self._store = store
        self._clock = clock
        self._pattern = reference_pattern
        self._listeners: list[Callable[[Disposition], None]] = []
        self._lock = threading.Lock()
        migrate(store, component=COMPONENT, migrations=MIGRATIONS, clock=clock)

    def add_listener(self, listener: Callable[[Disposition], None]) -> None:
        """``listener(disposition)`` runs after each record is committed."""
        self._listeners.append(listener)

    # -- writing -------------------------------------------------------------------------------
    def record(self, data: DispositionInput | Mapping[str, Any]) -> Disposition:
        """Validate and append a disposition; raises ``DispositionError`` on bad input."""
        raw = data.model_dump() if isinstance(data, DispositionInput) else data
        d = parse_input(raw, reference_pattern=self._pattern)
        now = self._clock()
        bound = binding(d)
        fid = fingerprint_id(bound)
        with self._lock, self._store.transaction() as db:
            db.execute("BEGIN IMMEDIATE")  # the head lookup and the insert are one step
            head = db.execute(
                f"SELECT d.id {_FROM} WHERE d.fingerprint_id = ? AND s.id IS NULL "
                "ORDER BY d.id DESC LIMIT 1", (fid,)).fetchone()
            cur = db.execute(
                "INSERT INTO dispositions (reference, decision, owner, fingerprint_id, fingerprint, "
                "controls, conditions, evidence, tickets, decided_at, expires_at, recorded_at, "
                "recorded_by, note, supersedes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (d.reference, d.decision, d.owner, fid,
                 json.dumps({k: list(v) for k, v in bound.items()}, sort_keys=True),
                 json.dumps([c.model_dump() for c in d.controls]),
                 json.dumps(list(d.conditions)),
                 json.dumps([e.model_dump() for e in d.evidence]),
                 json.dumps(list(d.tickets)),
                 d.decided_at if d.decided_at is not None else now, d.expires_at, now,
                 d.recorded_by, d.note, head[0] if head else None))
            new_id = int(cur.lastrowid or 0)
            stored = _row(db.execute(f"SELECT {_COLS} {_FROM} WHERE d.id = ?",
                                     (new_id,)).fetchone())
        log.info("disposition recorded: id=%d reference=%s decision=%s fingerprint=%s",
                 stored.id, stored.reference, stored.decision, stored.fingerprint_id)
        for listener in list(self._listeners):
            try:
                listener(stored)
            except Exception:
                log.exception("disposition listener failed")
        return stored

    # -- reading -------------------------------------------------------------------------------
    def _select(self, where: str = "", params: Sequence[Any] = (), *, order: str = "d.id",
                limit: int | None = None) -> list[Disposition]:
        sql = f"SELECT {_COLS} {_FROM} {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_row(r) for r in self._store.query(sql, params)]

    def get(self, disposition_id: int) -> Disposition | None:
        rows = self._select("WHERE d.id = ?", (disposition_id,))
        return rows[0] if rows else None

    def by_reference(self, reference: str) -> list[Disposition]:
        """Every record under ``reference``, oldest first."""
        return self._select("WHERE d.reference = ?", (reference.strip(),))

    def history(self, fingerprint_id: str) -> list[Disposition]:
        """The supersession chain of one bound fingerprint, oldest first."""
        return self._select("WHERE d.fingerprint_id = ?", (fingerprint_id,))

    def list_records(self, *, decision: str | None = None, heads_only: bool = False,
             limit: int = 100) -> list[Disposition]:
        """Newest first; ``heads_only`` keeps the records nobody superseded."""
        clauses, params = [], []
        if decision is not None:
            clauses.append("d.decision = ?")
            params.append(decision)
        if heads_only:
            clauses.append("s.id IS NULL")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select(where, params, order="d.id DESC", limit=limit)

    def for_ticket(self, ticket_ref: str) -> list[Disposition]:
        """Records that name ``ticket_ref`` (e.g. ``TW-3``) among the tickets they answer."""
        return self._select("WHERE EXISTS (SELECT 1 FROM json_each(d.tickets) t "
                            "WHERE t.value = ?)", (ticket_ref,))

    def latest_id(self) -> int:
        """The newest record's number (0: none); another process's record raises it."""
        rows = self._store.query("SELECT MAX(id) FROM dispositions")
        return int(rows[0][0] or 0) if rows else 0

    def heads(self) -> list[Disposition]:
        return self._select("WHERE s.id IS NULL", order="d.id DESC")

    def current_for(self, serving: Mapping[str, str]) -> Disposition | None:
        """The newest decision in force that covers ``serving`` (None: nothing covers it, or
        nothing is being served yet)."""
        if not serving:
            return None
        for d in self.heads():
            if d.covers(serving):
                return d
        return None

    def resolve(self, key: str) -> list[Disposition]:
        """Records named by ``key``: a numeric id (one record) or a reference (all of it)."""
        k = key.strip()
        if k.isdigit():
            one = self.get(int(k))
            return [one] if one else []
        return self.by_reference(k)
