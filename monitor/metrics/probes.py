"""Metrics of the scheduled probes (``monitor/probes/``). Category labels are bounded
(:class:`~monitor.metrics.labels.BoundedLabel`); the probe refusal CUSUMs are exported by the
detector host (:mod:`monitor.metrics.detectors`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.metrics.errors import MonitorErrors
from monitor.metrics.labels import BoundedLabel
from monitor.metrics.verdicts import VerdictCounter

RUN_STATUSES = ("ok", "failed", "skipped")
CANARY_CATEGORIES = ("injection", "disclosure")


class ProbeMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors,
                 verdicts: VerdictCounter, category_label: BoundedLabel) -> None:
        r = self.registry = registry
        self.errors = errors
        self.verdicts = verdicts
        self.category = category_label
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
        # the probe pool (pool mode): units, drawn in the current epoch, exhausted
        self.pool_units = Gauge(
            "tunewatch_probe_pool_units", "Distinct units of the probe pool, by category.",
            ["category"], registry=r,
        )
        self.pool_drawn = Gauge(
            "tunewatch_probe_pool_drawn",
            "Pool units drawn in the current epoch (deployment fingerprint) in the current pass "
            "over the category.", ["category"], registry=r,
        )
        self.pool_exhausted = Gauge(
            "tunewatch_probe_pool_exhausted",
            "1 once every unit of the category was drawn in the current epoch (no fresh evidence "
            "left until the fingerprint changes), else 0.", ["category"], registry=r,
        )
        self.base_requests = Counter(
            "tunewatch_probe_base_requests_total",
            "Probe requests sent to the base model for the paired comparison (cached verdicts are "
            "not re-sent).", registry=r,
        )
        # counters that alerts take increase()/rate() of exist at 0 from the start
        for status in RUN_STATUSES:
            self.probe_runs.labels(status=status)
        for category in CANARY_CATEGORIES:
            self.probe_canary_leaks.labels(category=category)

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
