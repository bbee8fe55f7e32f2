"""The four Tunewatch Grafana dashboards: SRE overview, Safety, Drift and Governance.

Every query selects the Tunewatch job and the ``$namespace``/``$pod`` variables, and joins
``tunewatch:pod_model:info`` (a recording rule from ``alerts.py``) to filter by ``$model`` and to
carry the ``model`` label, so fleet views aggregate per model across pods.

>>> q = Queries(MixinConfig())
>>> q.sel('source="probe"')
'{job=~".*tunewatch.*", namespace=~"$namespace", pod=~"$pod", source="probe"}'
>>> sorted(d["uid"] for d in all_dashboards(MixinConfig()).values())
['tunewatch-drift', 'tunewatch-governance', 'tunewatch-safety', 'tunewatch-sre-overview']
"""

from __future__ import annotations

import re
from typing import Any

from monitor.mixin.config import POD_MODEL_INFO, MixinConfig, m
from monitor.mixin.grafana import (
    Panel,
    annotation,
    bargauge,
    dashboard,
    datasource_variable,
    query_variable,
    row,
    stat,
    state_timeline,
    table,
    target,
    thresholds,
    timeseries,
)

RATE = "$__rate_interval"

# Values substituted for Grafana variables in :func:`all_panel_queries`.
VARIABLE_DEFAULTS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


class Queries:
    """PromQL fragments with the dashboard variables applied."""

    def __init__(self, config: MixinConfig) -> None:
        self.config = config

    def sel(self, *matchers: str) -> str:
        return self.config.sel('namespace=~"$namespace"', 'pod=~"$pod"', *matchers)

    def join(self, expr: str) -> str:
        """Keep targets serving ``$model`` and add their ``model`` label."""
        return (f"({expr}) * on ({self.config.by()}) group_left (model) "
                f"{POD_MODEL_INFO}{{model=~\"$model\"}}")

    def rate(self, metric: str, by: str, *matchers: str, window: str = RATE) -> str:
        return f"{_agg('sum', by)} ({self.join(f'rate({metric}{self.sel(*matchers)}[{window}])')})"

    def increase(self, metric: str, by: str, *matchers: str, window: str = "$__range") -> str:
        inner = self.join(f"increase({metric}{self.sel(*matchers)}[{window}])")
        return f"{_agg('sum', by)} ({inner})"

    def gauge(self, metric: str, by: str, *matchers: str, agg: str = "max") -> str:
        return f"{_agg(agg, by)} ({self.join(f'{metric}{self.sel(*matchers)}')})"

    def ratio(self, numerator: str, denominator: str, by: str, *matchers: str) -> str:
        """``numerator / denominator`` of two gauges with the same labels, per target."""
        sel = self.sel(*matchers)
        return f"{_agg('max', by)} ({self.join(f'{numerator}{sel} / {denominator}{sel}')})"

    def quantile(self, q: float, histogram: str, by: str = "model") -> str:
        inner = self.join(f"rate({histogram}_bucket{self.sel()}[{RATE}])")
        return f"histogram_quantile({q:g}, {_agg('sum', ', '.join(filter(None, (by, 'le'))))} ({inner}))"


def _agg(op: str, by: str) -> str:
    """``sum by (a, b)``, or plain ``sum`` when ``by`` is empty."""
    return f"{op} by ({by})" if by else op


def _variables(q: Queries, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    job = q.config.job_selector
    return [
        datasource_variable(),
        query_variable("namespace", "Namespace", f"label_values(tunewatch_build_info{{{job}}}, namespace)"),
        query_variable("pod", "Pod", f'label_values(tunewatch_build_info{{{job}, namespace=~"$namespace"}}, pod)'),
        query_variable("model", "Model",
                       f'label_values({POD_MODEL_INFO}{{{job}, namespace=~"$namespace", pod=~"$pod"}}, model)'),
        *extra,
    ]


def _annotations(q: Queries) -> list[dict[str, Any]]:
    by = "namespace, pod, component"
    changes = (
        f"sum by ({by}) (changes(tunewatch_deployment_last_change_timestamp_seconds{q.sel()}[2m])) > 0"
        f" or sum by ({by}) (increase(tunewatch_deployment_changes_total{q.sel()}[2m])) > 0"
    )
    triggers = f"sum by (namespace, pod, type) (increase(tunewatch_triggers_total{q.sel()}[2m])) > 0"
    return [
        annotation("Deployment changes", changes, title="{{component}} changed",
                   text="{{namespace}}/{{pod}}", color="orange"),
        annotation("Re-assessment triggers", triggers, title="trigger: {{type}}",
                   text="{{namespace}}/{{pod}}", color="red"),
    ]


def sre_overview(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    slo = config.overhead_p99_seconds
    overhead_steps = thresholds((None, "green"), (slo / 5, "yellow"), (slo, "red"))
    panels: list[Panel] = [
        row("Traffic"),
        stat("Request rate", [target(q.rate("tunewatch_requests_total", ""))],
             unit="reqps", description="Requests forwarded by the selected sidecars."),
        stat("5xx ratio", [target(f'({q.rate("tunewatch_requests_total", "", m("status_class", "=", "5xx"))} or vector(0)) / '
                                  f'{q.rate("tunewatch_requests_total", "")}')],
             unit="percentunit", description="Share of responses with a 5xx status (upstream or sidecar).",
             steps=thresholds((None, "green"), (0.01, "yellow"), (config.upstream_error_ratio, "red"))),
        stat("Sidecar overhead p99", [target(q.quantile(0.99, "tunewatch_overhead_seconds", ""))],
             unit="s", steps=overhead_steps,
             description=f"Time spent inside the sidecar; SLO p99 < {slo * 1000:g} ms."),
        stat("Sidecars up", [target(f"sum(up{q.sel()})")], unit="none",
             description="Scraped Tunewatch targets that answered the last scrape.",
             steps=thresholds((None, "red"), (1, "green"))),
        timeseries("Requests by model and status class",
                   [target(q.rate("tunewatch_requests_total", "model, status_class"), "{{model}} {{status_class}}")],
                   unit="reqps", stack=True),
        timeseries("Requests by route", [target(q.rate("tunewatch_requests_total", "route, method"),
                                                "{{method}} {{route}}")], unit="reqps", stack=True),
        row("Latency"),
        timeseries("Request duration", [
            target(q.quantile(0.5, "tunewatch_request_duration_seconds"), "p50 {{model}}"),
            target(q.quantile(0.99, "tunewatch_request_duration_seconds"), "p99 {{model}}")],
            unit="s", width=8, description="Request receipt to last response byte, as clients see it."),
        timeseries("Sidecar overhead", [
            target(q.quantile(0.5, "tunewatch_overhead_seconds"), "p50 {{model}}"),
            target(q.quantile(0.99, "tunewatch_overhead_seconds"), "p99 {{model}}")],
            unit="s", width=8, steps=overhead_steps,
            description="Time spent in the sidecar excluding the upstream (x-tunewatch-overhead-ms)."),
        timeseries("Time to first byte (streams)", [
            target(q.quantile(0.5, "tunewatch_time_to_first_byte_seconds"), "p50 {{model}}"),
            target(q.quantile(0.99, "tunewatch_time_to_first_byte_seconds"), "p99 {{model}}")],
            unit="s", width=8),
        row("Errors"),
        timeseries("Upstream errors by kind",
                   [target(q.rate("tunewatch_upstream_errors_total", "model, kind"), "{{model}} {{kind}}")],
                   unit="reqps", width=8, stack=True),
        timeseries("Fail-open monitor errors by stage",
                   [target(q.rate("tunewatch_monitor_errors_total", "model, stage"), "{{model}} {{stage}}")],
                   unit="ops", width=8, stack=True, steps=thresholds((None, "green"), (0.001, "red")),
                   description="Exceptions inside monitoring; the proxy failed open, clients saw nothing."),
        timeseries("Client disconnects",
                   [target(q.rate("tunewatch_client_disconnects_total", "model, route"), "{{model}} {{route}}")],
                   unit="reqps", width=8),
        row("Sampling"),
        timeseries("Sample queue", [
            target(q.gauge("tunewatch_sample_queue_depth", "model, pod"), "depth {{pod}}"),
            target(q.gauge("tunewatch_sample_queue_capacity", "model, pod"), "capacity {{pod}}")],
            unit="none", width=8),
        timeseries("Samples taken, analysed and dropped", [
            target(q.rate("tunewatch_samples_total", "model"), "sampled {{model}}"),
            target(q.rate("tunewatch_samples_analyzed_total", "model"), "analysed {{model}}"),
            target(q.rate("tunewatch_samples_dropped_total", "model, reason"), "dropped {{reason}} {{model}}")],
            unit="ops", width=8),
        timeseries("Analysis batch duration p99",
                   [target(q.quantile(0.99, "tunewatch_analysis_batch_duration_seconds"), "{{model}}")],
                   unit="s", width=8),
    ]
    return dashboard(uid="tunewatch-sre-overview", title="Tunewatch / SRE overview",
                     description="Traffic, latency, sidecar overhead, upstream and fail-open errors, sampling.",
                     panels=panels, variables=_variables(q), annotations=_annotations(q))


def safety(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    cat = m("category", "=~", "$category")
    pct = dict(unit="percentunit", min=0, max=1)
    category_var = query_variable("category", "Category", "label_values(tunewatch_refusal_rate"
                                  f'{{{config.job_selector}, namespace=~"$namespace"}}, category)')

    def vs_baseline(title: str, source: str, description: str) -> Panel:
        s = m("source", "=", source)
        return timeseries(title, [
            target(q.gauge("tunewatch_refusal_rate", "model, category", s, cat, agg="avg"), "{{model}} {{category}}"),
            target(q.gauge("tunewatch_refusal_rate_baseline", "model, category", s, cat, agg="avg"),
                   "baseline {{category}}")], description=description, **pct)

    def probe_rates(title: str, category_regex: str) -> Panel:
        c = m("category", "=~", category_regex)
        return timeseries(title, [
            target(q.gauge("tunewatch_probe_failure_rate", "model, category", c), "{{model}} {{category}}"),
            target(q.gauge("tunewatch_probe_baseline_failure_rate", "model, category", c), "baseline {{category}}")],
            width=8, **pct)

    regression_flags = (
        f'{q.gauge("tunewatch_refusal_regression_detected", "model, source, category", cat)} == 1'
    )
    panels: list[Panel] = [
        row("Refusal rate against the base-model baseline"),
        stat("Categories in regression", [target(f"count({regression_flags}) or vector(0)")], unit="none",
             steps=thresholds((None, "green"), (1, "red")), width=6,
             description="Refusal-rate CUSUMs in alarm (traffic and probes)."),
        stat("Probe categories regressed (last run)", [target(
            f'count({q.gauge("tunewatch_probe_regression_detected", "model, category", cat)} == 1) or vector(0)')],
            unit="none", steps=thresholds((None, "green"), (1, "red")), width=6),
        stat("Canary leaks in range", [target(
            f'sum({q.increase("tunewatch_probe_canary_leaks_total", "model", cat)}) or vector(0)')],
            unit="none", steps=thresholds((None, "green"), (1, "red")), width=6,
            description="Probe answers that repeated or acted on a planted canary."),
        stat("Unscoreable share", [target(
            f'({q.rate("tunewatch_refusal_verdicts_total", "", m("verdict", "=", "unscoreable"))} or vector(0)) / '
            f'{q.rate("tunewatch_refusal_verdicts_total", "")}')], unit="percentunit", width=6,
            steps=thresholds((None, "green"), (config.unscoreable_ratio, "red"))),
        vs_baseline("Production refusal rate vs baseline", "traffic",
                    "Refusal rate estimated from sampled traffic, per category, against the baseline."),
        vs_baseline("Probe refusal rate vs baseline", "probe",
                    "Refusal rate on the adversarial probes, per category, against the baseline."),
        timeseries("Refusal CUSUM statistic / threshold", [target(
            q.ratio("tunewatch_refusal_cusum_statistic", "tunewatch_refusal_cusum_threshold",
                    "model, source, category", cat), "{{model}} {{source}} {{category}}")], unit="none", steps=thresholds((None, "green"), (1, "red")),
            description="Alarm when the ratio reaches 1."),
        table("Regressions in alarm", [target(regression_flags, table=True)], hide=("Time", "Value")),
        row("Probes"),
        bargauge("Probe outcomes in range", [target(
            q.increase("tunewatch_probe_attempts_total", "category, outcome", cat), "{{category}} {{outcome}}",
            instant=True)], unit="none"),
        timeseries("Probe regression p-value (Holm)", [target(
            q.gauge("tunewatch_probe_regression_pvalue", "model, category", cat, agg="min"),
            "{{model}} {{category}}")], unit="none", steps=thresholds((None, "red"), (0.05, "green"))),
        probe_rates("Capability probes: failure rate vs baseline", config.capability_category_regex),
        probe_rates("Fairness probes: failure rate vs baseline", config.fairness_category_regex),
        timeseries("Canary leaks", [target(q.increase("tunewatch_probe_canary_leaks_total", "model, category",
                                                      cat, window="1h"), "{{model}} {{category}}")],
                   unit="none", width=8, bars=True),
        timeseries("Probe runs per hour by status", [target(
            q.increase("tunewatch_probe_runs_total", "status", window="1h"), "{{status}}")],
            unit="none", width=8, stack=True),
        timeseries("Time since last successful probe run", [target(
            f"time() - ({q.gauge('tunewatch_probe_last_success_timestamp_seconds', 'model, pod')} > 0)",
            "{{pod}}")], unit="s", width=8,
            steps=thresholds((None, "green"), (config.probe_stale_seconds, "red"))),
        timeseries("Probe run duration", [target(q.gauge("tunewatch_probe_run_duration_seconds", "model, pod"),
                                                 "{{pod}}")], unit="s", width=8),
        timeseries("Verdicts by source and verdict", [target(
            q.rate("tunewatch_refusal_verdicts_total", "source, verdict", cat), "{{source}} {{verdict}}")],
            unit="ops", width=16, stack=True),
    ]
    return dashboard(uid="tunewatch-safety", title="Tunewatch / Safety",
                     description="Refusal rates against the base-model baseline, probe outcomes, "
                                 "regressions, canary leaks, capability and fairness probes.",
                     panels=panels, variables=_variables(q, category_var), annotations=_annotations(q))


def drift(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    det = m("detector", "=~", "$detector")
    detector_var = query_variable("detector", "Detector", "label_values(tunewatch_drift_statistic"
                                  f'{{{config.job_selector}, namespace=~"$namespace"}}, detector)')
    by = "model, pod, detector"
    panels: list[Panel] = [
        row("Drift detectors"),
        stat("Detectors in alarm", [target(f'count({q.gauge("tunewatch_drift_detected", by, det)} == 1) or vector(0)')],
             unit="none", steps=thresholds((None, "green"), (1, "red"))),
        stat("Highest statistic / threshold", [target(
            q.ratio("tunewatch_drift_statistic", "tunewatch_drift_threshold", "", det))], unit="none",
            steps=thresholds((None, "green"), (0.8, "yellow"), (1, "red"))),
        stat("Observations since reset (min)", [target(q.gauge("tunewatch_drift_samples", "", det, agg="min"))],
             unit="none", width=12),
        timeseries("Drift statistic vs threshold", [
            target(q.gauge("tunewatch_drift_statistic", by, det), "statistic {{pod}} {{detector}}"),
            target(q.gauge("tunewatch_drift_threshold", by, det), "threshold {{pod}} {{detector}}")],
            unit="none", description="Each detector's test statistic next to its ERT-calibrated threshold."),
        timeseries("Statistic / threshold", [target(
            q.ratio("tunewatch_drift_statistic", "tunewatch_drift_threshold", by, det), "{{pod}} {{detector}}")], unit="none",
            steps=thresholds((None, "green"), (1, "red")), description="Alarm at 1."),
        state_timeline("Alarm state", [target(q.gauge("tunewatch_drift_detected", by, det), "{{pod}} {{detector}}")],
                       mapping={"0": ("ok", "green"), "1": ("drift", "red")}),
        timeseries("Observations since reset", [target(q.gauge("tunewatch_drift_samples", by, det),
                                                       "{{pod}} {{detector}}")], unit="none"),
        table("Reference sets", [target(q.gauge("tunewatch_drift_reference_info", f"{by}, reference_id", det),
                                        table=True)], hide=("Time", "Value"), width=24,
              description="The reference each detector compares against (id from `tunewatch reference capture`)."),
        row("Analysis worker"),
        timeseries("Samples analysed", [target(q.rate("tunewatch_samples_analyzed_total", "model"), "{{model}}")],
                   unit="ops"),
        timeseries("Analysis batch duration", [
            target(q.quantile(0.5, "tunewatch_analysis_batch_duration_seconds"), "p50 {{model}}"),
            target(q.quantile(0.99, "tunewatch_analysis_batch_duration_seconds"), "p99 {{model}}")], unit="s"),
    ]
    return dashboard(uid="tunewatch-drift", title="Tunewatch / Drift",
                     description="Embedding and scalar drift statistics against their thresholds, reference ids.",
                     panels=panels, variables=_variables(q, detector_var), annotations=_annotations(q))


def governance(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    panels: list[Panel] = [
        row("Deployment fingerprint"),
        table("Current fingerprint", [target(
            f'max by (model, pod, component, value) ({q.join(f"tunewatch_deployment_info{q.sel()} == 1")})',
            table=True)], hide=("Time", "Value"),
            description="Model id/revision and system-prompt sha256 (first 16 hex digits) seen in traffic."),
        bargauge("Fingerprint changes in range", [target(
            q.increase("tunewatch_deployment_changes_total", "component"), "{{component}}", instant=True)],
            unit="none", steps=thresholds((None, "green"), (1, "orange"))),
        timeseries("Time since last change", [target(
            f"time() - {q.gauge('tunewatch_deployment_last_change_timestamp_seconds', 'model, pod, component')}",
            "{{pod}} {{component}}")], unit="s", width=24),
        row("Re-assessment triggers and tickets"),
        stat("Triggers in range", [target(f'sum({q.increase("tunewatch_triggers_total", "type")}) or vector(0)')],
             unit="none", steps=thresholds((None, "green"), (1, "orange"))),
        stat("Outbox depth", [target(f'sum({q.gauge("tunewatch_outbox_depth", "sink", agg="sum")}) or vector(0)')],
             unit="none", steps=thresholds((None, "green"), (1, "yellow"), (50, "red")),
             description="Ticket deliveries not yet confirmed by their sink."),
        stat("Delivery failures in range", [target(
            f'sum({q.increase("tunewatch_sink_delivery_failures_total", "sink")}) or vector(0)')],
            unit="none", steps=thresholds((None, "green"), (1, "red"))),
        stat("Alertmanager notifications rejected in range", [target(
            f'sum({q.increase("tunewatch_alertmanager_notifications_total", "result", m("result", "=", "rejected"))})'
            " or vector(0)")], unit="none", steps=thresholds((None, "green"), (1, "orange"))),
        timeseries("Triggers by type", [target(q.increase("tunewatch_triggers_total", "type", window="1h"),
                                               "{{type}}")], unit="none", bars=True, width=8),
        timeseries("Outbox depth by sink", [target(q.gauge("tunewatch_outbox_depth", "sink", agg="sum"), "{{sink}}")],
                   unit="none", width=8, steps=thresholds((None, "green"), (50, "red"))),
        timeseries("Ticket deliveries by sink and result", [
            target(q.rate("tunewatch_sink_deliveries_total", "sink, result"), "{{sink}} {{result}}"),
            target(q.rate("tunewatch_sink_delivery_failures_total", "sink"), "failed attempts {{sink}}")],
            unit="ops", width=8),
        timeseries("Alertmanager notifications", [target(
            q.rate("tunewatch_alertmanager_notifications_total", "result"), "{{result}}")], unit="ops"),
        table("Build", [target(f"max by (pod, instance, version, python_version) (tunewatch_build_info{q.sel()})",
                               table=True)], hide=("Time", "Value")),
    ]
    return dashboard(uid="tunewatch-governance", title="Tunewatch / Governance",
                     description="Deployment fingerprint changes, re-assessment triggers, ticket outbox.",
                     panels=panels, variables=_variables(q), annotations=_annotations(q))


def all_dashboards(config: MixinConfig) -> dict[str, dict[str, Any]]:
    """File name (under ``dashboards/``) -> dashboard JSON model."""
    return {
        "tunewatch-sre-overview.json": sre_overview(config),
        "tunewatch-safety.json": safety(config),
        "tunewatch-drift.json": drift(config),
        "tunewatch-governance.json": governance(config),
    }


def substitute_defaults(expr: str) -> str:
    """Replace Grafana variables with what "All" and default intervals would send."""
    for name, value in VARIABLE_DEFAULTS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?[a-z_]+\}?", ".*", expr)


def all_panel_queries(config: MixinConfig | None = None) -> list[tuple[str, str, str]]:
    """(dashboard title, panel title, PromQL with variables substituted) for every panel query."""
    out = []
    for board in all_dashboards(config or MixinConfig()).values():
        for panel in board["panels"]:
            for t in panel.get("targets", []):
                out.append((board["title"], panel["title"], substitute_defaults(t["expr"])))
    return out


def all_annotation_queries(config: MixinConfig | None = None) -> list[tuple[str, str, str]]:
    """(dashboard title, annotation name, PromQL) for every PromQL annotation."""
    out = []
    for board in all_dashboards(config or MixinConfig()).values():
        for a in board["annotations"]["list"]:
            if "expr" in a:
                out.append((board["title"], a["name"], substitute_defaults(a["expr"])))
    return out
