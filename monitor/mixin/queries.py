"""PromQL for the dashboards: the variable-aware selector, the model join, shared variables.

Every query selects the Tunewatch job and the ``$namespace``/``$pod`` variables, and joins
``tunewatch:pod_model:info`` (a recording rule from ``alerts.py``) to filter by ``$model`` and to
carry the ``model`` label, so fleet views aggregate per model across pods.

>>> q = Queries(MixinConfig())
>>> q.sel('source="probe"')
'{job=~".*tunewatch.*", namespace=~"$namespace", pod=~"$pod", source="probe"}'
>>> by_clause("sum", ""), by_clause("max", "model, pod")
('sum', 'max by (model, pod)')
"""

from __future__ import annotations

from typing import Any

from monitor.mixin.config import POD_MODEL_INFO, MixinConfig
from monitor.mixin.grafana import annotation, datasource_variable, query_variable

RATE = "$__rate_interval"


class Queries:
    """PromQL fragments with the dashboard variables applied."""

    def __init__(self, config: MixinConfig) -> None:
        self.config = config

    def sel(self, *matchers: str) -> str:
        return self.config.sel('namespace=~"$namespace"', 'pod=~"$pod"', *matchers)

    def join(self, expr: str) -> str:
        """Keep targets serving ``$model`` and add their ``model`` label."""
        return (
            f"({expr}) * on ({self.config.by()}) group_left (model) "
            f'{POD_MODEL_INFO}{{model=~"$model"}}'
        )

    def rate(self, metric: str, by: str, *matchers: str, window: str = RATE) -> str:
        inner = self.join(f"rate({metric}{self.sel(*matchers)}[{window}])")
        return f"{by_clause('sum', by)} ({inner})"

    def increase(self, metric: str, by: str, *matchers: str, window: str = "$__range") -> str:
        inner = self.join(f"increase({metric}{self.sel(*matchers)}[{window}])")
        return f"{by_clause('sum', by)} ({inner})"

    def gauge(self, metric: str, by: str, *matchers: str, agg: str = "max") -> str:
        return f"{by_clause(agg, by)} ({self.join(f'{metric}{self.sel(*matchers)}')})"

    def ratio(self, numerator: str, denominator: str, by: str, *matchers: str) -> str:
        """``numerator / denominator`` of two gauges with the same labels, per target."""
        sel = self.sel(*matchers)
        return f"{by_clause('max', by)} ({self.join(f'{numerator}{sel} / {denominator}{sel}')})"

    def quantile(self, q: float, histogram: str, by: str = "model") -> str:
        inner = self.join(f"rate({histogram}_bucket{self.sel()}[{RATE}])")
        grouping = by_clause("sum", f"{by}, le" if by else "le")
        return f"histogram_quantile({q:g}, {grouping} ({inner}))"


    # Series that carry their own ``model`` label (the token metrics): filtered on it directly,
    # no join (the join's ``group_left (model)`` would overwrite it with the pod's model).
    def model_sel(self, *matchers: str) -> str:
        return self.sel('model=~"$model"', *matchers)

    def model_rate(self, metric: str, by: str, *matchers: str, window: str = RATE) -> str:
        return f"{by_clause('sum', by)} (rate({metric}{self.model_sel(*matchers)}[{window}]))"

    def model_quantile(self, q: float, histogram: str, by: str = "model",
                       *matchers: str) -> str:
        grouping = by_clause("sum", f"{by}, le" if by else "le")
        return (f"histogram_quantile({q:g}, {grouping} "
                f"(rate({histogram}_bucket{self.model_sel(*matchers)}[{RATE}])))")


def by_clause(op: str, by: str) -> str:
    """``sum by (a, b)``, or plain ``sum`` when ``by`` is empty."""
    return f"{op} by ({by})" if by else op


def dashboard_variables(q: Queries, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    job = q.config.job_selector
    return [
        datasource_variable(),
        query_variable(
            "namespace", "Namespace", f"label_values(tunewatch_build_info{{{job}}}, namespace)"
        ),
        query_variable(
            "pod",
            "Pod",
            f'label_values(tunewatch_build_info{{{job}, namespace=~"$namespace"}}, pod)',
        ),
        query_variable(
            "model",
            "Model",
            f'label_values({POD_MODEL_INFO}{{{job}, namespace=~"$namespace", pod=~"$pod"}}, model)',
        ),
        *extra,
    ]


def dashboard_annotations(q: Queries) -> list[dict[str, Any]]:
    by = "namespace, pod, component"
    changes = (
        f"sum by ({by}) (changes("
        f"tunewatch_deployment_last_change_timestamp_seconds{q.sel()}[2m])) > 0"
        f" or sum by ({by}) (increase(tunewatch_deployment_changes_total{q.sel()}[2m])) > 0"
    )
    triggers = (
        f"sum by (namespace, pod, type) (increase(tunewatch_triggers_total{q.sel()}[2m])) > 0"
    )
    return [
        annotation(
            "Deployment changes",
            changes,
            title="{{component}} changed",
            text="{{namespace}}/{{pod}}",
            color="orange",
        ),
        annotation(
            "Re-assessment triggers",
            triggers,
            title="trigger: {{type}}",
            text="{{namespace}}/{{pod}}",
            color="red",
        ),
    ]
