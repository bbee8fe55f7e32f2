"""Every Prometheus metric Tunewatch exports, defined in this package, one module per concern.

Names follow Prometheus conventions (``_total`` counters, base units, ``_seconds``); every label is
bounded: routes come from a fixed template list, models and categories are collapsed to ``other``
past a configured number of distinct values (:class:`~monitor.metrics.labels.BoundedLabel`), and no
label ever carries user text.

Groups, each handed only to the component it measures: :mod:`~monitor.metrics.proxy` (the hot
path), :mod:`~monitor.metrics.tokens` (tokens and per-token latency of generations, on the hot
path), :mod:`~monitor.metrics.sampling` (sampling and the queue), :mod:`~monitor.metrics.analysis`
(the analysis worker), :mod:`~monitor.metrics.deployment` (the fingerprint),
:mod:`~monitor.metrics.probes`, :mod:`~monitor.metrics.triggers`; all share
:mod:`~monitor.metrics.errors`. Detector state is read from the detector host at scrape time by
:class:`~monitor.metrics.detectors.DetectorCollector`.

The registry is passed in, so each test builds a fresh ``CollectorRegistry()``:

>>> from prometheus_client import CollectorRegistry
>>> reg = CollectorRegistry()
>>> m = Metrics(reg)
>>> m.proxy.requests.labels(route="/v1/completions", method="POST", status_class="2xx").inc()
>>> reg.get_sample_value("tunewatch_requests_total",
...     {"route": "/v1/completions", "method": "POST", "status_class": "2xx"})
1.0
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Info

from monitor import __version__
from monitor.metrics.analysis import AnalysisMetrics
from monitor.metrics.deployment import DeploymentMetrics
from monitor.metrics.errors import MonitorErrors
from monitor.metrics.labels import BoundedLabel
from monitor.metrics.probes import ProbeMetrics
from monitor.metrics.proxy import ProxyMetrics
from monitor.metrics.sampling import SamplingMetrics
from monitor.metrics.tokens import TokenMetrics
from monitor.metrics.triggers import TriggerMetrics
from monitor.metrics.verdicts import RefusalVerdicts

__all__ = ["Metrics"]


class Metrics:
    """All metric groups, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, *, max_label_values: int = 20) -> None:
        self.registry = registry
        self.build_info = Info("tunewatch_build", "Tunewatch build information.",
                               registry=registry)
        self.build_info.info({"version": __version__,
                              "python_version": platform.python_version()})
        self.errors = MonitorErrors(registry)
        categories = BoundedLabel(limit=max(max_label_values, 40))
        verdicts = RefusalVerdicts(registry, category_label=categories)
        self.proxy = ProxyMetrics(registry, errors=self.errors)
        self.sampling = SamplingMetrics(registry, errors=self.errors)
        self.tokens = TokenMetrics(registry, errors=self.errors)
        self.analysis = AnalysisMetrics(registry, errors=self.errors,
                                        verdicts=verdicts.source("traffic"))
        self.deployment = DeploymentMetrics(registry, errors=self.errors,
                                            max_label_values=max_label_values)
        self.probes = ProbeMetrics(registry, errors=self.errors,
                                   verdicts=verdicts.source("probe"), category_label=categories)
        self.triggers = TriggerMetrics(registry, errors=self.errors)
