"""The trigger service: turns signals into tickets and delivers them from the outbox.

Sources: fingerprint changes (:meth:`TriggerService.on_fingerprint_change`, a FingerprintTracker
listener), probe regression findings (:meth:`on_probe_result`, called by the probe scheduler after
each run), sustained drift / refusal-rate alarms (:meth:`on_alarm` receives the detector host's
alarm events; :meth:`check_alarms` raises those held for ``drift_sustain_s``), Alertmanager
notifications (:meth:`on_alerts`, via ``/v1/alertmanager``). Nothing is read back from the
metrics registry: what the detectors know comes from the host's events and snapshots.

Delivery: :meth:`deliver_once` sends every due outbox item to its sink; failures are retried with
exponential backoff and jitter (``base * 2**(attempt-1)`` capped at ``max_backoff``, then a uniform
draw in ``[d/2, d]``). The clock and the random generator are injectable.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import httpx

from monitor.detection.host import AlarmEvent, Snapshot
from monitor.metrics.triggers import TriggerMetrics
from monitor.store import Store
from monitor.triggers.config import (
    DirectorySink,
    GithubSink,
    JiraSink,
    SlackSink,
    TriggerSettings,
    WebhookSink,
    sink_name,
)
from monitor.triggers.evidence import EvidenceBuilder, detected_by
from monitor.triggers.model import (
    TITLES,
    Ticket,
    TriggerEvent,
    TriggerType,
    classify_component,
    fingerprint_key,
    key_for_alert,
)
from monitor.triggers.outbox import Outbox, OutboxItem
from monitor.triggers.sinks import (
    DeliveryError,
    DirectorySinkImpl,
    Sink,
    SlackSinkImpl,
    WebhookSinkImpl,
)
from monitor.triggers.trackers import GithubSinkImpl, JiraSinkImpl

log = logging.getLogger("tunewatch.triggers")
MAX_HISTORY = 20


def build_sinks(settings: TriggerSettings,
                transport: httpx.AsyncBaseTransport | None = None) -> list[Sink]:
    out: list[Sink] = []
    for s in settings.sinks:
        name = sink_name(s)
        if isinstance(s, WebhookSink):
            out.append(WebhookSinkImpl(settings=s, name=name, transport=transport))
        elif isinstance(s, SlackSink):
            out.append(SlackSinkImpl(settings=s, name=name, transport=transport))
        elif isinstance(s, GithubSink):
            out.append(GithubSinkImpl(settings=s, name=name, transport=transport))
        elif isinstance(s, JiraSink):
            out.append(JiraSinkImpl(settings=s, name=name, transport=transport))
        elif isinstance(s, DirectorySink):
            out.append(DirectorySinkImpl(settings=s, name=name))
    return out


def _alarm_key(event: AlarmEvent) -> tuple[str, ...]:
    """``("drift", detector)`` or ``("refusal", source, category)``."""
    if event.info.family == "drift":
        return ("drift", event.name)
    return ("refusal", event.info.labels["source"], event.info.labels["category"])


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (1-based): jitter in [d/2, d].

    >>> r = random.Random(0)
    >>> [round(backoff(a, base=1.0, cap=10.0, rng=r), 3) for a in (1, 2, 3, 8)]
    [0.922, 1.758, 2.841, 6.295]
    """
    d = min(cap, base * 2 ** max(0, attempt - 1))
    return d / 2 + rng.random() * d / 2


class TriggerService:
    def __init__(
        self,
        *,
        settings: TriggerSettings,
        store: Store,
        metrics: TriggerMetrics,
        sinks: Sequence[Sink] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        fingerprint_current: Callable[[], dict[str, str]] | None = None,
        detectors: Callable[[], Mapping[str, Snapshot]] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._fingerprint_current = fingerprint_current or (lambda: {})
        self.sinks = {s.name: s for s in (build_sinks(settings) if sinks is None else sinks)}
        self.outbox = Outbox(store=store, sinks=list(self.sinks), clock=clock)
        self.evidence = EvidenceBuilder(store=store, detectors=detectors,
                                        dashboard_url=settings.dashboard_url, clock=clock)
        self._lock = threading.Lock()
        self._alarm_since: dict[tuple[str, ...], float] = {}
        self._alarm_raised: set[tuple[str, ...]] = set()
        self._sink_status: dict[str, dict[str, Any]] = {n: {} for n in self.sinks}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._blocked_until: dict[str, float] = {}
        self.update_depth()

    # -- raising -------------------------------------------------------------------------------
    def raise_trigger(self, event: TriggerEvent) -> Ticket:
        """Open a ticket for the event's dedup key, or update the open one. Thread-safe."""
        evidence = self.evidence.build(event)
        with self._lock:
            open_ticket = self.outbox.open_ticket(event.dedup_key)
            history = list((open_ticket.evidence.get("history") if open_ticket else None) or [])
            history.append({"at": self._clock(), "source": event.source,
                            **({"alert": event.context["alert"].get("alertname"),
                                "status": event.context["alert"].get("status")}
                               if event.context.get("alert") else {})})
            evidence["history"] = history[-MAX_HISTORY:]
            ticket, is_new = self.outbox.record(
                event, owner=self.settings.owner_for(event.type), evidence=evidence)
        if is_new:
            self.metrics.triggers.labels(type=ticket.type).inc()
        log.warning("re-assessment trigger %s %s: type=%s key=%s source=%s", ticket.ref,
                    "opened" if is_new else "updated", ticket.type, ticket.dedup_key, event.source)
        self.update_depth()
        self.wake()
        return ticket

    def on_fingerprint_change(self, change: Any) -> Ticket | None:
        ttype = classify_component(change.component, change.before, change.after)
        if ttype is None:
            return None
        before = change.before or ""
        return self.raise_trigger(TriggerEvent(
            type=ttype, dedup_key=fingerprint_key(change.component, change.after),
            title=f"{TITLES[ttype]}: {change.component} {before[:16]} -> {change.after[:16]}",
            source="fingerprint",
            what_changed={"component": change.component, "before": change.before,
                          "after": change.after, "at": change.at}))

    def reconcile_fingerprints(self) -> list[Ticket]:
        """Raise the triggers of fingerprint changes that were committed by the tracker but whose
        trigger a crash prevented (the tracker records a value before calling its listeners).
        Runs at start; only changes after the trigger tables were created count."""
        try:
            rows = self.outbox.store.query("SELECT component, value, first_seen FROM fingerprint "
                                           "ORDER BY component, first_seen, rowid")
        except sqlite3.OperationalError:  # no fingerprint table: nothing to reconcile
            return []
        since = self.outbox.created_at()
        previous: dict[str, str] = {}
        out: list[Ticket] = []
        for component, value, first_seen in rows:
            before = previous.get(component)
            previous[component] = value
            if before is None or first_seen < since:
                continue
            if self.outbox.has_key(fingerprint_key(component, value)):
                continue
            ticket = self.on_fingerprint_change(SimpleNamespace(
                component=component, before=before, after=value, at=first_seen))
            if ticket is not None:
                out.append(ticket)
        return out

    def on_probe_result(self, result: Any) -> list[Ticket]:
        """Raise one alignment-regression trigger per regressed category of a probe run (and per
        category whose probe refusal CUSUM is in alarm)."""
        tested = set(getattr(result, "regressions", []) or [])
        alarmed = {cat for cat, state in (getattr(result, "cusum", None) or {}).items()
                   if getattr(state, "drift", False)}
        out = []
        for cat in sorted(tested | alarmed):
            out.append(self.raise_trigger(TriggerEvent(
                type="alignment_regression", dedup_key=f"probe_regression:{cat}",
                title=f"{TITLES['alignment_regression']}: probes, category {cat}",
                source="probe", what_changed={
                    "category": cat, "probe_run_id": getattr(result, "run_id", None),
                    "detected_by": detected_by(cat in tested, cat in alarmed)},
                context={"report_path": getattr(result, "report_path", None)})))
        return out

    def on_alerts(self, alerts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Alertmanager alerts (dicts with status, labels, annotations, ...) -> triggers."""
        accepted, ignored, refs = 0, 0, []
        current = self._fingerprint_current()
        for alert in alerts:
            labels = dict(alert.get("labels") or {})
            mapped = key_for_alert(labels, current)
            if mapped is None:
                ignored += 1
                continue
            ttype, key = mapped
            if alert.get("status") == "resolved" and self.outbox.open_ticket(key) is None:
                ignored += 1
                continue
            detail = {k: v for k, v in labels.items() if k not in ("alertname", "severity", "team")}
            if key.startswith("fingerprint:"):
                comp = key.split(":", 2)[1]
                detail.update({"component": comp, "after": current.get(comp)})
            ticket = self.raise_trigger(TriggerEvent(
                type=ttype, dedup_key=key,
                title=f"{TITLES[ttype]}: {labels.get('alertname', 'alert')}"
                      + "".join(f" {labels[k]}" for k in ("category", "detector", "component")
                                if labels.get(k)),
                source="alertmanager", what_changed=detail,
                context={"alert": {"alertname": labels.get("alertname"),
                                   "status": alert.get("status"), "labels": labels,
                                   "annotations": dict(alert.get("annotations") or {}),
                                   "startsAt": alert.get("startsAt"),
                                   "generatorURL": alert.get("generatorURL")}}))
            accepted += 1
            refs.append(ticket.ref)
        return {"accepted": accepted, "ignored": ignored, "tickets": refs}

    def on_alarm(self, event: AlarmEvent) -> None:
        """A hosted detector's alarm turned on or off (a detector-host listener; thread-safe).

        An alarm that stays on for ``drift_sustain_s`` raises one trigger per episode
        (:meth:`check_alarms`); a reset ends the episode."""
        key = _alarm_key(event)
        with self._lock:
            if event.drift:
                self._alarm_since.setdefault(key, event.at)
            else:
                self._alarm_since.pop(key, None)
                self._alarm_raised.discard(key)

    def check_alarms(self) -> list[Ticket]:
        """Raise a trigger for every drift / refusal-rate alarm held for ``drift_sustain_s``."""
        now = self._clock()
        with self._lock:
            due = [(key, now - since) for key, since in sorted(self._alarm_since.items())
                   if now - since >= self.settings.drift_sustain_s
                   and key not in self._alarm_raised]
            self._alarm_raised.update(key for key, _ in due)
        return [self.raise_trigger(self._alarm_event(key, held)) for key, held in due]

    def _alarm_event(self, key: tuple[str, ...], held: float) -> TriggerEvent:
        if key[0] == "drift":
            return TriggerEvent(type="drift", dedup_key=f"drift:{key[1]}",
                                title=f"{TITLES['drift']}: detector {key[1]}", source="drift",
                                what_changed={"detector": key[1], "alarm_held_s": round(held, 1)})
        source, cat = key[1], key[2]
        dkey = f"probe_regression:{cat}" if source == "probe" else f"traffic_refusal:{cat}"
        ttype: TriggerType = "alignment_regression"
        return TriggerEvent(type=ttype, dedup_key=dkey,
                            title=f"{TITLES[ttype]}: {source} refusal rate, category {cat}",
                            source="drift", what_changed={"source": source, "category": cat,
                                                          "alarm_held_s": round(held, 1)})

    def ack(self, ticket_id: int, *, by: str = "api") -> Ticket:
        ticket = self.outbox.ack(ticket_id, by=by)
        self.update_depth()
        self.wake()
        return ticket

    # -- delivery ------------------------------------------------------------------------------
    async def deliver_once(self) -> int:
        """Attempt every due item once; returns how many were delivered."""
        now = self._clock()
        delivered = 0
        down: set[str] = set()
        for item in self.outbox.pending(due_before=now):
            sink = self.sinks.get(item.sink)
            if sink is None or item.sink in down or now < self._blocked_until.get(item.sink, 0):
                continue
            if await self._attempt(sink, item):
                delivered += 1
            else:
                down.add(item.sink)  # keep order: no later item for a failing sink this pass
        self.update_depth()
        return delivered

    async def _attempt(self, sink: Sink, item: OutboxItem) -> bool:
        st = self._sink_status[sink.name]
        try:
            await asyncio.wait_for(sink.deliver(item, self.outbox), timeout=330)
        except (TimeoutError, DeliveryError, Exception) as exc:
            reason = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
            attempt = item.attempts + 1
            retry = self.settings.retry
            dead = bool(retry.max_attempts) and attempt >= retry.max_attempts
            retry_at = None if dead else self._clock() + backoff(
                attempt, base=retry.base_backoff_s, cap=retry.max_backoff_s, rng=self._rng)
            self.outbox.mark_failed(item.id, error=reason, retry_at=retry_at)
            if retry_at is not None:  # the whole sink waits: keeps per-ticket order, no hammering
                self._blocked_until[sink.name] = retry_at
            self.metrics.sink_delivery_failures.labels(sink=sink.name).inc()
            self.metrics.sink_deliveries.labels(sink=sink.name,
                                                result="dead" if dead else "failed").inc()
            st.update(last_error=reason, last_error_at=self._clock())
            log.warning("ticket delivery failed: sink=%s ticket=TW-%s event=%s attempt=%d "
                        "error=%s%s", sink.name, item.trigger_id, item.event, attempt, reason,
                        " (parked as dead)" if dead else "")
            if not isinstance(exc, DeliveryError | asyncio.TimeoutError):
                self.metrics.monitor_error("sink")
            return False
        self.outbox.mark_delivered(item.id)
        self._blocked_until.pop(sink.name, None)
        self.metrics.sink_deliveries.labels(sink=sink.name, result="delivered").inc()
        st.update(last_success_at=self._clock(), last_error=None)
        return True

    def next_due(self) -> float | None:
        """When the next delivery attempt is due (None: nothing pending)."""
        times = [max(i.next_attempt_at, self._blocked_until.get(i.sink, 0.0))
                 for i in self.outbox.pending()]
        return min(times) if times else None

    def update_depth(self) -> None:
        for sink, n in self.outbox.depth().items():
            self.metrics.outbox_depth.labels(sink=sink).set(n)

    def wake(self) -> None:
        loop, ev = self._loop, self._wake
        if loop is not None and ev is not None and not loop.is_closed():
            loop.call_soon_threadsafe(ev.set)

    async def _delivery_loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.deliver_once()
            except Exception:
                self.metrics.monitor_error("sink")
                log.exception("delivery pass failed")
            due = self.next_due()
            wait = 1.0 if due is None else min(1.0, max(0.02, due - self._clock()))
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=wait)
            finally:
                waiter.cancel()

    async def _alarm_loop(self) -> None:
        while not self._stopping:
            try:
                await asyncio.to_thread(self.check_alarms)
            except Exception:
                self.metrics.monitor_error("trigger")
                log.exception("alarm poll failed")
            await asyncio.sleep(self.settings.poll_interval_s)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        try:
            self.reconcile_fingerprints()
        except Exception:
            self.metrics.monitor_error("trigger")
            log.exception("fingerprint reconciliation failed")
        self._tasks = [asyncio.ensure_future(self._delivery_loop()),
                       asyncio.ensure_future(self._alarm_loop())]

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            if pending:
                log.warning("trigger loops did not stop within 5 s")
        self._tasks = []
        for sink in self.sinks.values():
            await sink.aclose()
        self._loop = None

    def readiness(self) -> dict[str, Any]:
        depth = self.outbox.depth()
        return {"ok": True, "open_tickets": len(self.outbox.tickets(state="open")),
                "sinks": {n: {"outbox_depth": depth.get(n, 0), **self._sink_status[n]}
                          for n in self.sinks}}
