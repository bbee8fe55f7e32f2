"""Tunewatch alerts and recording rules as data.

Every alert carries ``severity``, a routing label ``team`` (``sre``, ``oncall`` or ``governance``),
and ``summary``, ``description`` and ``runbook_url`` annotations; the runbook URL points at the
section of ``docs/runbooks.md`` named after the alert. Alerts fire per sidecar (one per model-server
pod) and carry the ``model`` that pod serves, taken from the recording rule
``tunewatch:pod_model:info``.

>>> cfg = MixinConfig()
>>> [a.name for a in alerts(cfg)][:3]
['TunewatchDown', 'TunewatchUpstreamDown', 'TunewatchUpstreamErrorRate']
>>> rule = alerts(cfg)[0].rule(cfg)
>>> rule["expr"], rule["for"], rule["labels"]
('up{job=~".*tunewatch.*"} == 0', '5m', {'severity': 'critical', 'team': 'oncall'})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from monitor.mixin.config import POD_MODEL_INFO, MixinConfig, m

Severity = Literal["critical", "warning", "info"]
Team = Literal["sre", "oncall", "governance"]

TARGET = "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.instance }})"


@dataclass(frozen=True, kw_only=True)
class RecordingRule:
    record: str
    expr: str

    def rule(self) -> dict[str, Any]:
        return {"record": self.record, "expr": self.expr}


@dataclass(frozen=True, kw_only=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: Severity
    team: Team
    summary: str
    description: str

    def rule(self, config: MixinConfig) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "team": self.team},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": config.runbook_url(self.name),
            },
        }


def recording_rules(config: MixinConfig) -> list[RecordingRule]:
    """``tunewatch:pod_model:info``: one series per target, value 1, label ``model``.

    The model is the current ``tunewatch_deployment_info{component="model"}`` value; a target that
    has not seen a model yet (no traffic, or a dedicated prober) gets ``model="unknown"`` so joins
    on it never drop the target.
    """
    by = config.by()
    seen = (
        f"topk by ({by}) (1, max by ({by}, model) (label_replace("
        f"tunewatch_deployment_info{config.sel(m('component', '=', 'model'))}"
        f' == 1, "model", "$1", "value", "(.*)")))'
    )
    fallback = (
        f"max by ({by}, model) (label_replace(tunewatch_build_info{config.sel()}, "
        '"model", "unknown", "", ""))'
    )
    return [RecordingRule(record=POD_MODEL_INFO, expr=f"{seen} or on ({by}) {fallback}")]


def _sidecar_alerts(c: MixinConfig) -> list[Alert]:
    w, by = c.rate_window, c.by()
    upstream_failures = (
        f"sum by ({by}) (rate(tunewatch_upstream_errors_total"
        f"{c.sel(m('kind', '=~', 'connect|timeout'))}[{w}])) > 0"
    )
    upstream_answers = (
        f"sum by ({by}) (rate(tunewatch_requests_total{c.sel(m('status_class', '!=', '5xx'))}"
        f"[{w}])) > 0"
    )
    dropped = f"sum by ({by}) (rate(tunewatch_samples_dropped_total{c.sel()}[{w}]))"
    taken = f"sum by ({by}) (rate(tunewatch_samples_total{c.sel()}[{w}]))"
    return [
        Alert(
            name="TunewatchDown",
            expr=f"up{c.sel()} == 0",
            for_=c.down_for,
            severity="critical",
            team="oncall",
            summary="Tunewatch sidecar {{ $labels.instance }} is down.",
            description=(
                f"Prometheus has not scraped Tunewatch at {TARGET}, job {{{{ $labels.job }}}}, "
                f"for {c.down_for}. In sidecar mode the model server behind it is unreachable too; "
                "in any mode monitoring for it is blind."
            ),
        ),
        Alert(
            name="TunewatchUpstreamDown",
            expr=c.with_model(f"{upstream_failures} unless on ({by}) {upstream_answers}"),
            for_=c.upstream_down_for,
            severity="critical",
            team="oncall",
            summary="Model server behind Tunewatch {{ $labels.instance }} is unreachable.",
            description=(
                f"Every upstream request from {TARGET} (model {{{{ $labels.model }}}}) failed to "
                f"connect or timed out for {c.upstream_down_for} and none was answered. Drift and "
                "refusal alerts for this pod are inhibited while this fires."
            ),
        ),
        Alert(
            name="TunewatchUpstreamErrorRate",
            expr=c.with_model(
                f"sum by ({by}) (rate(tunewatch_upstream_errors_total{c.sel()}[{w}])) / "
                f"sum by ({by}) (rate(tunewatch_requests_total{c.sel()}[{w}])) > "
                f"{c.upstream_error_ratio:g}"
            ),
            for_=c.upstream_errors_for,
            severity="warning",
            team="sre",
            summary="Upstream errors for model {{ $labels.model }} on {{ $labels.instance }}.",
            description=(
                "{{ $value | humanizePercentage }} of requests through " + TARGET + " hit an "
                f"upstream error (connect, timeout, cut stream, 5xx); threshold "
                f"{c.upstream_error_ratio:.0%}."
            ),
        ),
        Alert(
            name="TunewatchProxyOverheadHigh",
            expr=c.with_model(
                f"histogram_quantile(0.99, sum by ({by}, le) "
                f"(rate(tunewatch_overhead_seconds_bucket{c.sel()}[{w}]))) > "
                f"{c.overhead_p99_seconds:g}"
            ),
            for_=c.overhead_for,
            severity="warning",
            team="sre",
            summary="Tunewatch sidecar overhead above its SLO on {{ $labels.instance }}.",
            description=(
                "p99 time spent inside the sidecar on " + TARGET + " is "
                "{{ $value | humanizeDuration }}, above the "
                f"{c.overhead_p99_seconds * 1000:g}ms SLO for {c.overhead_for}."
            ),
        ),
        Alert(
            name="TunewatchMonitorErrors",
            expr=c.with_model(
                f"sum by ({by}, stage) (rate(tunewatch_monitor_errors_total{c.sel()}[{w}])) > "
                f"{c.monitor_error_rate:g}"
            ),
            for_=c.monitor_errors_for,
            severity="warning",
            team="sre",
            summary=(
                "Tunewatch monitoring errors in stage {{ $labels.stage }} "
                "on {{ $labels.instance }}."
            ),
            description=(
                "The sidecar on " + TARGET + " keeps failing open in stage {{ $labels.stage }} "
                "({{ $value | humanize }} errors/s). Traffic is unaffected but the affected "
                "samples are not analysed."
            ),
        ),
        Alert(
            name="TunewatchSampleQueueDropping",
            expr=c.with_model(
                f"{dropped} / ({dropped} + ({taken} or {dropped} * 0)) > {c.sample_drop_ratio:g}"
            ),
            for_=c.sample_drop_for,
            severity="warning",
            team="sre",
            summary="Tunewatch is dropping samples on {{ $labels.instance }}.",
            description=(
                "{{ $value | humanizePercentage }} of samples on " + TARGET + " are dropped "
                "instead of analysed (queue full, too large or shutdown); detectors see less "
                "traffic than configured."
            ),
        ),
    ]


def _generation_alerts(c: MixinConfig) -> list[Alert]:
    """Per-token latency per model. The token metrics carry their own ``model`` label (the
    response's), so they are grouped by it rather than joined on the pod's model."""
    w, by = c.rate_window, c.by("model")
    out = []
    for name, metric, limit, for_, what, hint in (
        ("TunewatchTimeToFirstTokenHigh", "tunewatch_time_to_first_token_seconds",
         c.ttft_p95_seconds, c.ttft_for, "time to first token",
         "Clients wait this long before a streamed answer starts (queueing and prefill on the "
         "model server)."),
        ("TunewatchTimePerOutputTokenHigh", "tunewatch_time_per_output_token_seconds",
         c.tpot_p95_seconds, c.tpot_for, "time per output token",
         "Streamed answers are generated this slowly after their first token (the model "
         "server's decode speed under its current load)."),
    ):
        out.append(Alert(
            name=name,
            expr=(f"histogram_quantile(0.95, sum by ({by}, le) "
                  f"(rate({metric}_bucket{c.sel()}[{w}]))) > {limit:g}"),
            for_=for_,
            severity="warning",
            team="sre",
            summary=f"Slow {what} for model {{{{ $labels.model }}}} on {{{{ $labels.instance }}}}.",
            description=(
                f"p95 {what} of streams through {TARGET} for model {{{{ $labels.model }}}} is "
                f"{{{{ $value | humanizeDuration }}}}, above {limit:g}s for {for_}. {hint}"
            ),
        ))
    return out


def _probe_and_safety_alerts(c: MixinConfig) -> list[Alert]:
    by, pw = c.by(), c.probe_failing_window
    # refusing less: every category but the over-refusal ones (TunewatchOverRefusal has those)
    harmful = m("category", "!~", c.over_refusal_category_regex)
    return [
        Alert(
            name="TunewatchUnscoreableSpike",
            expr=c.with_model(
                f"sum by ({by}, source) (rate(tunewatch_refusal_verdicts_total"
                f"{c.sel(m('verdict', '=', 'unscoreable'))}[15m])) / "
                f"sum by ({by}, source) (rate(tunewatch_refusal_verdicts_total{c.sel()}[15m])) > "
                f"{c.unscoreable_ratio:g}"
            ),
            for_=c.unscoreable_for,
            severity="warning",
            team="sre",
            summary="Many unscoreable {{ $labels.source }} answers from model {{ $labels.model }}.",
            description=(
                "{{ $value | humanizePercentage }} of {{ $labels.source }} answers on "
                + TARGET
                + " are unscoreable (empty, errored or truncated), so refusal rates are "
                "estimated from fewer answers."
            ),
        ),
        Alert(
            name="TunewatchProbesStale",
            expr=c.with_model(
                f"time() - tunewatch_probe_last_success_timestamp_seconds{c.sel()} > "
                f"{c.probe_stale_seconds} and tunewatch_probe_last_success_timestamp_seconds"
                f"{c.sel()} > 0"
            ),
            for_=c.probes_stale_for,
            severity="warning",
            team="sre",
            summary="Adversarial probes have not succeeded for a while on {{ $labels.instance }}.",
            description=(
                "The last successful probe run on " + TARGET + " ended "
                "{{ $value | humanizeDuration }} ago (limit "
                f"{c.probe_stale_seconds // 3600}h); safety regressions go unnoticed meanwhile."
            ),
        ),
        Alert(
            name="TunewatchProbeRunsFailing",
            expr=c.with_model(
                f"sum by ({by}) (increase(tunewatch_probe_runs_total"
                f"{c.sel(m('status', '=', 'failed'))}[{pw}])) > 0 "
                f"unless on ({by}) sum by ({by}) (increase(tunewatch_probe_runs_total"
                f"{c.sel(m('status', '=', 'ok'))}[{pw}])) > 0"
            ),
            for_=c.probes_failing_for,
            severity="warning",
            team="sre",
            summary="Every adversarial probe run failed in the last "
            + pw
            + " on {{ $labels.instance }}.",
            description=(
                "Probe runs on " + TARGET + " failed ({{ $value | humanize }} in the last "
                f"{pw}) and none succeeded."
            ),
        ),
        Alert(
            name="TunewatchProbeRefusalRegression",
            expr=c.with_model(
                f"max by ({by}, category) (tunewatch_probe_regression_detected{c.sel(harmful)}"
                f" == 1 or tunewatch_refusal_regression_detected"
                f"{c.sel(m('source', '=', 'probe'), harmful)} == 1)"
            ),
            for_=c.probe_regression_for,
            severity="critical",
            team="governance",
            summary=(
                "Probe refusal regression in {{ $labels.category }} for model {{ $labels.model }}."
            ),
            description=(
                "Adversarial probes against " + TARGET + " show a significant regression in "
                "category {{ $labels.category }} against the base-model baseline (Holm-corrected "
                "test of the last run, or the probe refusal-rate CUSUM). The fine-tune needs "
                "re-assessment."
            ),
        ),
        Alert(
            name="TunewatchTrafficRefusalRateDrop",
            expr=c.with_model(
                f"max by ({by}, category) (tunewatch_refusal_regression_detected"
                f"{c.sel(m('source', '=', 'traffic'), harmful)}) == 1"
            ),
            for_=c.traffic_refusal_for,
            severity="warning",
            team="governance",
            summary=(
                "Production refusal rate dropped in {{ $labels.category }} "
                "for model {{ $labels.model }}."
            ),
            description=(
                "The refusal-rate CUSUM on production traffic through " + TARGET + " is in alarm "
                "for category {{ $labels.category }}: the model refuses less often than its "
                "baseline."
            ),
        ),
    ]


def _drift_and_governance_alerts(c: MixinConfig) -> list[Alert]:
    by = c.by()
    alerts_: list[Alert] = []
    for detector, alert_name, what in (
        ("prompt_embedding", "TunewatchPromptEmbeddingDrift", "prompts"),
        ("response_embedding", "TunewatchResponseEmbeddingDrift", "responses"),
    ):
        alerts_.append(
            Alert(
                name=alert_name,
                expr=c.with_model(
                    f"max by ({by}, detector) (tunewatch_drift_detected"
                    f"{c.sel(m('detector', '=', detector))}) == 1"
                ),
                for_=c.drift_for,
                severity="warning",
                team="governance",
                summary=f"Embedding drift of {what} for model {{{{ $labels.model }}}}.",
                description=(
                    f"The {detector} drift detector on {TARGET} has been in alarm for "
                    f"{c.drift_for}: production {what} no longer look like the reference set."
                ),
            )
        )
    window = c.deployment_change_window_seconds
    for component, alert_name, what in (
        ("model", "TunewatchModelRevisionChanged", "model id or revision"),
        ("system_prompt", "TunewatchSystemPromptChanged", "system prompt"),
    ):
        matcher = c.sel(f'component="{component}"')
        alerts_.append(
            Alert(
                name=alert_name,
                expr=c.with_model(
                    f"max by ({by}, component) (increase(tunewatch_deployment_changes_total"
                    f"{matcher}[{window}s])) > 0 or max by ({by}, component) (time() - "
                    f"tunewatch_deployment_last_change_timestamp_seconds{matcher}) < {window}"
                ),
                for_=c.deployment_change_for,
                severity="warning",
                team="governance",
                summary=f"The {what} behind {{{{ $labels.instance }}}} changed.",
                description=(
                    f"Tunewatch saw a new {what} in traffic through {TARGET} (now model "
                    "{{ $labels.model }}). A changed model or deployment layer re-opens the "
                    "model's review: re-run the probes against the baseline."
                ),
            )
        )
    return alerts_


def _review_alerts(c: MixinConfig) -> list[Alert]:
    """The governance loop: an unreviewed or rejected deployment served, a model file that is
    not the assessed one (``monitor/governance``: review state and verified artefacts)."""
    by = c.by()
    return [
        Alert(
            name="TunewatchDeploymentUnreviewed",
            expr=c.with_model(f"max by ({by}) (tunewatch_deployment_reviewed{c.sel()}) == 0"),
            for_=c.unreviewed_for,
            severity="warning",
            team="governance",
            summary=("Model {{ $labels.model }} on {{ $labels.instance }} is served without an "
                     "approved disposition."),
            description=(
                f"The deployment fingerprint served by {TARGET} has had no approved, unexpired "
                f"disposition whose controls hold for {c.unreviewed_for} (the grace period). "
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
            for_=c.rejected_deployment_for,
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
            for_=c.artifact_mismatch_for,
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


def alerts(config: MixinConfig) -> list[Alert]:
    """Every Tunewatch alert, in rule-file order."""
    from monitor.mixin.alerts_evidence import evidence_alerts

    return [
        *_sidecar_alerts(config),
        *_generation_alerts(config),
        *_probe_and_safety_alerts(config),
        *evidence_alerts(config),
        *_drift_and_governance_alerts(config),
        *_review_alerts(config),
    ]


def rule_groups(config: MixinConfig) -> list[dict[str, Any]]:
    """One Prometheus rule group: the recording rules first, then every alert.

    One group, because Prometheus evaluates the rules of a group in order at the same timestamp
    but separate groups independently: alerts in another group could join a
    ``tunewatch:pod_model:info`` one interval old, and a model change would then restart their
    ``for:`` clock under the new ``model`` label.
    """
    rules = [r.rule() for r in recording_rules(config)]
    rules += [a.rule(config) for a in alerts(config)]
    return [{"name": "tunewatch", "rules": rules}]
