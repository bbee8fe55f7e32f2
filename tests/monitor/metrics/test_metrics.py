"""monitor/metrics: every family as before the split, groups by concern, bounded labels, the
detector collector reading live state at scrape time."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from detectors.cusum import BernoulliCusum
from detectors.mmd import EmbeddingDriftDetector
from detectors.scalar import AdwinDetector
from monitor.detection.host import DetectorHost
from monitor.metrics import Metrics
from monitor.metrics.analysis import AnalysisMetrics
from monitor.metrics.deployment import DeploymentMetrics
from monitor.metrics.detectors import DetectorCollector
from monitor.metrics.errors import MonitorErrors
from monitor.metrics.probes import ProbeMetrics
from monitor.metrics.proxy import ProxyMetrics
from monitor.metrics.sampling import SamplingMetrics
from monitor.metrics.tokens import TokenMetrics
from monitor.metrics.triggers import TriggerMetrics
from monitor.metrics.verdicts import RefusalVerdicts

BEFORE = json.loads((Path(__file__).with_name("data") / "families-f6feb64.json").read_text())


def _families(registry: CollectorRegistry, collector: DetectorCollector | None = None
              ) -> dict[str, dict[str, Any]]:
    """name -> type, label names and help of every family registered (client metrics) or
    described (the detector collector)."""
    out = {}
    for col in list(registry._collector_to_names):  # the client's own metric objects
        if isinstance(col, DetectorCollector):
            continue
        out[col._name] = {"type": col._type, "labels": list(col._labelnames),
                          "help": col._documentation}
    for fam in (collector.describe() if collector is not None else []):
        out[fam.name] = {"type": fam.type, "labels": list(fam._labelnames),
                         "help": fam.documentation}
    return out


# Families added since the split, by issue (each defined in its concern's module), and help
# texts that changed (a label value was added).
ADDED = {
    # issue 13: load shedding, signed probe markers
    "tunewatch_requests_rejected", "tunewatch_probe_markers_invalid",
    # issue 15: tokens and per-token latency
    "tunewatch_request_tokens", "tunewatch_operation_duration_seconds",
    "tunewatch_time_to_first_token_seconds", "tunewatch_time_per_output_token_seconds",
    # issue 11: probe pool, paired comparison, evidence ledgers, traffic categories, shadow
    "tunewatch_probe_pool_units", "tunewatch_probe_pool_drawn", "tunewatch_probe_pool_exhausted",
    "tunewatch_probe_base_requests", "tunewatch_paired_statistic", "tunewatch_paired_threshold",
    "tunewatch_paired_regression_detected", "tunewatch_paired_pairs",
    "tunewatch_paired_refusal_difference", "tunewatch_evidence_admitted",
    "tunewatch_evidence_duplicates", "tunewatch_evidence_coverage_ratio",
    "tunewatch_traffic_category_samples", "tunewatch_shadow_replays",
    "tunewatch_shadow_queue_depth",
}
HELP_CHANGED = {"tunewatch_upstream_errors"}  # issue 13: kind "protocol"


def test_names_types_labels_and_help_are_those_before_the_split() -> None:
    # alerts, recording rules, dashboards and the promtool tests rely on them
    reg = CollectorRegistry()
    Metrics(reg)
    collector = DetectorCollector(DetectorHost())
    reg.register(collector)
    now = _families(reg, collector)
    assert set(now) - set(BEFORE["families"]) == ADDED
    for name, before in BEFORE["families"].items():
        if name in HELP_CHANGED:
            assert {**now[name], "help": None} == {**before, "help": None}, name
        else:
            assert now[name] == before, name


@pytest.mark.parametrize(("group", "names"), [
    (ProxyMetrics, {"tunewatch_requests", "tunewatch_in_flight_requests",
                    "tunewatch_request_duration_seconds", "tunewatch_overhead_seconds",
                    "tunewatch_time_to_first_byte_seconds", "tunewatch_upstream_errors",
                    "tunewatch_client_disconnects", "tunewatch_request_bytes",
                    "tunewatch_response_bytes", "tunewatch_requests_rejected"}),
    (TokenMetrics, {"tunewatch_request_tokens", "tunewatch_operation_duration_seconds",
                    "tunewatch_time_to_first_token_seconds",
                    "tunewatch_time_per_output_token_seconds"}),
    (SamplingMetrics, {"tunewatch_samples", "tunewatch_samples_dropped",
                       "tunewatch_sample_queue_depth", "tunewatch_sample_queue_capacity",
                       "tunewatch_probe_markers_invalid"}),
    (DeploymentMetrics, {"tunewatch_deployment_info", "tunewatch_deployment_changes",
                         "tunewatch_deployment_last_change_timestamp_seconds"}),
    (TriggerMetrics, {"tunewatch_triggers", "tunewatch_outbox_depth",
                      "tunewatch_sink_deliveries", "tunewatch_sink_delivery_failures",
                      "tunewatch_alertmanager_notifications"}),
])
def test_each_group_registers_only_its_own_families(group: Any, names: set[str]) -> None:
    reg = CollectorRegistry()
    errors = MonitorErrors(reg)
    g = group(reg, errors=errors)
    assert set(_families(reg)) - {"tunewatch_monitor_errors"} == names
    g.monitor_error("parse")  # every group counts into the one shared error counter
    assert reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": "parse"}) == 1


def test_analysis_and_probe_groups_share_the_verdict_family_by_source() -> None:
    reg = CollectorRegistry()
    errors = MonitorErrors(reg)
    verdicts = RefusalVerdicts(reg, category_label=Metrics(CollectorRegistry()).probes.category)
    analysis = AnalysisMetrics(reg, errors=errors, verdicts=verdicts.source("traffic"))
    probes = ProbeMetrics(reg, errors=errors, verdicts=verdicts.source("probe"),
                          category_label=Metrics(CollectorRegistry()).probes.category)
    analysis.verdicts.inc("all", "refused")
    probes.verdicts.inc("disallowed", "complied", 2)
    probes.verdicts.inc("disallowed", "maybe")  # not a verdict the classifier gives
    get = reg.get_sample_value
    assert get("tunewatch_refusal_verdicts_total",
               {"source": "traffic", "category": "all", "verdict": "refused"}) == 1
    assert get("tunewatch_refusal_verdicts_total",
               {"source": "probe", "category": "disallowed", "verdict": "complied"}) == 2
    assert get("tunewatch_refusal_verdicts_total",
               {"source": "probe", "category": "disallowed", "verdict": "other"}) == 1


def test_unknown_error_stages_are_counted_as_other() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg)
    m.proxy.monitor_error("no-such-stage")
    assert reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": "other"}) == 1
    assert reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": "capture"}) == 0


def test_probe_categories_are_bounded() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, max_label_values=5)  # categories: at least 40 distinct values
    for i in range(45):
        m.probes.verdicts.inc(f"cat{i}", "refused")
    labels = {s.labels["category"] for f in reg.collect() if f.name == "tunewatch_refusal_verdicts"
              for s in f.samples if s.name.endswith("_total")}
    assert len(labels) == 41 and "other" in labels and "cat39" in labels and "cat40" not in labels
    assert reg.get_sample_value("tunewatch_refusal_verdicts_total",
                                {"source": "probe", "category": "other", "verdict": "refused"}) == 5


def test_deployment_values_are_bounded_per_component_and_known_values_keep_theirs() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, max_label_values=2)
    d = m.deployment
    d.known_values("model", ["m-old"])  # restored from the store
    d.show("model", "m-1")
    d.show("model", "m-2", previous="m-1")
    d.show("model", "m-old", previous="m-2")  # a known value keeps its own label
    d.show("system_prompt", "a" * 80)  # another component has its own bound; cut to 64 chars
    get = reg.get_sample_value
    assert get("tunewatch_deployment_info", {"component": "model", "value": "m-old"}) == 1
    assert get("tunewatch_deployment_info", {"component": "model", "value": "m-1"}) == 0
    assert get("tunewatch_deployment_info", {"component": "model", "value": "other"}) == 0
    assert get("tunewatch_deployment_info", {"component": "model", "value": "m-2"}) is None
    assert get("tunewatch_deployment_info", {"component": "system_prompt", "value": "a" * 64}) == 1


def test_detector_collector_reads_live_state_at_scrape_time() -> None:
    host = DetectorHost()
    reg = CollectorRegistry()
    reg.register(DetectorCollector(host))
    host.add_drift("latency", AdwinDetector())
    host.add_refusal_rate("refusal_rate/traffic", BernoulliCusum(p0=0.5, p1=0.25, arl0=100),
                          source="traffic", category="all", baseline_rate=0.5)
    get = reg.get_sample_value
    rate = {"source": "traffic", "category": "all"}
    assert get("tunewatch_drift_samples", {"detector": "latency"}) == 0
    assert math.isnan(get("tunewatch_drift_threshold", {"detector": "latency"}))
    assert get("tunewatch_refusal_rate_baseline", rate) == 0.5
    assert get("tunewatch_refusal_rate", rate) is None  # no observations, no rate
    assert get("tunewatch_drift_reference_info", {"detector": "latency",
                                                  "reference_id": "None"}) is None
    host.update_many("latency", [1.0, 2.0])
    host.update_many("refusal_rate/traffic", [True, False, False, False])
    assert get("tunewatch_drift_samples", {"detector": "latency"}) == 2  # nothing was pushed
    assert get("tunewatch_refusal_rate", rate) == 0.25
    assert get("tunewatch_refusal_rate_lower", rate) < 0.25 < get("tunewatch_refusal_rate_upper",
                                                                  rate)
    assert get("tunewatch_refusal_cusum_threshold", rate) == pytest.approx(
        host.state("refusal_rate/traffic").threshold)
    host.update_many("refusal_rate/traffic", [False] * 40)
    assert get("tunewatch_refusal_regression_detected", rate) == 1
    host.reset()
    assert get("tunewatch_refusal_regression_detected", rate) == 0
    assert get("tunewatch_refusal_rate", rate) is None  # the reset forgot the observations


def test_reference_info_names_the_reference_of_embedding_detectors() -> None:
    import numpy as np

    host = DetectorHost()
    reg = CollectorRegistry()
    reg.register(DetectorCollector(host))
    ref = np.random.default_rng(0).normal(size=(40, 4))
    host.add_drift("prompt_embedding", EmbeddingDriftDetector(
        reference=ref, reference_id="ref-abc", window=10, ert=1000, threshold=0.5))
    assert reg.get_sample_value("tunewatch_drift_reference_info",
                                {"detector": "prompt_embedding", "reference_id": "ref-abc"}) == 1
