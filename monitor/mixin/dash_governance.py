"""Governance dashboard: deployment fingerprint and its changes, review state and verified
artefacts, re-assessment triggers, outbox."""

from __future__ import annotations

from typing import Any

from monitor.mixin.config import MixinConfig, m
from monitor.mixin.grafana import (
    Panel,
    bargauge,
    dashboard,
    row,
    stat,
    state_timeline,
    table,
    target,
    thresholds,
    timeseries,
)
from monitor.mixin.queries import Queries, dashboard_annotations, dashboard_variables


def governance(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    panels: list[Panel] = [
        row("Deployment fingerprint"),
        table(
            "Current fingerprint",
            [
                target(
                    f"max by (model, pod, component, value) "
                    f"({q.join(f'tunewatch_deployment_info{q.sel()} == 1')})",
                    table=True,
                )
            ],
            hide=("Time", "Value"),
            description=(
                "Model id/revision and system-prompt sha256 (first 16 hex digits) seen in traffic."
            ),
        ),
        bargauge(
            "Fingerprint changes in range",
            [
                target(
                    q.increase("tunewatch_deployment_changes_total", "component"),
                    "{{component}}",
                    instant=True,
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "orange")),
        ),
        timeseries(
            "Time since last change",
            [
                target(
                    "time() - "
                    + q.gauge(
                        "tunewatch_deployment_last_change_timestamp_seconds",
                        "model, pod, component",
                    ),
                    "{{pod}} {{component}}",
                )
            ],
            unit="s",
            width=24,
        ),
        *review_panels(q),
        row("Re-assessment triggers and tickets"),
        stat(
            "Triggers in range",
            [target(f"sum({q.increase('tunewatch_triggers_total', 'type')}) or vector(0)")],
            unit="none",
            steps=thresholds((None, "green"), (1, "orange")),
        ),
        stat(
            "Outbox depth",
            [target(f"sum({q.gauge('tunewatch_outbox_depth', 'sink', agg='sum')}) or vector(0)")],
            unit="none",
            steps=thresholds((None, "green"), (1, "yellow"), (50, "red")),
            description="Ticket deliveries not yet confirmed by their sink.",
        ),
        stat(
            "Delivery failures in range",
            [
                target(
                    f"sum({q.increase('tunewatch_sink_delivery_failures_total', 'sink')}) "
                    "or vector(0)"
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
        ),
        stat(
            "Alertmanager notifications rejected in range",
            [
                target(
                    "sum("
                    + q.increase(
                        "tunewatch_alertmanager_notifications_total",
                        "result",
                        m("result", "=", "rejected"),
                    )
                    + ")"
                    " or vector(0)"
                )
            ],
            unit="none",
            steps=thresholds((None, "green"), (1, "orange")),
        ),
        timeseries(
            "Triggers by type",
            [target(q.increase("tunewatch_triggers_total", "type", window="1h"), "{{type}}")],
            unit="none",
            bars=True,
            width=8,
        ),
        timeseries(
            "Outbox depth by sink",
            [target(q.gauge("tunewatch_outbox_depth", "sink", agg="sum"), "{{sink}}")],
            unit="none",
            width=8,
            steps=thresholds((None, "green"), (50, "red")),
        ),
        timeseries(
            "Ticket deliveries by sink and result",
            [
                target(
                    q.rate("tunewatch_sink_deliveries_total", "sink, result"), "{{sink}} {{result}}"
                ),
                target(
                    q.rate("tunewatch_sink_delivery_failures_total", "sink"),
                    "failed attempts {{sink}}",
                ),
            ],
            unit="ops",
            width=8,
        ),
        timeseries(
            "Alertmanager notifications",
            [target(q.rate("tunewatch_alertmanager_notifications_total", "result"), "{{result}}")],
            unit="ops",
        ),
        table(
            "Build",
            [
                target(
                    "max by (pod, instance, version, python_version) "
                    f"(tunewatch_build_info{q.sel()})",
                    table=True,
                )
            ],
            hide=("Time", "Value"),
        ),
    ]
    return dashboard(
        uid="tunewatch-governance",
        title="Tunewatch / Governance",
        description="Deployment fingerprint changes, review state and verified artefacts, "
        "re-assessment triggers, ticket outbox.",
        panels=panels,
        variables=dashboard_variables(q),
        annotations=dashboard_annotations(q),
    )


def review_panels(q: Queries) -> list[Panel]:
    """The "Review and verified artefacts" row: is the serving fingerprint covered by an approved
    disposition, which one is in force, do the model files match what was assessed."""
    reviewed = q.gauge("tunewatch_deployment_reviewed", "model, pod")
    return [
        row("Review and verified artefacts"),
        state_timeline(
            "Deployment reviewed",
            [target(reviewed, "{{model}} {{pod}}")],
            mapping={"0": ("unreviewed", "red"), "1": ("reviewed", "green")},
            description="1 while the serving fingerprint has an approved, unexpired disposition "
            "whose controls hold.",
            width=12,
        ),
        table(
            "Disposition in force",
            [target(f"max by (model, pod, reference, decision) "
                    f"({q.join(f'tunewatch_deployment_disposition_info{q.sel()} == 1')})",
                    table=True)],
            hide=("Time", "Value"),
            description="Reference and decision of the disposition the serving deployment "
            "operates under (none: no disposition).",
            width=12,
        ),
        table(
            "Verified artefacts",
            [target(q.gauge("tunewatch_artifact_verified", "pod, artifact"), table=True)],
            hide=("Time",),
            description="1: sha256 or minisign signature matches; 0: mismatch or missing.",
            width=12,
        ),
        timeseries(
            "Time since each artefact was hashed",
            [target("time() - " + q.gauge("tunewatch_artifact_last_hashed_timestamp_seconds",
                                          "pod, artifact"), "{{pod}} {{artifact}}")],
            unit="s",
            width=12,
        ),
    ]
