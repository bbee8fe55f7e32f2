"""Selectors, thresholds and ``for:`` durations shared by the alerts and the dashboards.

Everything a deployment may want to tune lives in one frozen dataclass, in the spirit of
kubernetes-mixin's ``_config``:

>>> cfg = MixinConfig()
>>> m("kind", "=~", "connect|timeout")
'kind=~"connect|timeout"'
>>> cfg.sel('kind="connect"')
'{job=~".*tunewatch.*", kind="connect"}'
>>> cfg.by()
'job, namespace, pod, instance'
>>> cfg.by("category")
'job, namespace, pod, instance, category'
>>> cfg.runbook_url("TunewatchDown")
'https://github.com/tunewatch/tunewatch/blob/main/docs/runbooks.md#tunewatchdown'
"""

from __future__ import annotations

from dataclasses import dataclass

# Recording rule that maps every scrape target to the model it serves (see alerts.py).
POD_MODEL_INFO = "tunewatch:pod_model:info"


def m(label: str, op: str, value: str) -> str:
    """One label matcher, ``label op "value"``."""
    if op not in ("=", "!=", "=~", "!~"):
        raise ValueError(f"matcher operator must be one of = != =~ !~, got {op!r}")
    return f'{label}{op}"{value}"'


@dataclass(frozen=True, kw_only=True)
class MixinConfig:
    """Data the rules and dashboards are built from.

    ``target_labels`` identify one sidecar (one per model-server pod): queries aggregate by them so
    fleet views sum over pods and alerts fire per pod. Outside Kubernetes ``namespace`` and ``pod``
    are simply empty and ``instance`` tells the targets apart.
    """

    job_selector: str = 'job=~".*tunewatch.*"'
    target_labels: tuple[str, ...] = ("job", "namespace", "pod", "instance")
    runbook_base_url: str = "https://github.com/tunewatch/tunewatch/blob/main/docs/runbooks.md"

    # Probe categories (label values of the probe scheduler) shown in the capability and
    # fairness panels.
    capability_category_regex: str = "capability.*"
    fairness_category_regex: str = "fairness.*"
    # Categories watched for refusing *more* (over-refusal): the benign probes and ordinary
    # traffic (``none``); every other category is watched for refusing less (issue 11).
    over_refusal_category_regex: str = "benign.*|none"

    # Thresholds.
    upstream_error_ratio: float = 0.05
    overhead_p99_seconds: float = 0.005
    monitor_error_rate: float = 0.0  # errors per second, any sustained rate alerts
    sample_drop_ratio: float = 0.01
    unscoreable_ratio: float = 0.2
    probe_stale_seconds: int = 3 * 3600
    probe_failing_window: str = "1h"
    deployment_change_window_seconds: int = 3600
    ttft_p95_seconds: float = 2.0
    tpot_p95_seconds: float = 0.2  # 5 output tokens per second

    # ``for:`` durations.
    down_for: str = "5m"
    upstream_down_for: str = "5m"
    upstream_errors_for: str = "10m"
    overhead_for: str = "15m"
    monitor_errors_for: str = "15m"
    sample_drop_for: str = "15m"
    unscoreable_for: str = "15m"
    probes_stale_for: str = "10m"
    probes_failing_for: str = "15m"
    probe_regression_for: str = "5m"
    traffic_refusal_for: str = "15m"
    drift_for: str = "30m"
    deployment_change_for: str = "1m"
    # the governance loop (docs/governance.md): ``unreviewed_for`` is the grace period, how long a
    # pod may serve a fingerprint without an approved disposition before anyone is alerted
    unreviewed_for: str = "1h"
    rejected_deployment_for: str = "1m"
    artifact_mismatch_for: str = "1m"
    ttft_for: str = "15m"
    tpot_for: str = "15m"
    refusing_less_for: str = "5m"  # paired test against the base model, harmful categories
    over_refusal_for: str = "15m"  # refusing more on benign categories (paired or baseline)
    pool_exhausted_for: str = "1h"

    # Range for rate() in alerts.
    rate_window: str = "5m"

    def sel(self, *matchers: str) -> str:
        """Label selector with the job selector first, then ``matchers``."""
        return "{" + ", ".join((self.job_selector, *matchers)) + "}"

    def by(self, *extra: str) -> str:
        """Comma-separated grouping labels: the target labels, then ``extra``."""
        return ", ".join((*self.target_labels, *extra))

    def with_model(self, expr: str) -> str:
        """Attach the ``model`` label of the target to every series of ``expr`` (value kept)."""
        return f"({expr}) * on ({self.by()}) group_left (model) {POD_MODEL_INFO}"

    def runbook_url(self, alert_name: str) -> str:
        return f"{self.runbook_base_url}#{alert_name.lower()}"
