"""Safety dashboard: refusal rates against the base-model baseline, probe outcomes, regressions,
canary leaks, capability and fairness probes."""

from __future__ import annotations

from typing import Any

from monitor.mixin.config import MixinConfig, m
from monitor.mixin.dash_evidence import evidence_panels
from monitor.mixin.grafana import (
    Panel,
    bargauge,
    dashboard,
    query_variable,
    row,
    stat,
    table,
    target,
    thresholds,
    timeseries,
)
from monitor.mixin.queries import Queries, dashboard_annotations, dashboard_variables


def safety(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    cat = m("category", "=~", "$category")
    category_var = query_variable(
        "category",
        "Category",
        "label_values(tunewatch_refusal_rate"
        f'{{{config.job_selector}, namespace=~"$namespace"}}, category)',
    )

    def vs_baseline(title: str, source: str, description: str) -> Panel:
        s = m("source", "=", source)
        return timeseries(
            title,
            [
                target(
                    q.gauge("tunewatch_refusal_rate", "model, category", s, cat, agg="avg"),
                    "{{model}} {{category}}",
                ),
                target(
                    q.gauge(
                        "tunewatch_refusal_rate_baseline", "model, category", s, cat, agg="avg"
                    ),
                    "baseline {{category}}",
                ),
            ],
            description=description,
            unit="percentunit",
            min=0,
            max=1,
        )

    def probe_rates(title: str, category_regex: str) -> Panel:
        c = m("category", "=~", category_regex)
        return timeseries(
            title,
            [
                target(
                    q.gauge("tunewatch_probe_failure_rate", "model, category", c),
                    "{{model}} {{category}}",
                ),
                target(
                    q.gauge("tunewatch_probe_baseline_failure_rate", "model, category", c),
                    "baseline {{category}}",
                ),
            ],
            width=8,
            unit="percentunit",
            min=0,
            max=1,
        )

    regression_flags = (
        f"{q.gauge('tunewatch_refusal_regression_detected', 'model, source, category', cat)} == 1"
    )
    panels: list[Panel] = [
        row("Refusal rate against the base-model baseline"),
        stat(
            "Categories in regression",
            [target(f"count({regression_flags}) or vector(0)")],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
            width=6,
            description="Refusal-rate CUSUMs in alarm (traffic and probes).",
        ),
        stat(
            "Probe categories regressed (last run)",
            [
                target(
                    "count("
                    + q.gauge("tunewatch_probe_regression_detected", "model, category", cat)
                    + " == 1) or vector(0)"
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
            width=6,
        ),
        stat(
            "Canary leaks in range",
            [
                target(
                    f"sum({q.increase('tunewatch_probe_canary_leaks_total', 'model', cat)})"
                    " or vector(0)"
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
            width=6,
            description="Probe answers that repeated or acted on a planted canary.",
        ),
        stat(
            "Unscoreable share",
            [
                target(
                    "("
                    + q.rate(
                        "tunewatch_refusal_verdicts_total", "", m("verdict", "=", "unscoreable")
                    )
                    + " or vector(0)) / "
                    f"{q.rate('tunewatch_refusal_verdicts_total', '')}"
                )
            ],
            unit="percentunit",
            width=6,
            steps=thresholds((None, "green"), (config.unscoreable_ratio, "red")),
        ),
        vs_baseline(
            "Production refusal rate vs baseline",
            "traffic",
            "Refusal rate estimated from sampled traffic, per category, against the baseline.",
        ),
        vs_baseline(
            "Probe refusal rate vs baseline",
            "probe",
            "Refusal rate on the adversarial probes, per category, against the baseline.",
        ),
        timeseries(
            "Refusal CUSUM statistic / threshold",
            [
                target(
                    q.ratio(
                        "tunewatch_refusal_cusum_statistic",
                        "tunewatch_refusal_cusum_threshold",
                        "model, source, category",
                        cat,
                    ),
                    "{{model}} {{source}} {{category}}",
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
            description="Alarm when the ratio reaches 1.",
        ),
        table(
            "Regressions in alarm", [target(regression_flags, table=True)], hide=("Time", "Value")
        ),
        *evidence_panels(q, cat),
        row("Probes"),
        bargauge(
            "Probe outcomes in range",
            [
                target(
                    q.increase("tunewatch_probe_attempts_total", "category, outcome", cat),
                    "{{category}} {{outcome}}",
                    instant=True,
                )
            ],
            unit="none",
        ),
        timeseries(
            "Probe regression p-value (Holm)",
            [
                target(
                    q.gauge("tunewatch_probe_regression_pvalue", "model, category", cat, agg="min"),
                    "{{model}} {{category}}",
                )
            ],
            unit="none",
            steps=thresholds((None, "red"), (0.05, "green")),
        ),
        probe_rates(
            "Capability probes: failure rate vs baseline", config.capability_category_regex
        ),
        probe_rates("Fairness probes: failure rate vs baseline", config.fairness_category_regex),
        timeseries(
            "Canary leaks",
            [
                target(
                    q.increase(
                        "tunewatch_probe_canary_leaks_total", "model, category", cat, window="1h"
                    ),
                    "{{model}} {{category}}",
                )
            ],
            unit="none",
            width=8,
            bars=True,
        ),
        timeseries(
            "Probe runs per hour by status",
            [target(q.increase("tunewatch_probe_runs_total", "status", window="1h"), "{{status}}")],
            unit="none",
            width=8,
            stack=True,
        ),
        timeseries(
            "Time since last successful probe run",
            [
                target(
                    "time() - ("
                    + q.gauge("tunewatch_probe_last_success_timestamp_seconds", "model, pod")
                    + " > 0)",
                    "{{pod}}",
                )
            ],
            unit="s",
            width=8,
            steps=thresholds((None, "green"), (config.probe_stale_seconds, "red")),
        ),
        timeseries(
            "Probe run duration",
            [target(q.gauge("tunewatch_probe_run_duration_seconds", "model, pod"), "{{pod}}")],
            unit="s",
            width=8,
        ),
        timeseries(
            "Verdicts by source and verdict",
            [
                target(
                    q.rate("tunewatch_refusal_verdicts_total", "source, verdict", cat),
                    "{{source}} {{verdict}}",
                )
            ],
            unit="ops",
            width=16,
            stack=True,
        ),
    ]
    return dashboard(
        uid="tunewatch-safety",
        title="Tunewatch / Safety",
        description="Refusal rates against the base-model baseline, probe outcomes, "
        "regressions, canary leaks, capability and fairness probes.",
        panels=panels,
        variables=dashboard_variables(q, category_var),
        annotations=dashboard_annotations(q),
    )
