"""The paired sign test against the unpaired rate CUSUM (seeded; tolerances stated per test).

Pair model (also bench/probe_pool.py): base refusal rate ``b``; ``churn`` c — the share of units
on which the models disagree without a net change, half each way; an ``effect`` d moves d more
units from "both refused" to "base only" (refuses less) or from "both complied" to "tuned only"
(refuses more). The fine-tune's refusal rate is then ``b - d`` (or ``b + d``); the paired test
sees discordant pairs at rate ``c + d`` with a share ``(c/2 + d) / (c + d)`` going the alarm's
way. Both designs are configured for the same ERT in units (the paired ``ert`` is in discordant
pairs: ``E * c``).
"""

from __future__ import annotations

import numpy as np
import pytest

from detectors.paired import PairCounts, PairedSignCusum, UnpairedRateCusum, two_sided_watch

TABLE = ((True, True), (True, False), (False, True), (False, False))


def cells(base: float, churn: float, effect: float, direction: str) -> tuple[float, ...]:
    """P(both refused), P(base only), P(tuned only), P(both complied)."""
    both_r, base_only, tuned_only, both_c = base - churn / 2, churn / 2, churn / 2, \
        1 - base - churn / 2
    if direction == "less":
        both_r, base_only = both_r - effect, base_only + effect
    else:
        both_c, tuned_only = both_c - effect, tuned_only + effect
    out = (both_r, base_only, tuned_only, both_c)
    assert min(out) >= 0
    return out


def run_length(det: object, rng: np.random.Generator, p: tuple[float, ...], *, unpaired: bool,
               limit: int = 200_000) -> int:
    """Units until the first alarm (the detector is reset first)."""
    det.reset()  # type: ignore[attr-defined]
    i = 0
    while i < limit:
        for k in rng.choice(4, size=1024, p=p):
            i += 1
            pair = TABLE[k]
            if det.update(pair[1] if unpaired else pair).drift:  # type: ignore[attr-defined]
                return i
    raise AssertionError("no alarm within the limit")


def test_arl0_in_discordant_pairs_is_within_15_percent() -> None:
    """800 in-control runs per direction (discordant pairs split 50/50, concordant pairs mixed
    in): relative standard error ~3.6 %, tolerance +-15 % (~4 SE)."""
    rng = np.random.default_rng(21)
    p = cells(0.5, 0.8, 0.0, "less")  # 80 % discordant, 20 % concordant pairs
    for direction in ("less", "more"):
        det = PairedSignCusum(direction=direction, ert=200)  # type: ignore[arg-type]
        discordant = []
        for _ in range(800):
            run_length(det, rng, p, unpaired=False)
            discordant.append(det.counts().discordant)
        assert 1.0 <= det.arl0_exact / 200 < 1.05
        assert abs(np.mean(discordant) / 200 - 1) < 0.15, (direction, np.mean(discordant))


def test_unpaired_arl0_is_within_15_percent() -> None:
    rng = np.random.default_rng(22)
    det = UnpairedRateCusum(direction="less", ert=300, baseline_rate=0.9)
    lengths = [run_length(det, rng, cells(0.9, 0.1, 0.0, "less"), unpaired=True)
               for _ in range(800)]
    assert abs(np.mean(lengths) / 300 - 1) < 0.15, np.mean(lengths)


def test_an_unchanged_deterministic_pair_never_alarms() -> None:
    det = PairedSignCusum(ert=50)
    det.update_many([(True, True), (False, False)] * 50_000)
    assert not det.drift_detected and det.state.n == 100_000 and det.counts().discordant == 0


@pytest.mark.parametrize(("direction", "base"), [("less", 0.9), ("more", 0.05)])
def test_paired_detects_sooner_than_unpaired_at_the_same_ert(direction: str,
                                                             base: float) -> None:
    """Churn 2 %, effect 0.05, ERT 2 000 units for both designs. The exact zero-state delays
    (Markov chain; paired: discordant ARL / discordance rate, by Wald's identity) are checked by
    300 seeded runs each (+-15 %, > 4 SE), and the paired delay must be shorter."""
    churn, effect, ert = 0.02, 0.05, 2000.0
    paired = PairedSignCusum(direction=direction, ert=ert * churn)  # type: ignore[arg-type]
    unpaired = UnpairedRateCusum(direction=direction, ert=ert,  # type: ignore[arg-type]
                                 baseline_rate=base, effect=0.1)
    p = cells(base, churn, effect, direction)
    q = (churn / 2 + effect) / (churn + effect)
    exact_paired = paired.arl(q) / (churn + effect)
    exact_unpaired = unpaired.arl(base - effect if direction == "less" else base + effect)
    rng = np.random.default_rng(23)
    sim_paired = np.mean([run_length(paired, rng, p, unpaired=False) for _ in range(300)])
    sim_unpaired = np.mean([run_length(unpaired, rng, p, unpaired=True) for _ in range(300)])
    assert abs(sim_paired / exact_paired - 1) < 0.15
    assert abs(sim_unpaired / exact_unpaired - 1) < 0.15
    assert sim_paired < 0.8 * sim_unpaired
    assert exact_paired < 0.8 * exact_unpaired


def test_the_other_direction_is_not_watched() -> None:
    less = PairedSignCusum(direction="less", ert=100)
    less.update_many([(False, True)] * 500)  # the fine-tune refuses MORE: not this detector's job
    assert not less.drift_detected and less.counts() == PairCounts(tuned_only=500)
    more = PairedSignCusum(direction="more", ert=100)
    more.update_many([(False, True)] * 500)
    assert more.drift_detected


def test_counts_and_difference() -> None:
    det = PairedSignCusum(ert=100)
    det.update_many([(True, True)] * 5 + [(False, False)] * 3 + [(True, False)] * 2 +
                    [(False, True)])
    c = det.counts()
    assert (c.pairs, c.concordant, c.discordant) == (11, 8, 3)
    assert c.difference == pytest.approx(-1 / 11)


def test_two_sided_watch_and_bad_configuration() -> None:
    w = two_sided_watch(harmful=["disallowed", "obfuscated"], benign=["benign"],
                        ert_harmful=5000, ert_benign=1000, reference_id="base-v1")
    assert {c: (d.direction, d.ert, d.reference_id) for c, d in w.items()} == {
        "disallowed": ("less", 5000.0, "base-v1/disallowed"),
        "obfuscated": ("less", 5000.0, "base-v1/obfuscated"),
        "benign": ("more", 1000.0, "base-v1/benign"),
    }
    with pytest.raises(ValueError, match="both harmful and benign"):
        two_sided_watch(harmful=["x"], benign=["x"], ert_harmful=10, ert_benign=10)
    with pytest.raises(ValueError, match="direction must be"):
        PairedSignCusum(direction="down", ert=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="q1"):
        PairedSignCusum(q1=0.5)
    with pytest.raises(ValueError, match="baseline_rate"):
        UnpairedRateCusum(baseline_rate=1.5)
