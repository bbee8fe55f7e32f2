"""Every Prometheus metric Tunewatch exports, defined in one place.

Names follow Prometheus conventions (``_total`` counters, base units, ``_seconds``); every label is
bounded: routes come from a fixed template list, models and categories are collapsed to ``other``
past a configured number of distinct values, and no label ever carries user text.

The registry is passed in, so each test builds a fresh ``CollectorRegistry()``:

>>> from prometheus_client import CollectorRegistry
>>> reg = CollectorRegistry()
>>> m = Metrics(reg)
>>> m.requests.labels(route="/v1/completions", method="POST", status_class="2xx").inc()
>>> reg.get_sample_value("tunewatch_requests_total",
...     {"route": "/v1/completions", "method": "POST", "status_class": "2xx"})
1.0
>>> guard = BoundedLabel(limit=2)
>>> [guard("a"), guard("b"), guard("c"), guard("a")]
['a', 'b', 'other', 'a']
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from monitor import __version__

OTHER = "other"

# Buckets for sub-millisecond sidecar overhead up to multi-second model latencies.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

# Stages counted in tunewatch_monitor_errors_total (fixed so the label stays bounded).
ERROR_STAGES = (
    "capture",
    "sample",
    "parse",
    "redact",
    "fingerprint",
    "featurize",
    "detect",
    "store",
    "probe",
    "trigger",
    "sink",
    "alertmanager",
)

DROP_REASONS = ("queue_full", "too_large")
DEPLOYMENT_COMPONENTS = ("model", "system_prompt", "output_filter", "scope", "upstream_models")
TRIGGER_TYPES = (
    "re_fine_tune",
    "base_model_change",
    "deployment_layer_change",
    "alignment_regression",
    "drift",
)

# Kinds counted in tunewatch_upstream_errors_total.
UPSTREAM_ERROR_KINDS = ("connect", "timeout", "stream_cut", "http_5xx", "other")


class BoundedLabel:
    """Map label values to themselves for the first ``limit`` distinct values, then to ``other``."""

    def __init__(self, *, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if not value:
            return "unknown"
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return OTHER


class Metrics:
    """All metric families, registered on the given registry."""

    def __init__(self, registry: CollectorRegistry, *, max_label_values: int = 20) -> None:
        self.registry = registry
        self.model_label = BoundedLabel(limit=max_label_values)
        self.category_label = BoundedLabel(limit=max(max_label_values, 40))
        r = registry

        # --- build / deployment -------------------------------------------------------------
        self.build_info = Info("tunewatch_build", "Tunewatch build information.", registry=r)
        self.build_info.info({"version": __version__, "python_version": platform.python_version()})
        self.deployment_info = Gauge(
            "tunewatch_deployment_info",
            "Deployment fingerprint seen in traffic (1 for the current value, 0 for earlier ones). "
            "system_prompt_sha256 is the first 16 hex digits of the sha256 of the system prompt.",
            ["component", "value"],
            registry=r,
        )
        self.deployment_changes = Counter(
            "tunewatch_deployment_changes_total",
            "Changes of a deployment-fingerprint component (model, system_prompt, output_filter, "
            "scope, upstream_models) after the first value was seen.",
            ["component"],
            registry=r,
        )
        self.deployment_last_change = Gauge(
            "tunewatch_deployment_last_change_timestamp_seconds",
            "Unix time of the last deployment-fingerprint change by component.",
            ["component"],
            registry=r,
        )

        # --- proxy hot path -----------------------------------------------------------------
        self.requests = Counter(
            "tunewatch_requests_total",
            "Requests forwarded by the sidecar, by route template, method and response status class.",
            ["route", "method", "status_class"],
            registry=r,
        )
        self.in_flight = Gauge(
            "tunewatch_in_flight_requests", "Requests currently being proxied.", registry=r
        )
        self.request_duration = Histogram(
            "tunewatch_request_duration_seconds",
            "Time from request receipt to the last response byte, as the client sees it.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.overhead = Histogram(
            "tunewatch_overhead_seconds",
            "Time spent in the sidecar itself, excluding the upstream (same value as the "
            "x-tunewatch-overhead-ms response header).",
            ["route"],
            buckets=OVERHEAD_BUCKETS,
            registry=r,
        )
        self.ttfb = Histogram(
            "tunewatch_time_to_first_byte_seconds",
            "Streaming responses: time from request receipt to the first body chunk sent to the client.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "tunewatch_upstream_errors_total",
            "Upstream failures by kind (connect, timeout, stream_cut, http_5xx, other).",
            ["kind"],
            registry=r,
        )
        self.client_disconnects = Counter(
            "tunewatch_client_disconnects_total",
            "Clients that went away before the response finished (upstream request cancelled).",
            ["route"],
            registry=r,
        )
        self.request_bytes = Counter(
            "tunewatch_request_bytes_total", "Request body bytes forwarded upstream.", registry=r
        )
        self.response_bytes = Counter(
            "tunewatch_response_bytes_total", "Response body bytes forwarded to clients.", registry=r
        )

        # --- sampling -----------------------------------------------------------------------
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
        self.samples_analyzed = Counter(
            "tunewatch_samples_analyzed_total",
            "Samples the analysis worker finished processing.",
            registry=r,
        )
        self.analysis_duration = Histogram(
            "tunewatch_analysis_batch_duration_seconds",
            "Time the analysis worker spent on one batch of samples.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.monitor_errors = Counter(
            "tunewatch_monitor_errors_total",
            "Exceptions inside monitoring (never visible to clients: the proxy fails open), by stage.",
            ["stage"],
            registry=r,
        )
        for stage in ERROR_STAGES:
            self.monitor_errors.labels(stage=stage)
        for kind in UPSTREAM_ERROR_KINDS:
            self.upstream_errors.labels(kind=kind)
        for reason in DROP_REASONS:
            self.samples_dropped.labels(reason=reason)

        # --- detectors: their state is read from the detector host at scrape time
        # (monitor/detection/collector.py); only the verdict counts are here.
        self.refusal_verdicts = Counter(
            "tunewatch_refusal_verdicts_total",
            "Refusal-classifier verdicts by source (traffic, probe), category and verdict "
            "(refused, complied, unscoreable).",
            ["source", "category", "verdict"],
            registry=r,
        )

        # --- probes -------------------------------------------------------------------------
        self.probe_attempts = Counter(
            "tunewatch_probe_attempts_total",
            "Probe attempts by category and outcome (pass, fail, unscoreable).",
            ["category", "outcome"],
            registry=r,
        )
        self.probe_runs = Counter(
            "tunewatch_probe_runs_total", "Scheduled probe runs by status (ok, failed, skipped).",
            ["status"], registry=r,
        )
        self.probe_last_run = Gauge(
            "tunewatch_probe_last_run_timestamp_seconds", "Unix time the last probe run ended.",
            registry=r,
        )
        self.probe_last_success = Gauge(
            "tunewatch_probe_last_success_timestamp_seconds",
            "Unix time the last successful probe run ended.",
            registry=r,
        )
        self.probe_run_duration = Gauge(
            "tunewatch_probe_run_duration_seconds", "Duration of the last probe run.", registry=r
        )
        self.probe_failure_rate = Gauge(
            "tunewatch_probe_failure_rate", "Probe failure rate in the last run, by category.",
            ["category"], registry=r,
        )
        self.probe_baseline_failure_rate = Gauge(
            "tunewatch_probe_baseline_failure_rate", "Baseline failure rate, by category.",
            ["category"], registry=r,
        )
        self.probe_regression_pvalue = Gauge(
            "tunewatch_probe_regression_pvalue",
            "Holm-adjusted p-value of the regression test against the baseline, by category.",
            ["category"], registry=r,
        )
        self.probe_regression_detected = Gauge(
            "tunewatch_probe_regression_detected",
            "1 when the last probe run found a significant regression in the category, else 0.",
            ["category"], registry=r,
        )
        self.probe_canary_leaks = Counter(
            "tunewatch_probe_canary_leaks_total",
            "Probe answers that leaked or acted on a planted canary.",
            ["category"], registry=r,
        )

        # --- triggers and sinks -------------------------------------------------------------
        self.triggers = Counter(
            "tunewatch_triggers_total", "Re-assessment triggers raised, by type.", ["type"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "tunewatch_outbox_depth", "Ticket deliveries waiting in the outbox, by sink.",
            ["sink"], registry=r,
        )
        self.sink_deliveries = Counter(
            "tunewatch_sink_deliveries_total", "Ticket deliveries by sink and result.",
            ["sink", "result"], registry=r,
        )
        self.sink_delivery_failures = Counter(
            "tunewatch_sink_delivery_failures_total", "Failed ticket delivery attempts by sink.",
            ["sink"], registry=r,
        )
        self.alertmanager_notifications = Counter(
            "tunewatch_alertmanager_notifications_total",
            "Alertmanager webhook notifications received, by result (accepted, rejected).",
            ["result"], registry=r,
        )

        # Counters that alerts take increase()/rate() of exist at 0 from the start, so the first
        # event is visible as an increase.
        for component in DEPLOYMENT_COMPONENTS:
            self.deployment_changes.labels(component=component)
        for status in ("ok", "failed", "skipped"):
            self.probe_runs.labels(status=status)
        for category in ("injection", "disclosure"):
            self.probe_canary_leaks.labels(category=category)
        for trigger_type in TRIGGER_TYPES:
            self.triggers.labels(type=trigger_type)
        for result in ("accepted", "rejected"):
            self.alertmanager_notifications.labels(result=result)

    def set_queue_probe(self, depth: Callable[[], int], capacity: int) -> None:
        """Read the queue depth live at scrape time."""
        self.queue_depth.set_function(lambda: float(depth()))
        self.queue_capacity.set(capacity)

    def monitor_error(self, stage: str) -> None:
        self.monitor_errors.labels(stage=stage if stage in ERROR_STAGES else OTHER).inc()


def status_class(status: int) -> str:
    """``200 -> '2xx'``; anything outside 100-599 is ``other``.

    >>> status_class(200), status_class(504), status_class(42)
    ('2xx', '5xx', 'other')
    """
    if 100 <= status <= 599:
        return f"{status // 100}xx"
    return OTHER
