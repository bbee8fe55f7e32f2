"""Sampling decisions and the bounded queue between the proxy and the analysis worker.

A request is sampled when a hash of its request id falls under the route's rate, so replaying the
same traffic samples the same requests. Probe traffic (marked by a header) is never sampled.

>>> s = SamplingPolicy(rate=0.5, routes={"/v1/embeddings": 0.0})
>>> [s.decide("/v1/chat/completions", f"req-{i}") for i in range(8)]
[True, True, True, True, True, False, True, False]
>>> s.decide("/v1/embeddings", "req-1")
False
"""

from __future__ import annotations

import hashlib
import queue
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.metrics.sampling import SamplingMetrics


class SamplingPolicy:
    """Deterministic per-request-id sampling with per-route rates."""

    def __init__(
        self,
        *,
        rate: float,
        routes: Mapping[str, float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._rate = rate
        self._routes = dict(routes or {})
        self._rng = rng or random.Random()

    def rate_for(self, route: str) -> float:
        return self._routes.get(route, self._rate)

    def decide(self, route: str, request_id: str | None) -> bool:
        """Requests without an id are sampled at random (from the injectable ``rng``)."""
        rate = self.rate_for(route)
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        if request_id is None:
            return self._rng.random() < rate
        digest = hashlib.blake2b(request_id.encode("utf-8", "replace"), digest_size=8).digest()
        return int.from_bytes(digest, "big") < rate * 2**64


@dataclass(slots=True)
class Sample:
    """One sampled exchange, as captured on the hot path (raw; redacted by the worker)."""

    request_id: str
    route: str
    method: str
    status: int
    request_body: bytes
    response_body: bytes
    response_content_type: str | None
    response_content_encoding: str | None
    started_at: float  # unix time
    duration_s: float
    upstream_s: float
    ttfb_s: float | None = None
    error: str | None = None  # upstream error kind when the exchange failed
    source: str = "traffic"
    extra: dict[str, str] = field(default_factory=dict)
    request_content_encoding: str | None = None


class SampleQueue:
    """A bounded, thread-safe queue that never blocks the producer: full means drop and count."""

    def __init__(self, *, maxsize: int, metrics: SamplingMetrics) -> None:
        self._q: queue.Queue[Sample] = queue.Queue(maxsize=maxsize)
        self._metrics = metrics
        self._dropped = metrics.samples_dropped.labels(reason="queue_full")
        metrics.set_queue_probe(self._q.qsize, maxsize)

    def offer(self, sample: Sample) -> bool:
        try:
            self._q.put_nowait(sample)
        except queue.Full:
            self._dropped.inc()
            return False
        return True

    def get_batch(self, max_items: int, timeout: float) -> list[Sample]:
        """Wait up to ``timeout`` for one sample, then take whatever else is ready."""
        try:
            first = self._q.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < max_items:
            try:
                batch.append(self._q.get_nowait())
            except queue.Empty:
                break
        return batch

    def task_done(self, n: int) -> None:
        for _ in range(n):
            self._q.task_done()

    def qsize(self) -> int:
        return self._q.qsize()

    def pending(self) -> int:
        """Samples enqueued and not yet marked done (queued or being processed)."""
        with self._q.mutex:
            return self._q.unfinished_tasks
