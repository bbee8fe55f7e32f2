"""Metrics of the analysis worker (``monitor/analysis/``): throughput, batch time, traffic refusal
verdicts. Detector state is not here: the detector host exports it at scrape time
(:mod:`monitor.metrics.detectors`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor.metrics.errors import MonitorErrors
from monitor.metrics.proxy import LATENCY_BUCKETS
from monitor.metrics.verdicts import VerdictCounter

SHADOW_OUTCOMES = ("paired", "unscoreable", "failed", "rate_limited", "queue_full")


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

        # issue 11: the traffic mix by category (analysis.categories; labels: pool categories
        # and none) and the shadow replay against the base model (analysis.shadow)
        self.traffic_categories = Counter(
            "tunewatch_traffic_category_samples_total",
            "Sampled prompts by assigned category (nearest labelled probe-pool units; none: "
            "near no unit).", ["category"], registry=r,
        )
        self.shadow_replays = Counter(
            "tunewatch_shadow_replays_total",
            "Sampled prompts replayed against the base model, by outcome (paired: both answers "
            "scoreable and fed to the paired test; unscoreable; failed; rate_limited and "
            "queue_full: skipped).", ["outcome"], registry=r,
        )
        self.shadow_queue = Gauge(
            "tunewatch_shadow_queue_depth", "Replays waiting for the base model.", registry=r,
        )
        for outcome in SHADOW_OUTCOMES:
            self.shadow_replays.labels(outcome=outcome)

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
