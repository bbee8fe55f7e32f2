"""Metrics of the deployment fingerprint (``monitor/analysis/fingerprint.py``).

Values of ``tunewatch_deployment_info{component, value}`` (model ids, system-prompt hashes, ...)
are bounded per component: the first ``max_label_values`` distinct values keep their label, later
ones are ``other``; values are cut to 64 characters.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.metrics.errors import MonitorErrors
from monitor.metrics.labels import BoundedLabel

# ``artifacts``: one digest of the verified artefacts' sha256 (``deployment.artifacts``);
# ``server_adapters``: one digest of the adapters the model server reports (governance loop).
DEPLOYMENT_COMPONENTS = ("model", "system_prompt", "output_filter", "scope", "upstream_models",
                         "artifacts", "server_adapters")
MAX_VALUE_CHARS = 64


class DeploymentMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors,
                 max_label_values: int = 20) -> None:
        r = self.registry = registry
        self.errors = errors
        self._max_label_values = max_label_values
        self._value_labels: dict[str, BoundedLabel] = {}
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
        # alerts take increase() of the counter: it exists at 0 from the start
        for component in DEPLOYMENT_COMPONENTS:
            self.deployment_changes.labels(component=component)

    def _label(self, component: str) -> BoundedLabel:
        label = self._value_labels.get(component)
        if label is None:
            label = self._value_labels[component] = BoundedLabel(limit=self._max_label_values)
        return label

    def known_values(self, component: str, values: Iterable[str]) -> None:
        """Values seen before (restored from the store, in the order first seen): they keep their
        label value and count towards the bound."""
        label = self._label(component)
        for value in values:
            label(value[:MAX_VALUE_CHARS])

    def show(self, component: str, value: str, *, previous: str | None = None) -> None:
        """``value`` is now current (1), ``previous`` no longer is (0)."""
        label = self._label(component)
        if previous is not None:
            self.deployment_info.labels(component=component,
                                        value=label(previous[:MAX_VALUE_CHARS])).set(0)
        self.deployment_info.labels(component=component,
                                    value=label(value[:MAX_VALUE_CHARS])).set(1)

    def changed(self, component: str, at: float) -> None:
        self.deployment_changes.labels(component=component).inc()
        self.deployment_last_change.labels(component=component).set(at)

    def last_change(self, component: str, at: float) -> None:
        """Re-export the time of an earlier change (after a restart)."""
        self.deployment_last_change.labels(component=component).set(at)

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
