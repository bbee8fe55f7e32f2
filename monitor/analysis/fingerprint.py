"""Deployment fingerprint: which model, system prompts and deployment-layer versions are live.

Values come from traffic (the ``model`` of responses, the sha256 of each distinct system prompt),
from the upstream's ``GET /v1/models``, from configuration (output filter and scope versions) and
from the governance loop (one digest of the verified artefacts, one of the adapters the server
reports). Seen values persist in SQLite so that a restart is not mistaken for a change, while a
change that happened across a restart is still noticed. Only hashes and model ids are stored or
exported; every value is made one printable line of at most :data:`MAX_VALUE_CHARS` characters
first (``monitor/untrusted.py``), and is recorded in memory only once the store has it, so a value
the store refuses leaves the tracker as it was.

Two events, two kinds of listener:

* :meth:`FingerprintTracker.add_listener` — a *change*: a value never seen before replaced the
  current one (what opens a re-assessment ticket);
* :meth:`FingerprintTracker.add_current_listener` — the *current* value changed, to a new value or
  back to one seen before (what the review state needs: a return to the reviewed output filter
  makes the deployment reviewed again).

:func:`read_current` reads the stored current values without a tracker (tools beside the daemon).

>>> from prometheus_client import CollectorRegistry
>>> from monitor.metrics import Metrics
>>> from monitor.store import Store
>>> store = Store(":memory:")
>>> t = FingerprintTracker(metrics=Metrics(CollectorRegistry()).deployment, store=store,
...                        clock=lambda: 100.0)
>>> t.observe("model", "gemma-3-270m") is None   # the first value is not a change
True
>>> t.observe("model", "gemma-3-270m-ft2").before
'gemma-3-270m'
>>> seen = []
>>> t.add_current_listener(lambda c: seen.append((c.after, c.first_seen)))
>>> t.observe("model", "gemma-3-270m") is None   # back to a known value: no change...
True
>>> seen                                         # ...but the current value changed
[('gemma-3-270m', False)]
>>> read_current(store)
{'model': 'gemma-3-270m'}
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
    """``component`` went from ``before`` to ``after``; ``first_seen``: ``after`` had never been
    seen (a change in the tracker's sense), else a return to a known value."""

    component: str
    before: str | None
    after: str
    at: float
    first_seen: bool = True


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
        self._current_listeners: list[Callable[[Change], None]] = []
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
        """``listener(change)`` for each change: a never-seen value became current."""
        self._listeners.append(listener)

    def add_current_listener(self, listener: Callable[[Change], None]) -> None:
        """``listener(change)`` whenever a current value changes, to a new value or back to a
        known one (``change.first_seen`` tells which), and for a component's first value
        (``before`` None). Called on the observing thread, after the change listeners; it must
        return quickly."""
        self._current_listeners.append(listener)

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
        change = Change(component=component, before=before, after=value, at=now,
                        first_seen=is_new)
        if before is not None and is_new:
            with self._store.transaction() as db:
                db.execute(
                    "INSERT INTO fingerprint_last_change VALUES (?, ?) ON CONFLICT(component) "
                    "DO UPDATE SET at = excluded.at",
                    (component, now),
                )
            self._metrics.changed(component, now)
            log.warning("deployment fingerprint changed: component=%s", component)
            self._notify(self._listeners, change)
        self._notify(self._current_listeners, change)
        return change if before is not None and is_new else None

    def _notify(self, listeners: list[Callable[[Change], None]], change: Change) -> None:
        for listener in list(listeners):
            try:
                listener(change)
            except Exception:
                self._metrics.monitor_error("trigger")
                log.exception("fingerprint listener failed")


def read_current(store: Store) -> dict[str, str]:
    """The current value of each component as the tracker last stored it (for tools that run
    beside the daemon, e.g. ``tunewatch disposition record --current``)."""
    store.ensure_schema(SCHEMA)
    return {c: v for c, v in store.query("SELECT component, value FROM fingerprint_current "
                                         "ORDER BY component")}
