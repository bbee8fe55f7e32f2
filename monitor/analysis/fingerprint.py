"""Deployment fingerprint: which model, system prompts and deployment-layer versions are live.

Values come from traffic (the ``model`` of responses, the sha256 of each distinct system prompt),
from the upstream's ``GET /v1/models``, and from configuration (output filter and scope versions).
Seen values persist in SQLite so that a restart is not mistaken for a change, while a change that
happened across a restart is still noticed. Only hashes and model ids are stored or exported;
every value is made one printable line of at most :data:`MAX_VALUE_CHARS` characters first
(``monitor/untrusted.py``), and is recorded in memory only once the store has it, so a value the
store refuses leaves the tracker as it was.

>>> from prometheus_client import CollectorRegistry
>>> from monitor.metrics import Metrics
>>> from monitor.store import Store
>>> t = FingerprintTracker(metrics=Metrics(CollectorRegistry()).deployment,
...                        store=Store(":memory:"), clock=lambda: 100.0)
>>> t.observe("model", "gemma-3-270m") is None   # the first value is not a change
True
>>> t.observe("model", "gemma-3-270m-ft2").before
'gemma-3-270m'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor.metrics.deployment import DEPLOYMENT_COMPONENTS, DeploymentMetrics
from monitor.store import Store
from monitor.untrusted import safe_token

log = logging.getLogger("tunewatch.fingerprint")

MAX_VALUE_CHARS = 256

SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprint (
    component TEXT NOT NULL,
    value TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (component, value)
);
CREATE TABLE IF NOT EXISTS fingerprint_current (
    component TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fingerprint_last_change (
    component TEXT PRIMARY KEY,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Change:
    component: str
    before: str | None
    after: str
    at: float


@dataclass(frozen=True)
class SeenValue:
    """A value a component has had, and when it was first seen."""

    component: str
    value: str
    first_seen: float


class FingerprintTracker:
    """Tracks the current value of each component; a never-seen value is a change."""

    def __init__(
        self,
        *,
        metrics: DeploymentMetrics,
        store: Store,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Change], None]] = []
        store.ensure_schema(SCHEMA)
        self._seen: dict[str, set[str]] = {c: set() for c in DEPLOYMENT_COMPONENTS}
        self._current: dict[str, str] = {}
        seen_in_order: dict[str, list[str]] = {}
        for component, value in store.query("SELECT component, value FROM fingerprint "
                                            "ORDER BY first_seen, rowid"):
            self._seen.setdefault(component, set()).add(value)
            seen_in_order.setdefault(component, []).append(value)
        for component, values in seen_in_order.items():
            metrics.known_values(component, values)  # they keep their label value
        for component, value in store.query("SELECT component, value FROM fingerprint_current"):
            self._current[component] = value
            metrics.show(component, value)
        # A restart must not make a recent change look resolved.
        for component, at in store.query("SELECT component, at FROM fingerprint_last_change"):
            metrics.last_change(component, at)

    def add_listener(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def current(self) -> dict[str, str]:
        with self._lock:
            return dict(self._current)

    def history(self) -> list[SeenValue]:
        """Every value each component has had, by component in the order first seen."""
        return [SeenValue(c, v, t) for c, v, t in self._store.query(
            "SELECT component, value, first_seen FROM fingerprint "
            "ORDER BY component, first_seen, rowid")]

    def observe(self, component: str, value: str) -> Change | None:
        """Record ``value``; return a :class:`Change` if it differs from the current one and was
        never seen before (apps that alternate between known system prompts are not changes)."""
        if component not in DEPLOYMENT_COMPONENTS:
            raise ValueError(f"unknown fingerprint component {component!r}")
        safe = safe_token(value, max_chars=MAX_VALUE_CHARS)
        if safe is None:
            return None
        value = safe
        now = self._clock()
        with self._lock:
            before = self._current.get(component)
            if before == value:
                return None
            seen = self._seen.setdefault(component, set())
            is_new = value not in seen
            with self._store.transaction() as db:
                db.execute(
                    "INSERT INTO fingerprint VALUES (?, ?, ?, ?) ON CONFLICT(component, value) "
                    "DO UPDATE SET last_seen = excluded.last_seen",
                    (component, value, now, now),
                )
                db.execute(
                    "INSERT INTO fingerprint_current VALUES (?, ?, ?) ON CONFLICT(component) "
                    "DO UPDATE SET value = excluded.value, since = excluded.since",
                    (component, value, now),
                )
            seen.add(value)
            self._current[component] = value
            self._metrics.show(component, value, previous=before)
        if before is None or not is_new:
            return None
        change = Change(component=component, before=before, after=value, at=now)
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO fingerprint_last_change VALUES (?, ?) ON CONFLICT(component) "
                "DO UPDATE SET at = excluded.at",
                (component, now),
            )
        self._metrics.changed(component, now)
        log.warning("deployment fingerprint changed: component=%s", component)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                self._metrics.monitor_error("trigger")
                log.exception("fingerprint listener failed")
        return change
