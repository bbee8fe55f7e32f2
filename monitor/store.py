"""The daemon's embedded SQLite store.

One database file holds samples, detector state, references, probe runs, triggers and the outbox.
Each component owns its tables: it passes its DDL to :meth:`Store.ensure_schema` once at start.
Connections are per thread (SQLite objects must not cross threads); WAL mode lets the analysis
worker write while the admin API reads. Switching a new file to WAL takes an exclusive lock that
SQLite's busy handler does not wait for: two connections opening a fresh file at once (the daemon
and a CLI command) could get "database is locked"; the switch is retried, bounded.

>>> s = Store(":memory:")
>>> s.ensure_schema("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)")
>>> with s.transaction() as db:
...     _ = db.execute("INSERT INTO kv VALUES ('a', '1')")
>>> s.query("SELECT v FROM kv WHERE k = ?", ("a",))
[('1',)]
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Store:
    """Thread-safe access to one SQLite database (a connection per thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        # ":memory:" databases are per connection; share one (serialised by the lock) instead.
        self._shared: sqlite3.Connection | None = None
        if self.path == ":memory:":
            self._shared = sqlite3.connect(":memory:", check_same_thread=False)

    def connection(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def ensure_schema(self, ddl: str) -> None:
        with self.transaction() as db:
            db.executescript(ddl)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically: commit on success, roll back on error."""
        conn = self.connection()
        lock = self._lock if self._shared is not None else _NullLock()
        with lock:
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as db:
            return list(db.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        if self._shared is not None:
            self._shared.close()
            self._shared = None


WAL_ATTEMPTS = 60  # about 10 s in all


def _enable_wal(conn: sqlite3.Connection, *, attempts: int = WAL_ATTEMPTS) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the lock it needs."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(min(0.25, 0.01 * (attempt + 1)))


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
