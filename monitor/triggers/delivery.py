"""Delivery of tickets from the outbox to the sinks.

:meth:`Delivery.deliver_once` sends every due outbox item to its sink; failures are retried with
exponential backoff and jitter (``base * 2**(attempt-1)`` capped at ``max_backoff``, then a
uniform draw in ``[d/2, d]``), and a failing sink waits as a whole (per-ticket order is kept and
the sink is not hammered). :meth:`Delivery.run` is the loop on the event loop; :meth:`wake` (any
thread) makes it look at the outbox at once. The clock and the random generator are injectable.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from monitor.metrics.triggers import TriggerMetrics
from monitor.triggers.config import (
    DirectorySink,
    GithubSink,
    JiraSink,
    SlackSink,
    TriggerSettings,
    WebhookSink,
    sink_name,
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


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (1-based): jitter in [d/2, d].

    >>> r = random.Random(0)
    >>> [round(backoff(a, base=1.0, cap=10.0, rng=r), 3) for a in (1, 2, 3, 8)]
    [0.922, 1.758, 2.841, 6.295]
    """
    d = min(cap, base * 2 ** max(0, attempt - 1))
    return d / 2 + rng.random() * d / 2


class Delivery:
    def __init__(self, *, settings: TriggerSettings, outbox: Outbox, sinks: Sequence[Sink],
                 metrics: TriggerMetrics, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.outbox = outbox
        self.sinks = {s.name: s for s in sinks}
        self.metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._sink_status: dict[str, dict[str, Any]] = {n: {} for n in self.sinks}
        self._blocked_until: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.update_depth()

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

    def status(self) -> dict[str, dict[str, Any]]:
        """Per sink: outbox depth, last success, last error."""
        depth = self.outbox.depth()
        return {n: {"outbox_depth": depth.get(n, 0), **self._sink_status[n]} for n in self.sinks}

    def wake(self) -> None:
        """Make the running loop look at the outbox now (thread-safe; a no-op when stopped)."""
        loop, ev = self._loop, self._wake
        if loop is not None and ev is not None and not loop.is_closed():
            loop.call_soon_threadsafe(ev.set)

    async def run(self, stopping: Callable[[], bool]) -> None:
        """Deliver until ``stopping()``; wakes for :meth:`wake` or the next due item."""
        self._loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        try:
            while not stopping():
                wake.clear()
                try:
                    await self.deliver_once()
                except Exception:
                    self.metrics.monitor_error("sink")
                    log.exception("delivery pass failed")
                due = self.next_due()
                wait = 1.0 if due is None else min(1.0, max(0.02, due - self._clock()))
                waiter = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait({waiter}, timeout=wait)
                finally:
                    waiter.cancel()
        finally:
            self._loop = self._wake = None

    async def aclose(self) -> None:
        for sink in self.sinks.values():
            await sink.aclose()
