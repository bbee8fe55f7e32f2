"""``tunewatch_monitor_errors_total{stage}``: exceptions inside monitoring, by stage.

Every component counts its own fail-open errors here (the proxy: capture, sample, usage; the analysis:
parse ... store; probes; triggers and sinks), so one counter is shared by all metric groups.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from monitor.metrics.labels import OTHER

# Stages counted in tunewatch_monitor_errors_total (fixed so the label stays bounded).
ERROR_STAGES = (
    "capture",
    "sample",
    "usage",
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
    "otlp",
)


class MonitorErrors:
    """The shared error counter; unknown stages are counted as ``other``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter(
            "tunewatch_monitor_errors_total",
            "Exceptions inside monitoring (never visible to clients: the proxy fails open), by stage.",
            ["stage"],
            registry=registry,
        )
        for stage in ERROR_STAGES:
            self.counter.labels(stage=stage)

    def count(self, stage: str) -> None:
        self.counter.labels(stage=stage if stage in ERROR_STAGES else OTHER).inc()
