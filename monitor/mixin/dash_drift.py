"""Drift dashboard: detector statistics against their thresholds, alarm states, reference ids."""

from __future__ import annotations

from typing import Any

from monitor.mixin.config import MixinConfig, m
from monitor.mixin.grafana import (
    Panel,
    dashboard,
    query_variable,
    row,
    stat,
    state_timeline,
    table,
    target,
    thresholds,
    timeseries,
)
from monitor.mixin.queries import Queries, dashboard_annotations, dashboard_variables


def drift(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    det = m("detector", "=~", "$detector")
    detector_var = query_variable(
        "detector",
        "Detector",
        "label_values(tunewatch_drift_statistic"
        f'{{{config.job_selector}, namespace=~"$namespace"}}, detector)',
    )
    by = "model, pod, detector"
    panels: list[Panel] = [
        row("Drift detectors"),
        stat(
            "Detectors in alarm",
            [target(f"count({q.gauge('tunewatch_drift_detected', by, det)} == 1) or vector(0)")],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
        ),
        stat(
            "Highest statistic / threshold",
            [target(q.ratio("tunewatch_drift_statistic", "tunewatch_drift_threshold", "", det))],
            unit="none",
            steps=thresholds((None, "green"), (0.8, "yellow"), (1, "red")),
        ),
        stat(
            "Observations since reset (min)",
            [target(q.gauge("tunewatch_drift_samples", "", det, agg="min"))],
            unit="none",
            width=12,
        ),
        timeseries(
            "Drift statistic vs threshold",
            [
                target(
                    q.gauge("tunewatch_drift_statistic", by, det), "statistic {{pod}} {{detector}}"
                ),
                target(
                    q.gauge("tunewatch_drift_threshold", by, det), "threshold {{pod}} {{detector}}"
                ),
            ],
            unit="none",
            description="Each detector's test statistic next to its ERT-calibrated threshold.",
        ),
        timeseries(
            "Statistic / threshold",
            [
                target(
                    q.ratio("tunewatch_drift_statistic", "tunewatch_drift_threshold", by, det),
                    "{{pod}} {{detector}}",
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
            description="Alarm at 1.",
        ),
        state_timeline(
            "Alarm state",
            [target(q.gauge("tunewatch_drift_detected", by, det), "{{pod}} {{detector}}")],
            mapping={"0": ("ok", "green"), "1": ("drift", "red")},
        ),
        timeseries(
            "Observations since reset",
            [target(q.gauge("tunewatch_drift_samples", by, det), "{{pod}} {{detector}}")],
            unit="none",
        ),
        table(
            "Reference sets",
            [
                target(
                    q.gauge("tunewatch_drift_reference_info", f"{by}, reference_id", det),
                    table=True,
                )
            ],
            hide=("Time", "Value"),
            width=24,
            description=(
                "The reference each detector compares against "
                "(id from `tunewatch reference capture`)."
            ),
        ),
        row("Analysis worker"),
        timeseries(
            "Samples analysed",
            [target(q.rate("tunewatch_samples_analyzed_total", "model"), "{{model}}")],
            unit="ops",
        ),
        timeseries(
            "Analysis batch duration",
            [
                target(
                    q.quantile(0.5, "tunewatch_analysis_batch_duration_seconds"), "p50 {{model}}"
                ),
                target(
                    q.quantile(0.99, "tunewatch_analysis_batch_duration_seconds"), "p99 {{model}}"
                ),
            ],
            unit="s",
        ),
    ]
    return dashboard(
        uid="tunewatch-drift",
        title="Tunewatch / Drift",
        description="Drift statistics against their thresholds, alarm states, reference ids.",
        panels=panels,
        variables=dashboard_variables(q, detector_var),
        annotations=dashboard_annotations(q),
    )
