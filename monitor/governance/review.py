"""Is the serving deployment reviewed? The reviewer-state component.

Fed the serving fingerprint (:meth:`ReviewState.update`, subscribed to fingerprint changes) and
told of new dispositions (it listens to the :class:`DispositionStore`), it answers, at scrape time:

- ``tunewatch_deployment_reviewed`` — 1 when the newest disposition covering the serving
  fingerprint approves it (with or without conditions), has not expired and every control it relies
  on holds; 0 otherwise; no sample until a model or upstream model list has been observed (nothing
  is being served, so nothing unreviewed is).
- ``tunewatch_deployment_disposition_info{reference, decision}`` — one series: the disposition in
  force (``none``/``none`` when there is none). References are validated, bounded label values.

The rule on controls: when a value the *disposition in force* relies on (one of its ``controls``)
differs from what is being served, a :class:`ControlChanged` event is raised against that
disposition, once per (disposition, component, observed value) — remembered in SQLite (table
``disposition_control_events``, owned here) so a restart does not raise it again. The disposition in
force is the one covering the serving fingerprint, or, once the deployment moved off it, the last
one that did.

>>> from monitor.store import Store
>>> from monitor.governance.disposition_store import DispositionStore
>>> store = Store(":memory:")
>>> ds = DispositionStore(store=store, clock=lambda: 100.0)
>>> rs = ReviewState(dispositions=ds, store=store, clock=lambda: 200.0)
>>> rs.update({"model": "tw-safe", "output_filter": "v3"})
[]
>>> rs.status().reviewed
False
>>> _ = ds.record({"reference": "DR-2026-014", "decision": "approved", "owner": "gov",
...                "recorded_by": "alice", "fingerprint": {"model": "tw-safe"},
...                "controls": [{"component": "output_filter", "value": "v3"}]})
>>> rs.status().reviewed, rs.status().disposition.reference
(True, 'DR-2026-014')
>>> [(e.reference, e.component, e.expected, e.observed)
...  for e in rs.update({"model": "tw-safe", "output_filter": "v4"})]
[('DR-2026-014', 'output_filter', 'v3', 'v4')]
>>> rs.status().reviewed
False
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import Disposition
from monitor.governance.schema import Migration, migrate
from monitor.store import Store
from monitor.triggers.model import TITLES, TriggerEvent, fingerprint_key

log = logging.getLogger("tunewatch.governance.review")

COMPONENT = "review"
MIGRATIONS = (
    Migration(1, "control-change events raised against dispositions", (
        "CREATE TABLE disposition_control_events ("
        " disposition_id INTEGER NOT NULL, component TEXT NOT NULL, observed TEXT NOT NULL,"
        " expected TEXT NOT NULL, raised_at REAL NOT NULL,"
        " PRIMARY KEY (disposition_id, component, observed))",
    )),
)
# Components the fingerprint tracker watches: a control change there joins its ticket.
TRACKED = ("model", "system_prompt", "output_filter", "scope", "upstream_models")
SERVING_EVIDENCE = ("model", "upstream_models")  # something is being served once one is known

REVIEWED = "tunewatch_deployment_reviewed"
INFO = "tunewatch_deployment_disposition"


@dataclass(frozen=True)
class ControlChanged:
    """A control the disposition in force relies on no longer holds (a typed trigger source)."""

    disposition_id: int
    reference: str
    component: str
    expected: str
    observed: str
    at: float

    @property
    def dedup_key(self) -> str:
        """The fingerprint tracker's key for tracked components (one ticket per condition)."""
        if self.component in TRACKED:
            return fingerprint_key(self.component, self.observed)
        return f"disposition:{self.reference}:{self.component}:{self.observed[:64]}"

    def to_trigger_event(self) -> TriggerEvent:
        return TriggerEvent(
            type="deployment_layer_change", dedup_key=self.dedup_key,
            title=(f"{TITLES['deployment_layer_change']}: {self.component} "
                   f"{self.expected[:16]} -> {self.observed[:16]} (relied on by {self.reference})"),
            source="governance",
            what_changed={"component": self.component, "before": self.expected,
                          "after": self.observed, "at": self.at,
                          "disposition": self.reference, "disposition_id": self.disposition_id})


@dataclass(frozen=True)
class ReviewStatus:
    reviewed: bool | None  # None: nothing served yet
    reason: str
    serving: dict[str, str]
    disposition: Disposition | None  # the disposition in force
    uncovered: tuple[str, ...] = ()
    violated: tuple[str, ...] = ()
    unreviewed_since: float | None = None
    at: float = field(default=0.0, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"reviewed": self.reviewed, "reason": self.reason, "serving": dict(self.serving),
                "disposition": self.disposition.summary() if self.disposition else None,
                "uncovered": list(self.uncovered), "violated_controls": list(self.violated),
                "unreviewed_since": self.unreviewed_since}


def violated_controls(d: Disposition, serving: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(component, expected, observed) of each control of ``d`` the serving values break."""
    out = []
    for c in d.controls:
        observed = serving.get(c.component)
        if observed is not None and observed != c.value:
            out.append((c.component, c.value, observed))
    return out


class ReviewState:
    def __init__(self, *, dispositions: DispositionStore, store: Store,
                 clock: Callable[[], float] = time.time) -> None:
        self._dispositions = dispositions
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[ControlChanged], None]] = []
        self._serving: dict[str, str] = {}
        self._covering: Disposition | None = None
        self._in_force: Disposition | None = None
        self._unreviewed_since: float | None = None
        migrate(store, component=COMPONENT, migrations=MIGRATIONS, clock=clock)
        dispositions.add_listener(self._on_recorded)

    def add_listener(self, listener: Callable[[ControlChanged], None]) -> None:
        """``listener(event)`` for each :class:`ControlChanged` (e.g. the trigger service)."""
        self._listeners.append(listener)

    # -- inputs ----------------------------------------------------------------------------------
    def update(self, serving: Mapping[str, str]) -> list[ControlChanged]:
        """The serving fingerprint changed (or is reported at start); returns raised events."""
        with self._lock:
            self._serving = dict(serving)
            self._refresh()
            events = self._check_controls()
        self._notify(events)
        return events

    def _on_recorded(self, _: Disposition) -> None:
        self.refresh()

    def refresh(self) -> list[ControlChanged]:
        """Re-read the dispositions (one was recorded, here or by another process)."""
        with self._lock:
            self._refresh()
            events = self._check_controls()
        self._notify(events)
        return events

    def _refresh(self) -> None:
        self._covering = self._dispositions.current_for(self._serving)
        if self._covering is not None:
            self._in_force = self._covering
        elif self._in_force is not None:  # a superseded record is not in force any more
            newest = self._dispositions.history(self._in_force.fingerprint_id)
            self._in_force = newest[-1] if newest else None
        self._evaluate(self._clock())

    def _check_controls(self) -> list[ControlChanged]:
        d = self._in_force
        if d is None:
            return []
        now = self._clock()
        events = []
        for component, expected, observed in violated_controls(d, self._serving):
            with self._store.transaction() as db:
                cur = db.execute(
                    "INSERT OR IGNORE INTO disposition_control_events VALUES (?, ?, ?, ?, ?)",
                    (d.id, component, observed, expected, now))
                fresh = cur.rowcount == 1
            if fresh:
                events.append(ControlChanged(disposition_id=d.id, reference=d.reference,
                                             component=component, expected=expected,
                                             observed=observed, at=now))
        return events

    def _notify(self, events: list[ControlChanged]) -> None:
        for event in events:
            log.warning("control relied on by %s changed: component=%s", event.reference,
                        event.component)
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("control-change listener failed")

    # -- outputs ---------------------------------------------------------------------------------
    def _evaluate(self, now: float) -> ReviewStatus:
        serving, d, covering = dict(self._serving), self._in_force, self._covering
        if not any(k in serving for k in SERVING_EVIDENCE):
            self._unreviewed_since = None
            return ReviewStatus(reviewed=None, reason="no model observed yet", serving=serving,
                                disposition=d, at=now)
        violated = tuple(f"{c}: relies on {e[:64]}, serving {o[:64]}"
                         for c, e, o in (violated_controls(d, serving) if d else []))
        uncovered: tuple[str, ...] = ()
        if covering is None:
            reviewed = False
            uncovered = tuple(d.uncovered(serving)) if d else ()
            reason = (f"the serving deployment differs from what {d.reference} reviewed" if d
                      else "no disposition covers the serving deployment")
        elif not covering.approving:
            reviewed, reason = False, f"{covering.reference} rejected this deployment"
        elif covering.expired(now):
            reviewed, reason = False, f"{covering.reference} expired"
        elif violated:
            reviewed, reason = False, f"a control {covering.reference} relies on changed"
        else:
            reviewed, reason = True, f"{covering.reference}: {covering.decision}"
        if reviewed:
            self._unreviewed_since = None
        elif self._unreviewed_since is None:
            self._unreviewed_since = now
        return ReviewStatus(reviewed=reviewed, reason=reason, serving=serving, disposition=d,
                            uncovered=uncovered, violated=violated,
                            unreviewed_since=self._unreviewed_since, at=now)

    def status(self) -> ReviewStatus:
        """The review state now (expiry is evaluated against the clock at each call)."""
        with self._lock:
            return self._evaluate(self._clock())

    def status_json(self) -> dict[str, Any]:
        """For ``/v1/status`` (``governance`` key)."""
        return self.status().as_dict()

    def collector(self) -> ReviewCollector:
        return ReviewCollector(self)


class ReviewCollector(Collector):
    """Reads the review state at scrape time; register it with the daemon's registry."""

    def __init__(self, state: ReviewState) -> None:
        self._state = state

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(REVIEWED, _REVIEWED_DOC)
        yield InfoMetricFamily(INFO, _INFO_DOC)

    def collect(self) -> Iterator[Metric]:
        st = self._state.status()
        gauge = GaugeMetricFamily(REVIEWED, _REVIEWED_DOC)
        if st.reviewed is not None:
            gauge.add_metric([], 1.0 if st.reviewed else 0.0)
        yield gauge
        info = InfoMetricFamily(INFO, _INFO_DOC)
        d = st.disposition
        info.add_metric([], {"reference": d.reference if d else "none",
                             "decision": d.decision if d else "none"})
        yield info


_REVIEWED_DOC = ("1 when the serving deployment fingerprint has an approved, unexpired disposition "
                 "whose controls hold; 0 when not")
_INFO_DOC = "The disposition in force for the serving deployment (reference and decision)"
