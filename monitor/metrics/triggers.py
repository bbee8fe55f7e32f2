"""Metrics of the re-assessment triggers and their sinks (``monitor/triggers/``). Sink labels
are the configured sink names; trigger types come from :mod:`monitor.triggers.model`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.metrics.errors import MonitorErrors
from monitor.triggers.model import TRIGGER_TYPES

NOTIFICATION_RESULTS = ("accepted", "rejected")


class TriggerMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors) -> None:
        r = self.registry = registry
        self.errors = errors
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
        # counters that alerts take increase()/rate() of exist at 0 from the start
        for trigger_type in TRIGGER_TYPES:
            self.triggers.labels(type=trigger_type)
        for result in NOTIFICATION_RESULTS:
            self.alertmanager_notifications.labels(result=result)

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
