"""Metrics of the hot path (``monitor/proxy/``): requests, latency, overhead, bytes, upstream
failures. Routes come from a fixed template list and methods from a fixed set (monitor/proxy/routes.py),
so the labels stay bounded."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor.metrics.errors import MonitorErrors

# Buckets for sub-millisecond sidecar overhead up to multi-second model latencies.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

# Kinds counted in tunewatch_upstream_errors_total.
UPSTREAM_ERROR_KINDS = ("connect", "timeout", "stream_cut", "protocol", "http_5xx", "other")

# Reasons counted in tunewatch_requests_rejected_total: answered by the sidecar itself, never
# forwarded (overload: 503 + Retry-After; header_too_large: 431; header_timeout: 408;
# body_timeout: 408 for a streamed upload the client stopped sending; bad_target: 400 for a
# target that is not a path, such as OPTIONS *).
REJECT_REASONS = ("overload", "header_too_large", "header_timeout", "body_timeout", "bad_target")


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors) -> None:
        r = self.registry = registry
        self.errors = errors
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
            "Upstream failures by kind (connect, timeout, stream_cut, protocol, http_5xx, other).",
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
        self.rejected = Counter(
            "tunewatch_requests_rejected_total",
            "Requests the sidecar answered itself without forwarding them, by reason (overload: "
            "over proxy.max_in_flight, 503; header_too_large: 431; header_timeout, body_timeout: "
            "408; bad_target: 400).",
            ["reason"],
            registry=r,
        )
        for kind in UPSTREAM_ERROR_KINDS:
            self.upstream_errors.labels(kind=kind)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason=reason)

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason=reason).inc()

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
