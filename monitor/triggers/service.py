"""The trigger service: turns signals into tickets, on its own thread, and delivers them.

Sources, all queued (:meth:`TriggerService.notify`, callable from any thread) and raised on the
service's own thread, never on the thread that noticed them:

* fingerprint changes (a :class:`~monitor.analysis.fingerprint.FingerprintTracker` listener,
  :meth:`on_fingerprint_change`); at start, changes a crash kept from their trigger
  (:meth:`reconcile_fingerprints`);
* probe runs (a probe-scheduler result listener, :meth:`on_probe_result`): regressed categories;
* the detector host's alarm events (:meth:`on_alarm`): an alarm held for ``drift_sustain_s``
  raises one trigger per episode (:meth:`check_alarms`, every ``poll_interval_s``); a reset
  ends the episode. Nothing is read back from the metrics registry;
* ready-made :class:`~monitor.triggers.model.TriggerEvent` objects from other components (the
  governance loop: a control a disposition relies on changed, a served artefact does not match),
  raised as they are.

Acknowledging a ticket (:meth:`TriggerService.ack`) asks the injected :class:`AckGate` (the
governance loop's disposition check, ``governance.ack_disposition``) whether the ack may go through
and what the ``closed`` event must carry to the sinks.

Alertmanager notifications (``/v1/alertmanager``) are raised synchronously by :meth:`on_alerts`
(the webhook answers with the ticket ids), off the event loop. Every source computes the same
dedup key for the same condition, so they land on one ticket. Delivery to the sinks:
:mod:`monitor.triggers.delivery`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from detectors.base import DetectorState
from monitor.analysis.fingerprint import Change, SeenValue
from monitor.detection.host import AlarmEvent
from monitor.metrics.triggers import TriggerMetrics
from monitor.store import Store
from monitor.triggers.config import TriggerSettings
from monitor.triggers.delivery import Delivery, build_sinks
from monitor.triggers.evidence import EvidenceBuilder, EvidenceSources, detected_by
from monitor.triggers.model import (
    TITLES,
    Ticket,
    TriggerEvent,
    TriggerType,
    classify_component,
    fingerprint_key,
    higher_severity,
    key_for_alert,
)
from monitor.triggers.outbox import Outbox
from monitor.triggers.sinks import Sink

log = logging.getLogger("tunewatch.triggers")
MAX_HISTORY = 20


class FingerprintView(Protocol):
    """What the triggers read of the deployment fingerprint."""

    def current(self) -> dict[str, str]: ...

    def history(self) -> Sequence[SeenValue]: ...


class ProbeFinding(Protocol):
    """What the triggers read of a probe run (:class:`monitor.probes.scheduler.ProbeRunResult`)."""

    @property
    def run_id(self) -> str: ...

    @property
    def regressions(self) -> list[str]: ...

    @property
    def cusum(self) -> Mapping[str, DetectorState]: ...

    @property
    def paired(self) -> Mapping[str, DetectorState]: ...


class AckDecision(Protocol):
    """What an :class:`AckGate` answers (:class:`monitor.governance.ack.AckPlan` is one)."""

    @property
    def allowed(self) -> bool: ...

    @property
    def message(self) -> str: ...

    @property
    def closed_event(self) -> dict[str, Any]: ...


class AckGate(Protocol):
    """Decides whether a ticket may be acknowledged, naming a disposition or not (``None``)."""

    def plan(self, ticket: Ticket, disposition: str | None) -> AckDecision: ...


class AckRefused(ValueError):
    """The ack was refused (e.g. ``governance.ack_disposition: require`` and no disposition);
    the message says what to do."""


@dataclass(frozen=True)
class AckOutcome:
    ticket: Ticket
    message: str  # for the person acking (API response, CLI output)


@dataclass(frozen=True)
class _Reconcile:
    """Inbox marker: reconcile the fingerprint history first."""


Signal = Change | AlarmEvent | ProbeFinding | TriggerEvent | _Reconcile


def _alarm_key(event: AlarmEvent) -> tuple[str, ...]:
    """``("drift", detector)`` or ``("refusal", source, category)``."""
    if event.info.family == "drift":
        return ("drift", event.name)
    return ("refusal", event.info.labels["source"], event.info.labels["category"])


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
        fingerprint: FingerprintView | None = None,
        evidence: EvidenceSources | None = None,
        lineage: Callable[[], Mapping[str, str]] | None = None,
        ack_gate: AckGate | None = None,
    ) -> None:
        """``lineage``: model id -> parent model (what the server reports, what is configured),
        read when a model change is classified; ``ack_gate``: the disposition check of acks."""
        self.settings = settings
        self.metrics = metrics
        self._clock = clock
        self._fingerprint = fingerprint
        self._lineage = lineage
        self._ack_gate = ack_gate
        built = build_sinks(settings) if sinks is None else list(sinks)
        self.outbox = Outbox(store=store, sinks=[s.name for s in built], clock=clock)
        self.delivery = Delivery(settings=settings, outbox=self.outbox, sinks=built,
                                 metrics=metrics, clock=clock, rng=rng)
        self.evidence = EvidenceBuilder(sources=evidence or EvidenceSources(),
                                        dashboard_url=settings.dashboard_url, clock=clock,
                                        on_error=lambda: metrics.monitor_error("trigger"))
        self._lock = threading.Lock()
        self._alarm_since: dict[tuple[str, ...], float] = {}
        self._alarm_raised: set[tuple[str, ...]] = set()
        self._inbox: queue.Queue[Signal | None] = queue.Queue()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._delivery_task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def sinks(self) -> dict[str, Sink]:
        return self.delivery.sinks

    # -- raising -------------------------------------------------------------------------------
    def raise_trigger(self, event: TriggerEvent) -> Ticket:
        """Open a ticket for the event's dedup key, or update the open one. Thread-safe."""
        evidence = self.evidence.build(event)
        with self._lock:
            open_ticket = self.outbox.open_ticket(event.dedup_key)
            # a ticket keeps the highest severity it was raised with
            evidence["severity"] = higher_severity(
                open_ticket.severity if open_ticket else None, event.severity)
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
        self.delivery.update_depth()
        self.delivery.wake()
        return ticket

    def on_fingerprint_change(self, change: Change) -> Ticket | None:
        parents: Mapping[str, str] | None = None
        if change.component == "model" and self._lineage is not None:
            try:
                parents = self._lineage()
            except Exception:  # classified by name then; the failure is counted
                self.metrics.monitor_error("trigger")
                log.exception("reading the model lineage failed")
        ttype = classify_component(change.component, change.before, change.after,
                                   parents=parents)
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
        if self._fingerprint is None:
            return []
        since = self.outbox.created_at()
        previous: dict[str, str] = {}
        out: list[Ticket] = []
        for seen in self._fingerprint.history():
            before = previous.get(seen.component)
            previous[seen.component] = seen.value
            if before is None or seen.first_seen < since:
                continue
            if self.outbox.has_key(fingerprint_key(seen.component, seen.value)):
                continue
            ticket = self.on_fingerprint_change(Change(
                component=seen.component, before=before, after=seen.value, at=seen.first_seen))
            if ticket is not None:
                out.append(ticket)
        return out

    def on_probe_result(self, result: ProbeFinding) -> list[Ticket]:
        """Raise one alignment-regression trigger per regressed category of a probe run (and per
        category whose probe refusal CUSUM or paired test against the base is in alarm)."""
        tested = set(result.regressions)
        alarmed = {cat for cat, state in result.cusum.items() if state.drift}
        paired = {cat for cat, state in result.paired.items() if state.drift}
        out = []
        for cat in sorted(tested | alarmed | paired):
            out.append(self.raise_trigger(TriggerEvent(
                type="alignment_regression", dedup_key=f"probe_regression:{cat}",
                title=f"{TITLES['alignment_regression']}: probes, category {cat}",
                source="probe", what_changed={
                    "category": cat, "probe_run_id": result.run_id,
                    "detected_by": detected_by(cat in tested, cat in alarmed, cat in paired)})))
        return out

    def on_alerts(self, alerts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Alertmanager alerts (dicts with status, labels, annotations, ...) -> triggers."""
        accepted, ignored, refs = 0, 0, []
        current = self._fingerprint.current() if self._fingerprint is not None else {}
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
        """A hosted detector's alarm turned on or off. An alarm that stays on for
        ``drift_sustain_s`` raises one trigger per episode (:meth:`check_alarms`); a reset ends
        the episode."""
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
        # probe and probe_paired (the base comparison) join one ticket per category, as do
        # traffic and traffic_paired
        dkey = (f"probe_regression:{cat}" if source.startswith("probe")
                else f"traffic_refusal:{cat}")
        ttype: TriggerType = "alignment_regression"
        return TriggerEvent(type=ttype, dedup_key=dkey,
                            title=f"{TITLES[ttype]}: {source} refusal rate, category {cat}",
                            source="drift", what_changed={"source": source, "category": cat,
                                                          "alarm_held_s": round(held, 1)})

    def ack(self, ticket_id: int, *, by: str = "api", disposition: str | None = None
            ) -> AckOutcome:
        """Close an open ticket; ``disposition`` (a reference or record number) names the
        decision it was acknowledged with. The :class:`AckGate` may refuse (:class:`AckRefused`)
        and says what the ``closed`` event carries to the sinks. KeyError: no such ticket;
        ValueError: not open."""
        ticket = self.outbox.get(ticket_id)
        if ticket is None:
            raise KeyError(f"no ticket TW-{ticket_id}")
        extra: dict[str, Any] = {}
        message = f"{ticket.ref} acknowledged."
        if self._ack_gate is not None:
            plan = self._ack_gate.plan(ticket, disposition)
            if not plan.allowed:
                raise AckRefused(plan.message)
            extra, message = dict(plan.closed_event), plan.message
        elif disposition is not None:
            raise AckRefused("this daemon records no dispositions; ack without --disposition")
        acked = self.outbox.ack(ticket_id, by=by, extra=extra)
        self.delivery.update_depth()
        self.delivery.wake()
        return AckOutcome(ticket=acked, message=message)

    # -- the service's own thread --------------------------------------------------------------
    def notify(self, signal: Change | AlarmEvent | ProbeFinding | TriggerEvent) -> None:
        """Queue a signal for the service's thread (thread-safe, never blocks the caller)."""
        self._inbox.put(signal)

    def handle(self, signal: Signal) -> None:
        """Act on one signal (what the service's thread does with each)."""
        if isinstance(signal, AlarmEvent):
            self.on_alarm(signal)
            self.check_alarms()
        elif isinstance(signal, Change):
            self.on_fingerprint_change(signal)
        elif isinstance(signal, TriggerEvent):
            self.raise_trigger(signal)
        elif isinstance(signal, _Reconcile):
            self.reconcile_fingerprints()
        else:
            self.on_probe_result(signal)

    def handle_pending(self) -> int:
        """Act on every queued signal on the calling thread, for when the service's thread is
        not running (tests, tools); returns how many."""
        if self._thread is not None:
            raise RuntimeError("the trigger service's thread is running: it handles the signals")
        n = 0
        while True:
            try:
                signal = self._inbox.get_nowait()
            except queue.Empty:
                return n
            try:
                if signal is not None:
                    self.handle(signal)
                    n += 1
            finally:
                self._done()

    def _run(self) -> None:
        next_check = time.monotonic()
        while True:
            try:
                signal = self._inbox.get(timeout=max(0.0, next_check - time.monotonic()))
            except queue.Empty:
                signal = None
            else:
                if signal is None:  # stop
                    self._done()
                    return
            try:
                if signal is not None:
                    self.handle(signal)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.settings.poll_interval_s
                    self.check_alarms()
            except Exception:
                self.metrics.monitor_error("trigger")
                log.exception("trigger signal failed")
            finally:
                if signal is not None:
                    self._done()

    def _done(self) -> None:
        with self._idle:
            self._inbox.task_done()
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued signal has been acted on (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inbox.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
        return True

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the service's thread (it first reconciles the fingerprint history) and the
        delivery loop (on this event loop)."""
        self._stopping = False
        self._inbox.put(_Reconcile())
        self._thread = threading.Thread(target=self._run, name="tunewatch-triggers", daemon=True)
        self._thread.start()
        self._delivery_task = asyncio.ensure_future(self.delivery.run(lambda: self._stopping))

    async def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._inbox.put(None)
            await asyncio.to_thread(self._thread.join, 10)
            if self._thread.is_alive():
                log.warning("trigger thread did not stop within 10 s")
            self._thread = None
        if self._delivery_task is not None:
            self._delivery_task.cancel()
            _, pending = await asyncio.wait({self._delivery_task}, timeout=5)
            if pending:
                log.warning("delivery loop did not stop within 5 s")
            self._delivery_task = None
        await self.delivery.aclose()

    def readiness(self) -> dict[str, Any]:
        return {"ok": True, "open_tickets": len(self.outbox.tickets(state="open")),
                "sinks": self.delivery.status()}
