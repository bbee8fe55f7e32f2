"""Tickets and their durable outbox in SQLite.

A trigger and the outbox rows that announce it to every sink are written in ONE transaction, so a
crash either records both or neither. Each outbox row has an idempotency key
(``<ticket uid>:<event>:<seq>``) that sinks use to make a repeated delivery harmless; a row is
marked delivered only after its sink accepted it. At most one ticket per dedup key is open (a
partial unique index enforces it): a repeated firing adds an ``updated`` event to the open ticket;
``ack`` closes it with a ``closed`` event.

>>> from monitor.store import Store
>>> from monitor.triggers.model import TriggerEvent
>>> box = Outbox(store=Store(":memory:"), sinks=["dir"], clock=lambda: 10.0)
>>> ev = TriggerEvent(type="drift", dedup_key="drift:prompt", title="t", source="drift")
>>> t1, new1 = box.record(ev, owner="sre", evidence={"n": 1})
>>> t2, new2 = box.record(ev, owner="sre", evidence={"n": 2})
>>> (t1.ref, new1), (t2.ref, new2, t2.fire_count)
(('TW-1', True), ('TW-1', False, 2))
>>> [(r.event, r.seq) for r in box.pending()]   # the update waits for the opened event
[('opened', 0)]
>>> box.mark_delivered(box.pending()[0].id)
>>> [(r.event, r.seq) for r in box.pending()]
[('updated', 1)]
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.store import Store
from monitor.triggers.model import Ticket, TriggerEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS triggers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    dedup_key TEXT NOT NULL,
    type TEXT NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,               -- open | acked
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    fire_count INTEGER NOT NULL DEFAULT 1,
    seq INTEGER NOT NULL DEFAULT 0,    -- last event sequence number
    evidence TEXT NOT NULL             -- JSON of the latest evidence pack
);
CREATE UNIQUE INDEX IF NOT EXISTS triggers_open_key ON triggers (dedup_key) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS trigger_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger_id INTEGER NOT NULL REFERENCES triggers (id),
    sink TEXT NOT NULL,
    event TEXT NOT NULL,               -- opened | updated | closed
    seq INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload TEXT NOT NULL,             -- JSON: ticket summary, evidence, source
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (sink, idempotency_key)
);
CREATE INDEX IF NOT EXISTS trigger_outbox_pending ON trigger_outbox (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS trigger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_sink_refs (
    trigger_id INTEGER NOT NULL,
    sink TEXT NOT NULL,
    ref TEXT NOT NULL,                 -- e.g. GitHub issue number, Jira key
    PRIMARY KEY (trigger_id, sink)
);
"""

_COLS = ("id, uid, dedup_key, type, owner, state, title, created_at, updated_at, fire_count, "
         "evidence")


@dataclass(frozen=True)
class OutboxItem:
    id: int
    trigger_id: int
    sink: str
    event: str
    seq: int
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: float = 0.0


def _finite(obj: Any) -> Any:
    """Replace NaN/Inf (not JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _dumps(obj: Any) -> str:
    return json.dumps(_finite(obj), sort_keys=True, default=str, allow_nan=False)


def _ticket(row: Sequence[Any]) -> Ticket:
    return Ticket(id=row[0], uid=row[1], dedup_key=row[2], type=row[3], owner=row[4],
                  state=row[5], title=row[6], created_at=row[7], updated_at=row[8],
                  fire_count=row[9], evidence=json.loads(row[10]))


class Outbox:
    def __init__(self, *, store: Store, sinks: Sequence[str],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.sinks = list(sinks)
        self._clock = clock
        self._lock = threading.Lock()
        store.ensure_schema(SCHEMA)
        with store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO trigger_meta VALUES ('created_at', ?)",
                       (repr(clock()),))

    # -- writing -----------------------------------------------------------------------------
    def record(self, event: TriggerEvent, *, owner: str, evidence: dict[str, Any]
               ) -> tuple[Ticket, bool]:
        """Open a ticket for ``event.dedup_key`` or update the open one; enqueue the deliveries.

        Returns the ticket and whether it was newly opened."""
        now = self._clock()
        with self._lock, self.store.transaction() as db:
            row = db.execute(f"SELECT {_COLS}, seq FROM triggers WHERE dedup_key = ? AND "
                             "state = 'open'", (event.dedup_key,)).fetchone()
            if row is None:
                uid = uuid.uuid4().hex
                cur = db.execute(
                    "INSERT INTO triggers (uid, dedup_key, type, owner, state, title, created_at, "
                    "updated_at, fire_count, seq, evidence) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, "
                    "1, 0, ?)",
                    (uid, event.dedup_key, event.type, owner, event.title, now, now,
                     _dumps(evidence)),
                )
                tid, seq, kind, is_new = int(cur.lastrowid or 0), 0, "opened", True
            else:
                tid, seq, kind, is_new = int(row[0]), int(row[11]) + 1, "updated", False
                db.execute("UPDATE triggers SET fire_count = fire_count + 1, seq = ?, "
                           "updated_at = ?, evidence = ? WHERE id = ?",
                           (seq, now, _dumps(evidence), tid))
            ticket = _ticket(db.execute(f"SELECT {_COLS} FROM triggers WHERE id = ?",
                                        (tid,)).fetchone())
            self._enqueue(db, ticket, kind, seq, {"source": event.source,
                                                  "what_changed": event.what_changed})
        return ticket, is_new

    def ack(self, ticket_id: int, *, by: str = "cli", extra: Mapping[str, Any] | None = None
            ) -> Ticket:
        """Close an open ticket (sinks get a ``closed`` event, with ``extra`` merged into its
        payload, e.g. the disposition it was acknowledged with). Raises KeyError / ValueError."""
        now = self._clock()
        with self._lock, self.store.transaction() as db:
            row = db.execute(f"SELECT {_COLS}, seq FROM triggers WHERE id = ?",
                             (ticket_id,)).fetchone()
            if row is None:
                raise KeyError(f"no ticket TW-{ticket_id}")
            if row[5] != "open":
                raise ValueError(f"ticket TW-{ticket_id} is already {row[5]}")
            seq = int(row[11]) + 1
            db.execute("UPDATE triggers SET state = 'acked', seq = ?, updated_at = ? WHERE id = ?",
                       (seq, now, ticket_id))
            ticket = _ticket(db.execute(f"SELECT {_COLS} FROM triggers WHERE id = ?",
                                        (ticket_id,)).fetchone())
            self._enqueue(db, ticket, "closed", seq,
                          {**(extra or {}), "source": "ack", "acked_by": by})
        return ticket

    def _enqueue(self, db: sqlite3.Connection, ticket: Ticket, kind: str, seq: int,
                 extra: dict[str, Any]) -> None:
        key = f"{ticket.uid}:{kind}:{seq}"
        payload = {"event": kind, "idempotency_key": key, "ticket": ticket.summary(),
                   "evidence": ticket.evidence, **extra}
        body = _dumps(payload)
        now = self._clock()
        for sink in self.sinks:
            db.execute(
                "INSERT INTO trigger_outbox (trigger_id, sink, event, seq, idempotency_key, "
                "payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket.id, sink, kind, seq, key, body, now, now),
            )

    # -- delivery bookkeeping ----------------------------------------------------------------
    def pending(self, *, due_before: float | None = None) -> list[OutboxItem]:
        """Pending rows in delivery order; for each (ticket, sink) only the earliest row, so an
        update never overtakes the ``opened`` event it refers to."""
        rows = self.store.query(
            "SELECT id, trigger_id, sink, event, seq, idempotency_key, payload, attempts, "
            "next_attempt_at FROM trigger_outbox WHERE state = 'pending' ORDER BY id"
        )
        out: list[OutboxItem] = []
        blocked: set[tuple[int, str]] = set()
        for r in rows:
            pair = (r[1], r[2])
            if pair in blocked or r[2] not in self.sinks:
                continue
            blocked.add(pair)
            if due_before is not None and r[8] > due_before:
                continue
            out.append(OutboxItem(id=r[0], trigger_id=r[1], sink=r[2], event=r[3], seq=r[4],
                                  idempotency_key=r[5], payload=json.loads(r[6]), attempts=r[7],
                                  next_attempt_at=r[8]))
        return out

    def mark_delivered(self, item_id: int) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE trigger_outbox SET state = 'delivered', delivered_at = ?, "
                       "attempts = attempts + 1, last_error = NULL WHERE id = ?",
                       (self._clock(), item_id))

    def mark_failed(self, item_id: int, *, error: str, retry_at: float | None) -> None:
        """Record a failed attempt; ``retry_at=None`` parks the row as dead."""
        with self.store.transaction() as db:
            if retry_at is None:
                db.execute("UPDATE trigger_outbox SET state = 'dead', attempts = attempts + 1, "
                           "last_error = ? WHERE id = ?", (error[:300], item_id))
            else:
                db.execute("UPDATE trigger_outbox SET attempts = attempts + 1, last_error = ?, "
                           "next_attempt_at = ? WHERE id = ?", (error[:300], retry_at, item_id))

    def next_due(self) -> float | None:
        rows = self.store.query("SELECT MIN(next_attempt_at) FROM trigger_outbox "
                                "WHERE state = 'pending'")
        return rows[0][0] if rows and rows[0][0] is not None else None

    def undelivered_by_ticket(self) -> dict[int, int]:
        """Ticket id -> outbox rows still pending for it (any sink)."""
        return {int(t): int(n) for t, n in self.store.query(
            "SELECT trigger_id, COUNT(*) FROM trigger_outbox WHERE state = 'pending' "
            "GROUP BY trigger_id")}

    def sinks_of(self, ticket_id: int) -> list[str]:
        """The sinks that ever carried an event of the ticket."""
        return [r[0] for r in self.store.query(
            "SELECT DISTINCT sink FROM trigger_outbox WHERE trigger_id = ? ORDER BY sink",
            (ticket_id,))]

    def depth(self) -> dict[str, int]:
        counts = dict.fromkeys(self.sinks, 0)
        for sink, n in self.store.query("SELECT sink, COUNT(*) FROM trigger_outbox WHERE "
                                        "state = 'pending' GROUP BY sink"):
            counts[sink] = int(n)
        return counts

    # -- sink references (issue numbers) -------------------------------------------------------
    def get_ref(self, trigger_id: int, sink: str) -> str | None:
        rows = self.store.query("SELECT ref FROM trigger_sink_refs WHERE trigger_id = ? AND "
                                "sink = ?", (trigger_id, sink))
        return rows[0][0] if rows else None

    def set_ref(self, trigger_id: int, sink: str, ref: str) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO trigger_sink_refs VALUES (?, ?, ?)",
                       (trigger_id, sink, ref))

    # -- reading ---------------------------------------------------------------------------------
    def tickets(self, *, state: str = "open") -> list[Ticket]:
        where = "" if state == "all" else "WHERE state = ?"
        params: tuple[Any, ...] = () if state == "all" else (state,)
        return [_ticket(r) for r in self.store.query(
            f"SELECT {_COLS} FROM triggers {where} ORDER BY id", params)]

    def get(self, ticket_id: int) -> Ticket | None:
        rows = self.store.query(f"SELECT {_COLS} FROM triggers WHERE id = ?", (ticket_id,))
        return _ticket(rows[0]) if rows else None

    def created_at(self) -> float:
        """When these tables were first created (changes before that are not reconciled)."""
        return float(self.store.query("SELECT value FROM trigger_meta WHERE key = 'created_at'"
                                      )[0][0])

    def has_key(self, dedup_key: str) -> bool:
        """Whether any ticket (open or acked) was ever raised for ``dedup_key``."""
        return bool(self.store.query("SELECT 1 FROM triggers WHERE dedup_key = ? LIMIT 1",
                                     (dedup_key,)))

    def open_ticket(self, dedup_key: str) -> Ticket | None:
        rows = self.store.query(f"SELECT {_COLS} FROM triggers WHERE dedup_key = ? AND "
                                "state = 'open'", (dedup_key,))
        return _ticket(rows[0]) if rows else None
