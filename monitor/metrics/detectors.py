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
  ``tunewatch_refusal_rate`` with ``tunewatch_refusal_rate_lower`` / ``_upper`` (95% Wilson);
* paired tests against the base model (``{source, category, direction}``):
  ``tunewatch_paired_statistic``, ``tunewatch_paired_threshold``,
  ``tunewatch_paired_regression_detected``, and once pairs exist ``tunewatch_paired_pairs``
  (``+outcome``: both_refused, both_complied, base_only, tuned_only) and
  ``tunewatch_paired_refusal_difference`` (fine-tune minus base refusal rate);
* detectors inside an evidence ledger (``{source, category, direction}``), for the epoch they
  cover:
  ``tunewatch_evidence_admitted`` (distinct units counted), ``tunewatch_evidence_duplicates``
  (repeats not counted) and, where the category's unit count is known,
  ``tunewatch_evidence_coverage_ratio``. The epoch key itself is no label (it changes with every
  deployment); ``GET /v1/detectors`` names it.

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
PAIRED = ("source", "category", "direction")
OUTCOMES = ("both_refused", "both_complied", "base_only", "tuned_only")


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
        "p_statistic": gauge("tunewatch_paired_statistic",
                             "Sign-test CUSUM statistic of the paired comparison with the base "
                             "model (discordant pairs).", PAIRED),
        "p_threshold": gauge("tunewatch_paired_threshold",
                             "Alarm threshold of the paired test, set from its ERT in discordant "
                             "pairs.", PAIRED),
        "p_detected": gauge("tunewatch_paired_regression_detected",
                            "1 while the paired test is in alarm (direction less: the fine-tune "
                            "refuses less than the base; more: it refuses more), else 0.", PAIRED),
        "p_pairs": gauge("tunewatch_paired_pairs",
                         "Pairs (fine-tune and base answers of one unit) in the current epoch, by "
                         "outcome.", (*PAIRED, "outcome")),
        "p_difference": gauge("tunewatch_paired_refusal_difference",
                              "Fine-tune minus base refusal rate over the current epoch's pairs.",
                              PAIRED),
        "admitted": gauge("tunewatch_evidence_admitted",
                          "Distinct units counted by a sequential test in its current epoch "
                          "(deployment fingerprint).", PAIRED),
        "duplicates": gauge("tunewatch_evidence_duplicates",
                            "Repeated outcomes of units already counted in the current epoch "
                            "(not counted again).", PAIRED),
        "coverage": gauge("tunewatch_evidence_coverage_ratio",
                          "Share of the category's units counted in the current epoch.", PAIRED),
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
            directed = [*labels, snap.info.direction]
            if snap.evidence is not None:
                f["admitted"].add_metric(directed, float(snap.evidence.admitted))
                f["duplicates"].add_metric(directed, float(snap.evidence.duplicates))
                if snap.coverage is not None:
                    f["coverage"].add_metric(directed, snap.coverage)
            if snap.info.family == "paired":
                _paired(f, directed, snap)
                continue
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


def _paired(f: dict[str, GaugeMetricFamily], labels: list[str], snap: Snapshot) -> None:
    st = snap.state
    f["p_statistic"].add_metric(labels, float(st.statistic))
    f["p_threshold"].add_metric(labels, float(st.threshold))
    f["p_detected"].add_metric(labels, 1.0 if st.drift else 0.0)
    if snap.pairs is not None:
        for outcome in OUTCOMES:
            f["p_pairs"].add_metric([*labels, outcome], float(getattr(snap.pairs, outcome)))
        f["p_difference"].add_metric(labels, snap.pairs.difference)
