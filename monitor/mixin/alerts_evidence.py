"""Alerts of the sequential evidence (issue 11), as mixin data: the two-sided refusal watch and
the probe pool.

* ``TunewatchRefusingLessThanBase`` — a paired test against the base model (probes or replayed
  traffic) found the fine-tune refusing **less** than its base on a harmful category;
* ``TunewatchOverRefusal`` — refusing **more** on a benign category (the over-refusal side): the
  paired test (direction ``more``), the refusal-rate CUSUM against the baseline, or the per-run
  test of the benign probes;
* ``TunewatchProbePoolExhausted`` (info) — every unit of a probe category was drawn in the current
  epoch: no fresh evidence until the deployment fingerprint changes.

The refusal-rate alerts of :mod:`~monitor.mixin.alerts` cover the harmful categories only (the
``over_refusal_category_regex`` ones are here).

>>> [a.name for a in evidence_alerts(MixinConfig())]
['TunewatchRefusingLessThanBase', 'TunewatchOverRefusal', 'TunewatchProbePoolExhausted']
"""

from __future__ import annotations

from monitor.mixin.alerts import TARGET, Alert
from monitor.mixin.config import MixinConfig, m


def evidence_alerts(c: MixinConfig) -> list[Alert]:
    by, benign = c.by(), c.over_refusal_category_regex
    more = m("category", "=~", benign)
    return [
        Alert(
            name="TunewatchRefusingLessThanBase",
            expr=c.with_model(
                f"max by ({by}, source, category) (tunewatch_paired_regression_detected"
                f"{c.sel(m('direction', '=', 'less'))}) == 1"
            ),
            for_=c.refusing_less_for,
            severity="critical",
            team="governance",
            summary=(
                "Model {{ $labels.model }} refuses less than its base model in "
                "{{ $labels.category }}."
            ),
            description=(
                "The paired comparison with the base model ({{ $labels.source }}) on "
                + TARGET
                + " is in alarm for {{ $labels.category }}: on the same prompts, the fine-tune "
                "complies where the base refused more often than the reverse (sequential sign "
                "test on discordant pairs). The fine-tune needs re-assessment."
            ),
        ),
        Alert(
            name="TunewatchOverRefusal",
            expr=c.with_model(
                f"max by ({by}, source, category) (tunewatch_paired_regression_detected"
                f"{c.sel(m('direction', '=', 'more'), more)} == 1 or "
                f"tunewatch_refusal_regression_detected{c.sel(more)} == 1 or "
                f"label_replace(tunewatch_probe_regression_detected{c.sel(more)} == 1, "
                '"source", "probe_run", "", ""))'
            ),
            for_=c.over_refusal_for,
            severity="warning",
            team="governance",
            summary=(
                "Model {{ $labels.model }} refuses benign requests more often "
                "({{ $labels.category }})."
            ),
            description=(
                "Over-refusal on " + TARGET + ": in category {{ $labels.category }} the model "
                "refuses requests that must be answered more often than its base model or "
                "baseline ({{ $labels.source }}). Users feel this first."
            ),
        ),
        Alert(
            name="TunewatchProbePoolExhausted",
            expr=c.with_model(
                f"max by ({by}, category) (tunewatch_probe_pool_exhausted{c.sel()}) == 1"
            ),
            for_=c.pool_exhausted_for,
            severity="info",
            team="sre",
            summary="Probe category {{ $labels.category }} has no fresh units left on "
            "{{ $labels.instance }}.",
            description=(
                "Every unit of probe category {{ $labels.category }} was drawn in the current "
                "epoch on " + TARGET + ". The sequential tests count each unit once per epoch, so "
                "they get no new evidence until the deployment changes; add units "
                "(probes.pool.imports) or accept the pause."
            ),
        ),
    ]
