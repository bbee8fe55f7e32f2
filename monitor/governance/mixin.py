"""Alerts and dashboard panels of the governance loop, as mixin data.

In the same shape as ``monitor/mixin`` (:class:`~monitor.mixin.alerts.Alert` objects, Grafana panel
dicts from :mod:`monitor.mixin.grafana`), so the mixin can list them beside its own; the ``for:``
durations are data in :class:`GovernanceMixinConfig`. ``unreviewed_for`` is the grace period: how
long a deployment may serve a fingerprint without an approved disposition before anyone is paged.

>>> cfg = MixinConfig()
>>> [a.name for a in governance_alerts(cfg)]
['TunewatchDeploymentUnreviewed', 'TunewatchRejectedDeploymentServing', 'TunewatchArtifactMismatch']
>>> governance_alerts(cfg)[0].rule(cfg)["for"]
'1h'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.mixin.alerts import TARGET, Alert, recording_rules
from monitor.mixin.config import MixinConfig, m
from monitor.mixin.grafana import Panel, row, state_timeline, table, target, timeseries
from monitor.mixin.queries import Queries


@dataclass(frozen=True, kw_only=True)
class GovernanceMixinConfig:
    unreviewed_for: str = "1h"  # the grace period before an unreviewed deployment alerts
    rejected_for: str = "1m"
    artifact_mismatch_for: str = "1m"


def governance_alerts(c: MixinConfig, g: GovernanceMixinConfig | None = None) -> list[Alert]:
    g = g or GovernanceMixinConfig()
    by = c.by()
    return [
        Alert(
            name="TunewatchDeploymentUnreviewed",
            expr=c.with_model(f"max by ({by}) (tunewatch_deployment_reviewed{c.sel()}) == 0"),
            for_=g.unreviewed_for,
            severity="warning",
            team="governance",
            summary=("Model {{ $labels.model }} on {{ $labels.instance }} is served without an "
                     "approved disposition."),
            description=(
                f"The deployment fingerprint served by {TARGET} has had no approved, unexpired "
                f"disposition whose controls hold for {g.unreviewed_for} (the grace period). "
                "Review it and record the decision with `tunewatch disposition record`, or roll "
                "back to the reviewed deployment."
            ),
        ),
        Alert(
            name="TunewatchRejectedDeploymentServing",
            expr=c.with_model(
                f"max by ({by}, reference) (tunewatch_deployment_disposition_info"
                f"{c.sel(m('decision', '=', 'rejected'))}) == 1"
            ),
            for_=g.rejected_for,
            severity="critical",
            team="governance",
            summary=("Model {{ $labels.model }} on {{ $labels.instance }} is served although "
                     "{{ $labels.reference }} rejected it."),
            description=(
                f"{TARGET} serves a deployment fingerprint whose disposition in force, "
                "{{ $labels.reference }}, is a rejection. Take it out of service or record a new "
                "review."
            ),
        ),
        Alert(
            name="TunewatchArtifactMismatch",
            expr=c.with_model(
                f"max by ({by}, artifact) (tunewatch_artifact_verified{c.sel()}) == 0"
            ),
            for_=g.artifact_mismatch_for,
            severity="critical",
            team="governance",
            summary=("Model file {{ $labels.artifact }} on {{ $labels.instance }} is not the one "
                     "that was assessed."),
            description=(
                f"The artefact {{{{ $labels.artifact }}}} mounted by {TARGET} (model "
                "{{ $labels.model }}) is missing, or its sha256 or minisign signature does not "
                "match `deployment.artifacts`. The weights being served may not be the reviewed "
                "ones."
            ),
        ),
    ]


def governance_rule_group(c: MixinConfig, g: GovernanceMixinConfig | None = None
                          ) -> dict[str, Any]:
    """A standalone rule group (recording rules first) — for tests and deployments that load
    these rules on their own. Inside Tunewatch they belong in the mixin's one group."""
    rules = [r.rule() for r in recording_rules(c)]
    rules += [a.rule(c) for a in governance_alerts(c, g)]
    return {"name": "tunewatch-governance", "rules": rules}


def governance_panels(c: MixinConfig) -> list[Panel]:
    """A "Review and verified artefacts" row for the Governance dashboard."""
    q = Queries(c)
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
