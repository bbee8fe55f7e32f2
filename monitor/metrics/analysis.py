"""Metrics of the analysis worker (``monitor/analysis/``): throughput, batch time, traffic refusal
verdicts. Detector state is not here: the detector host exports it at scrape time
(:mod:`monitor.metrics.detectors`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from monitor.metrics.errors import MonitorErrors
from monitor.metrics.proxy import LATENCY_BUCKETS
from monitor.metrics.verdicts import VerdictCounter


class AnalysisMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors,
                 verdicts: VerdictCounter) -> None:
        r = self.registry = registry
        self.errors = errors
        self.verdicts = verdicts
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

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
