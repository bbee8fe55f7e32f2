"""Optional OTLP/HTTP export of the GenAI instruments through the OpenTelemetry SDK.

For teams that run an OpenTelemetry collector: every ``metrics.otlp.interval_s`` a thread of its
own (``tunewatch-otlp``) reads :class:`~monitor.metrics.genai.GenAIView` (the same series as
``/metrics``, nothing is measured twice) and sends them with the SDK's ``OTLPMetricExporter`` as
cumulative explicit-bucket histograms under the instrument names (``gen_ai.client.token.usage``,
...). A Prometheus histogram keeps no minimum or maximum, so those optional fields are left unset,
as the collector's own Prometheus receiver does. A failed export is logged and counted
(``tunewatch_otlp_exports_total{result="failed"}``) and the next one sends the cumulative state
again; nothing on the hot path waits for it.

Needs the ``otel`` extra (``opentelemetry-sdk``, ``opentelemetry-exporter-otlp-proto-http``);
the configuration check refuses ``metrics.otlp.endpoint`` without it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from monitor import __version__
from monitor.metrics.genai import GenAIView

log = logging.getLogger("tunewatch.otlp")

SCOPE = "tunewatch"


class OtlpExportMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.exports = Counter(
            "tunewatch_otlp_exports_total",
            "OTLP metric exports to the configured collector, by result (ok, failed).",
            ["result"],
            registry=registry,
        )
        for result in ("ok", "failed"):
            self.exports.labels(result=result)


class OtlpExporter:
    """Exports ``view`` every ``interval_s`` seconds on its own thread (:meth:`start`/:meth:`stop`)."""

    def __init__(self, *, view: GenAIView, endpoint: str, interval_s: float, timeout_s: float,
                 headers: dict[str, str], service_name: str, metrics: OtlpExportMetrics,
                 clock: Callable[[], float] = time.time) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.resources import Resource

        self.view = view
        self.interval_s = interval_s
        self.metrics = metrics
        self._clock = clock
        self._timeout_ms = timeout_s * 1000
        self._exporter = OTLPMetricExporter(endpoint=endpoint, headers=headers or None,
                                            timeout=timeout_s)
        self._resource = Resource.create({"service.name": service_name,
                                          "service.version": __version__})
        self._start_ns = int(clock() * 1e9)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tunewatch-otlp", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after one last export (what was counted since the last one)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout_ms / 1000 + 5)
            self._thread = None
        else:
            self.export_once()
        self._exporter.shutdown()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.export_once()
        self.export_once()

    def export_once(self) -> bool:
        """Send the current state; ``True`` when the collector accepted it."""
        from opentelemetry.sdk.metrics.export import MetricExportResult

        try:
            ok = self._exporter.export(self.metrics_data(),
                                       timeout_millis=self._timeout_ms) is MetricExportResult.SUCCESS
        except Exception:
            log.exception("OTLP export failed")
            ok = False
        self.metrics.exports.labels(result="ok" if ok else "failed").inc()
        return ok

    def metrics_data(self) -> Any:
        """The GenAI instruments as OpenTelemetry SDK ``MetricsData``."""
        from opentelemetry.sdk.metrics.export import (
            AggregationTemporality,
            Histogram,
            HistogramDataPoint,
            Metric,
            MetricsData,
            ResourceMetrics,
            ScopeMetrics,
        )
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        now = int(self._clock() * 1e9)
        metrics = []
        for instrument, points in self.view.read():
            data_points = []
            for p in points:
                counts = [int(p.cumulative[0])] + [
                    int(b - a) for a, b in zip(p.cumulative, p.cumulative[1:], strict=False)]
                start = int(p.created * 1e9) if p.created else self._start_ns
                data_points.append(HistogramDataPoint(
                    attributes=p.attributes, start_time_unix_nano=start, time_unix_nano=now,
                    count=int(p.count), sum=p.sum, bucket_counts=counts,
                    explicit_bounds=list(p.bounds),
                    # Unset in OTLP (a Prometheus histogram keeps neither); the encoder leaves
                    # None out of the protobuf message.
                    min=None,  # type: ignore[arg-type]
                    max=None,  # type: ignore[arg-type]
                ))
            if data_points:
                metrics.append(Metric(name=instrument.name, description=instrument.description,
                                      unit=instrument.unit,
                                      data=Histogram(data_points=data_points,
                                                     aggregation_temporality=(
                                                         AggregationTemporality.CUMULATIVE))))
        scope = InstrumentationScope(SCOPE, __version__)
        return MetricsData(resource_metrics=[ResourceMetrics(
            resource=self._resource,
            scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics, schema_url="")],
            schema_url="")])
