"""Safety dashboard rows of the sequential evidence (issue 11): probe-pool coverage per epoch, the
two-sided paired comparison with the base model, evidence counted once, the traffic mix by
category and the shadow replay.

>>> from monitor.mixin.config import MixinConfig
>>> [p["title"] for p in evidence_panels(Queries(MixinConfig()), 'category=~"$category"')][:3]
['Evidence: fresh probes, paired comparison with the base, traffic categories', \
'Probe pool drawn in the current epoch', 'Probe categories exhausted in the epoch']
"""

from __future__ import annotations

from monitor.mixin.config import m
from monitor.mixin.grafana import Panel, bargauge, row, target, thresholds, timeseries
from monitor.mixin.queries import Queries


def evidence_panels(q: Queries, cat: str) -> list[Panel]:
    paired = "model, source, category, direction"
    return [
        row("Evidence: fresh probes, paired comparison with the base, traffic categories"),
        bargauge(
            "Probe pool drawn in the current epoch",
            [target(q.ratio("tunewatch_probe_pool_drawn", "tunewatch_probe_pool_units",
                            "category", cat), "{{category}}", instant=True)],
            unit="percentunit",
            width=8,
            description="Units of each pool category drawn since the deployment fingerprint "
            "last changed (this pass); the sequential tests count each unit once per epoch.",
        ),
        timeseries(
            "Probe categories exhausted in the epoch",
            [target(q.gauge("tunewatch_probe_pool_exhausted", "model, category", cat),
                    "{{model}} {{category}}")],
            unit="none",
            width=8,
            steps=thresholds((None, "green"), (1, "orange")),
            description="1: no fresh units left in the category until the fingerprint changes.",
        ),
        timeseries(
            "Evidence counted once: units admitted and repeats",
            [
                target(q.gauge("tunewatch_evidence_admitted", "model, source, category", cat),
                       "admitted {{source}} {{category}}"),
                target(q.gauge("tunewatch_evidence_duplicates", "model, source, category", cat),
                       "repeats {{source}} {{category}}"),
            ],
            unit="none",
            width=8,
            description="Distinct units a sequential test counted in its current epoch, and "
            "the re-sent units it did not count again.",
        ),
        timeseries(
            "Paired test vs base: statistic / threshold",
            [target(q.ratio("tunewatch_paired_statistic", "tunewatch_paired_threshold", paired,
                            cat), "{{model}} {{source}} {{category}} {{direction}}")],
            unit="none",
            steps=thresholds((None, "green"), (1, "red")),
            description="Sequential sign test on discordant pairs (the same unit answered by "
            "the fine-tune and the base); less: refuses less on harmful categories, more: "
            "refuses more on benign ones. Alarm at 1.",
        ),
        timeseries(
            "Fine-tune minus base refusal rate (pairs)",
            [target(q.gauge("tunewatch_paired_refusal_difference", paired, cat, agg="avg"),
                    "{{model}} {{source}} {{category}}")],
            unit="percentunit",
            description="Over the current epoch's pairs; negative: the fine-tune refuses less.",
        ),
        bargauge(
            "Pairs by outcome (current epoch)",
            [target(q.gauge("tunewatch_paired_pairs", "source, category, outcome", cat),
                    "{{source}} {{category}} {{outcome}}", instant=True)],
            unit="none",
            description="base_only: the base refused and the fine-tune complied; tuned_only: "
            "the reverse. Concordant pairs carry no evidence.",
        ),
        timeseries(
            "Traffic mix by category",
            [target(q.rate("tunewatch_traffic_category_samples_total", "category", cat),
                    "{{category}}")],
            unit="ops",
            stack=True,
            description="Sampled prompts by nearest labelled pool category (none: near no "
            "unit). Refusal rates are compared per category, so a change here is no "
            "regression.",
        ),
        timeseries(
            "Shadow replays against the base model",
            [target(q.rate("tunewatch_shadow_replays_total", "outcome"), "{{outcome}}")],
            unit="ops",
            stack=True,
            description="Sampled prompts replayed to the base (paired: both answers judged and "
            "fed to the paired test); rate_limited and queue_full were skipped.",
        ),
        timeseries(
            "Shadow replay queue",
            [target(q.gauge("tunewatch_shadow_queue_depth", "model, pod"), "{{pod}}")],
            unit="none",
            width=12,
        ),
        timeseries(
            "Evidence coverage of the category",
            [target(q.gauge("tunewatch_evidence_coverage_ratio", "model, source, category",
                            cat, m("source", "=~", "probe.*")), "{{source}} {{category}}")],
            unit="percentunit",
            width=12,
            min=0,
            max=1,
        ),
    ]
