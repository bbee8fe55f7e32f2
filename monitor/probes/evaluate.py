"""Judge a scored run against a baseline: regressions and inconclusive categories.

Only the baseline units that were run are compared (a rotating subset is compared with the same
probes of the baseline). A category is **inconclusive** when its share of unscoreable units
(errors, timeouts, empty answers) rose by more than ``max_unscoreable_increase`` over the
baseline and the rise is significant (one-sided Fisher exact test, p <= alpha, not adjusted: being
inconclusive is the cautious outcome): the gate cannot vouch for it, and says so instead of
calling it a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.stats import fisher_greater
from monitor.probes.attempt import Tally, majority
from monitor.probes.baseline import Baseline, unit_key
from monitor.probes.scoring import ScoredRun
from monitor.probes.stats import Comparison, compare
from monitor.probes.suite import CATEGORIES


@dataclass(frozen=True)
class Evaluation:
    tallies: dict[str, Tally]
    comparisons: dict[str, Comparison]
    # category -> (baseline, current) share of unscoreable units
    inconclusive: dict[str, tuple[float, float]]

    @property
    def regressions(self) -> list[str]:
        return [c for c, cmp in self.comparisons.items() if cmp.regression]

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.inconclusive


def current_counts(tallies: dict[str, Tally]) -> dict[str, tuple[int, int]]:
    return {c: (t.failed, t.scored) for c, t in tallies.items()}


def evaluate(
    scored: ScoredRun,
    baseline: Baseline | None,
    *,
    alpha: float,
    min_effect_size: float,
    max_unscoreable_increase: float = 0.25,
) -> Evaluation:
    cats = [c for c in CATEGORIES if any(u.category == c for u in scored.units)]
    tallies = scored.tallies(cats)
    if baseline is None:
        return Evaluation(tallies=tallies, comparisons={}, inconclusive={})
    keys = {unit_key(u.category, u.key) for u in scored.units}
    base_counts = baseline.counts(keys)
    comparisons = compare(base_counts, current_counts(tallies), alpha=alpha,
                          min_effect_size=min_effect_size)
    inconclusive: dict[str, tuple[float, float]] = {}
    for c, t in tallies.items():
        b_un = b_tot = 0
        for k in keys:
            if k.startswith(c + ":") and k in baseline.units:
                u = baseline.units[k]
                b_un += majority(u.passed, u.failed) == "unscoreable"
                b_tot += 1
        b_share = b_un / b_tot if b_tot else 0.0
        c_share = t.unscoreable / t.total if t.total else 0.0
        if c_share - b_share > max_unscoreable_increase and fisher_greater(
                t.unscoreable, t.total, b_un, b_tot) <= alpha:
            inconclusive[c] = (b_share, c_share)
    return Evaluation(tallies=tallies, comparisons=comparisons, inconclusive=inconclusive)
