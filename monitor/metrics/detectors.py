"""Detector state as Prometheus metrics, read from the detector host at scrape time.

:class:`DetectorCollector` is a ``prometheus_client`` collector: nothing pushes detector state
into gauges; each scrape reads every hosted detector's live state
(:meth:`monitor.detection.host.DetectorHost.snapshot`) and yields

* drift detectors (``{detector}``): ``tunewatch_drift_statistic``, ``tunewatch_drift_threshold``,
  ``tunewatch_drift_detected``, ``tunewatch_drift_samples``, and
  ``tunewatch_drift_reference_info{detector, reference_id}`` for those with a reference;
* refusal-rate CUSUMs (``{source, category}``): ``tunewatch_refusal_cusum_statistic``,
  ``tunewatch_refusal_cusum_threshold``, ``tunewatch_refusal_regression_detected``,
  ``tunewatch_refusal_rate_baseline``, and once the CUSUM has observations
  ``tunewatch_refusal_rate`` with ``tunewatch_refusal_rate_lower`` / ``_upper`` (95% Wilson).

>>> from prometheus_client import CollectorRegistry
>>> from detectors.scalar import AdwinDetector
>>> from monitor.detection.host import DetectorHost
>>> host = DetectorHost()
>>> host.add_drift("latency", AdwinDetector())
>>> reg = CollectorRegistry()
>>> reg.register(DetectorCollector(host))
>>> _ = host.update_many("latency", [0.1, 0.2, 0.3])
>>> reg.get_sample_value("tunewatch_drift_samples", {"detector": "latency"})
3.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from monitor.detection.host import Snapshot

DRIFT = ("detector",)
RATE = ("source", "category")


class SnapshotSource(Protocol):
    def snapshot(self) -> Mapping[str, Snapshot]: ...


def _families() -> dict[str, GaugeMetricFamily]:
    def gauge(name: str, doc: str, labels: Iterable[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=list(labels))

    return {
        "statistic": gauge("tunewatch_drift_statistic",
                           "Current test statistic of a drift detector.", DRIFT),
        "threshold": gauge("tunewatch_drift_threshold",
                           "Alarm threshold of a drift detector (calibrated to its expected run "
                           "time).", DRIFT),
        "detected": gauge("tunewatch_drift_detected",
                          "1 while a drift detector is in alarm, else 0.", DRIFT),
        "samples": gauge("tunewatch_drift_samples",
                         "Observations a drift detector has seen since its last reset.", DRIFT),
        "reference": gauge("tunewatch_drift_reference_info",
                           "Reference set a drift detector compares against.",
                           ("detector", "reference_id")),
        "rate": gauge("tunewatch_refusal_rate", "Estimated refusal rate.", RATE),
        "lower": gauge("tunewatch_refusal_rate_lower",
                       "Lower 95% confidence bound of the refusal rate.", RATE),
        "upper": gauge("tunewatch_refusal_rate_upper",
                       "Upper 95% confidence bound of the refusal rate.", RATE),
        "baseline": gauge("tunewatch_refusal_rate_baseline",
                          "Baseline refusal rate of the base model.", RATE),
        "cusum": gauge("tunewatch_refusal_cusum_statistic",
                       "Bernoulli CUSUM statistic for a refusal-rate drop.", RATE),
        "cusum_threshold": gauge("tunewatch_refusal_cusum_threshold",
                                 "CUSUM threshold set from the target ARL0.", RATE),
        "regression": gauge("tunewatch_refusal_regression_detected",
                            "1 while the refusal-rate CUSUM is in alarm, else 0.", RATE),
    }


class DetectorCollector(Collector):
    """Yields the detector families from ``source.snapshot()`` on every collect."""

    def __init__(self, source: SnapshotSource) -> None:
        self._source = source

    def describe(self) -> Iterable[Metric]:
        return list(_families().values())

    def collect(self) -> Iterable[Metric]:
        f = _families()
        for name, snap in self._source.snapshot().items():
            st = snap.state
            if snap.info.family == "drift":
                d = [name]
                f["statistic"].add_metric(d, float(st.statistic))
                f["threshold"].add_metric(d, float(st.threshold))
                f["detected"].add_metric(d, 1.0 if st.drift else 0.0)
                f["samples"].add_metric(d, float(st.n))
                if st.reference_id is not None:
                    f["reference"].add_metric([name, st.reference_id], 1.0)
                continue
            labels = [snap.info.labels["source"], snap.info.labels["category"]]
            if snap.rate is not None:
                p, lo, hi = snap.rate
                f["rate"].add_metric(labels, p)
                f["lower"].add_metric(labels, lo)
                f["upper"].add_metric(labels, hi)
            if snap.info.baseline_rate is not None:
                f["baseline"].add_metric(labels, snap.info.baseline_rate)
            f["cusum"].add_metric(labels, float(st.statistic))
            f["cusum_threshold"].add_metric(labels, float(st.threshold))
            f["regression"].add_metric(labels, 1.0 if st.drift else 0.0)
        return list(f.values())
