"""Metrics of sampling: pairs handed to the analysis worker, drops, the queue between them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.metrics.errors import MonitorErrors

DROP_REASONS = ("queue_full", "too_large")


class SamplingMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors) -> None:
        r = self.registry = registry
        self.errors = errors
        self.samples = Counter(
            "tunewatch_samples_total",
            "Prompt/response pairs sampled and enqueued for analysis.",
            ["route"],
            registry=r,
        )
        self.samples_dropped = Counter(
            "tunewatch_samples_dropped_total",
            "Samples dropped instead of blocking traffic (queue_full, too_large).",
            ["reason"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "tunewatch_sample_queue_depth", "Samples waiting for the analysis worker.", registry=r
        )
        self.queue_capacity = Gauge(
            "tunewatch_sample_queue_capacity", "Capacity of the sample queue.", registry=r
        )
        self.probe_markers_invalid = Counter(
            "tunewatch_probe_markers_invalid_total",
            "Requests carrying a probe marker header that did not verify: the marker is stripped "
            "and the request sampled like any other (a client cannot opt out of monitoring).",
            registry=r,
        )
        for reason in DROP_REASONS:
            self.samples_dropped.labels(reason=reason)

    def set_queue_probe(self, depth: Callable[[], int], capacity: int) -> None:
        """Read the queue depth live at scrape time."""
        self.queue_depth.set_function(lambda: float(depth()))
        self.queue_capacity.set(capacity)

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
