"""Issue 11 benchmark: the probe pool, counting evidence once, and paired vs unpaired designs.

Prints, in one run:

1. the generated pool: units per category, distinct values per factor, hash, determinism and
   generation time;
2. the evidence ledger: a deterministic model re-run on the same 63 units (plain CUSUM vs ledger),
   the ARL0 under fresh draws (measured / configured), and the exact probability that one epoch
   of N distinct units false-alarms;
3. ARL0 of the paired sign test (in discordant pairs) and of the unpaired rate CUSUM, measured /
   configured;
4. detection delays (units until alarm, change present from the start) of the paired and the
   unpaired design at the same ERT in units, exact (Markov chain; the paired one by Wald's
   identity: discordant ARL / discordance rate) with seeded simulations beside a few of them;
5. the unpaired design's ARL0 when its stored baseline rate is off (the paired test has no
   baseline rate to be wrong about).

Data: simulated outcomes only (the pair model of tests/detectors/test_paired.py); the real-model
numbers come from the lab's drifted models and are added separately.

    PYTHONPATH=. .venv/bin/python bench/probe_pool.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.cusum import BernoulliCusum
from detectors.ledger import Evidence, EvidenceLedger
from detectors.paired import PairedSignCusum, UnpairedRateCusum
from monitor.probes.pool.generate import DEFAULT_SEED, generate_pool
from monitor.probes.pool.model import FACTOR_NAMES

TABLE = ((True, True), (True, False), (False, True), (False, False))


def cells(base: float, churn: float, effect: float, direction: str) -> tuple[float, ...]:
    both_r, base_only, tuned_only, both_c = base - churn / 2, churn / 2, churn / 2, \
        1 - base - churn / 2
    if direction == "less":
        both_r, base_only = both_r - effect, base_only + effect
    else:
        both_c, tuned_only = both_c - effect, tuned_only + effect
    return both_r, base_only, tuned_only, both_c


def run_length(det, rng: np.random.Generator, p: tuple[float, ...], *, unpaired: bool) -> int:
    det.reset()
    i = 0
    while True:
        for k in rng.choice(4, size=1024, p=p):
            i += 1
            pair = TABLE[k]
            if det.update(pair[1] if unpaired else pair).drift:
                return i


def alarm_within(det: BernoulliCusum, p: float, n: int) -> float:
    """Exact P(first alarm within n observations) of an integer CUSUM at true rate p."""
    up, down, p_up = det._chain(p)
    h = det.threshold_int
    v = np.zeros(h)
    v[0] = 1.0
    idx = np.arange(h)
    hit = 0.0
    for _ in range(n):
        new = np.zeros(h)
        for step, prob in ((up, p_up), (down, 1 - p_up)):
            nxt = np.maximum(idx + step, 0)
            keep = nxt < h
            hit += float(v[~keep].sum() * prob)
            np.add.at(new, nxt[keep], v[keep] * prob)
        v = new
    return hit


def section_pool() -> None:
    print("== 1. pool ==")
    t = time.perf_counter()
    pool = generate_pool(seed=DEFAULT_SEED)
    gen_s = time.perf_counter() - t
    same = generate_pool(seed=DEFAULT_SEED).to_jsonl() == pool.to_jsonl()
    print(f"seed {DEFAULT_SEED}: {len(pool.units)} units, {len(pool.probes())} probes, sha256 "
          f"{pool.hash[:16]}..., generated in {gen_s:.2f} s, same bytes on regeneration: {same}")
    print(f"{'category':<12}{'units':>7}  distinct values per factor")
    for cat, n in pool.counts().items():
        facts = ", ".join(f"{f} {len(pool.factor_counts(f, category=cat))}" for f in FACTOR_NAMES
                          if len(pool.factor_counts(f, category=cat)) > 1)
        print(f"{cat:<12}{n:>7}  {facts}")
    c = pool.counts()
    print(f"disallowed + obfuscated = {c['disallowed'] + c['obfuscated']}")


def section_ledger(quick: bool) -> None:
    print("\n== 2. evidence ledger (Bernoulli CUSUM p0 0.9 -> p1 0.8) ==")
    order = np.random.default_rng(0).permutation(63)
    units = [(f"unit-{i}", bool(order[i] < 53)) for i in range(63)]  # 84 % refused
    plain = BernoulliCusum(p0=0.9, p1=0.8, arl0=2000)
    led = EvidenceLedger(make_detector=lambda: BernoulliCusum(p0=0.9, p1=0.8, arl0=2000))
    runs = 2000 if quick else 10_000
    plain_alarm = None
    for run in range(runs):
        for unit, refused in units:
            led.update(Evidence(unit=unit, epoch="fp", value=refused))
            if plain_alarm is None and plain.update(refused).drift:
                plain_alarm = run + 1
    print(f"deterministic model, 53/63 refused (below break-even), ARL0 2000, {runs} runs: "
          f"plain CUSUM alarms at run {plain_alarm}; ledger alarms: "
          f"{int(led.drift_detected)}, admitted {led.report().admitted}, duplicates "
          f"{led.report().duplicates}")
    rng = np.random.default_rng(7)
    print(f"{'ARL0 cfg':>9}{'exact':>9}{'runs':>6}{'measured':>10}{'ratio':>7}  (fresh units)")
    for arl0 in (300, 1000) if quick else (300, 1000, 2000):
        n_runs = 300 if quick else 1000
        lengths = []
        for r in range(n_runs):
            led = EvidenceLedger(make_detector=lambda a=arl0: BernoulliCusum(p0=0.9, p1=0.8,
                                                                             arl0=a))
            i = 0
            while True:
                state = led.update(Evidence(unit=f"{r}-{i}", epoch="fp",
                                            value=bool(rng.random() < 0.9)))
                i += 1
                if state.drift:
                    break
            lengths.append(state.n)
        exact = BernoulliCusum(p0=0.9, p1=0.8, arl0=arl0).arl0_exact
        m = float(np.mean(lengths))
        print(f"{arl0:>9}{exact:>9.1f}{n_runs:>6}{m:>10.1f}{m / arl0:>7.3f}")
    pool = generate_pool(categories=["disallowed", "obfuscated"])
    for arl0 in (2000, 10_000, 50_000):
        det = BernoulliCusum(p0=0.9, p1=0.8, arl0=arl0)
        sizes = {cat: n for cat, n in pool.counts().items()}
        probs = ", ".join(f"{cat} ({n} units) {alarm_within(det, 0.9, n):.3f}"
                          for cat, n in sizes.items())
        print(f"P(false alarm within one epoch that uses every unit), ARL0 {arl0}: {probs}")


def section_arl0(quick: bool) -> None:
    print("\n== 3. ARL0, paired (discordant pairs) and unpaired (observations) ==")
    rng = np.random.default_rng(8)
    n_runs = 300 if quick else 1000
    print(f"{'design':<28}{'cfg':>7}{'exact':>9}{'runs':>6}{'measured':>10}{'ratio':>7}")
    p_pair = cells(0.5, 0.8, 0.0, "less")
    for direction in ("less", "more"):
        for ert in (200, 1000):
            det = PairedSignCusum(direction=direction, ert=ert)  # type: ignore[arg-type]
            disc = []
            for _ in range(n_runs if ert == 200 else n_runs // 3):
                run_length(det, rng, p_pair, unpaired=False)
                disc.append(det.counts().discordant)
            m = float(np.mean(disc))
            print(f"{'paired ' + direction:<28}{ert:>7}{det.arl0_exact:>9.1f}{len(disc):>6}"
                  f"{m:>10.1f}{m / ert:>7.3f}")
    for direction, base in (("less", 0.9), ("more", 0.05)):
        det2 = UnpairedRateCusum(direction=direction, ert=500,  # type: ignore[arg-type]
                                 baseline_rate=base)
        lengths = [run_length(det2, rng, cells(base, 0.0, 0.0, direction), unpaired=True)
                   for _ in range(n_runs)]
        m = float(np.mean(lengths))
        print(f"{f'unpaired {direction} (p0 {base})':<28}{500:>7}{det2.arl0_exact:>9.1f}"
              f"{n_runs:>6}{m:>10.1f}{m / 500:>7.3f}")


def section_delays(quick: bool) -> None:
    ert = 2000.0
    print(f"\n== 4. delay in units until alarm, same ERT ({ert:.0f} units) for both designs ==")
    print("paired: q1 0.75, ert = 2000 x churn discordant pairs; unpaired: p0 = base rate "
          "(exact), design effect 0.1")
    print(f"{'direction':<10}{'base':>6}{'churn':>7}{'effect':>8}{'paired':>9}{'unpaired':>10}"
          f"{'ratio':>7}  simulated (200 runs each)")
    rng = np.random.default_rng(9)
    simulate = {(0.02, 0.05), (0.05, 0.1), (0.01, 0.02)}
    for direction, base in (("less", 0.9), ("more", 0.05)):
        for churn in (0.01, 0.02, 0.05, 0.1):
            for effect in (0.02, 0.05, 0.1, 0.2):
                paired = PairedSignCusum(direction=direction,  # type: ignore[arg-type]
                                         ert=ert * churn)
                unpaired = UnpairedRateCusum(direction=direction,  # type: ignore[arg-type]
                                             ert=ert, baseline_rate=base, effect=0.1)
                q = (churn / 2 + effect) / (churn + effect)
                dp = paired.arl(q) / (churn + effect)
                du = unpaired.arl(base - effect if direction == "less" else base + effect)
                sim = ""
                if (churn, effect) in simulate and not quick:
                    p = cells(base, churn, effect, direction)
                    sp = np.mean([run_length(paired, rng, p, unpaired=False) for _ in range(200)])
                    su = np.mean([run_length(unpaired, rng, p, unpaired=True)
                                  for _ in range(200)])
                    sim = f"  {sp:.1f} / {su:.1f} = {sp / su:.2f}"
                print(f"{direction:<10}{base:>6}{churn:>7}{effect:>8}{dp:>9.1f}{du:>10.1f}"
                      f"{dp / du:>7.2f}{sim}")
    print("requests: the paired design also sends each unit to the base model (2 requests per "
          "unit), once per unit when base answers are cached (the base does not change)")


def section_robustness() -> None:
    print("\n== 5. unpaired ARL0 when the stored baseline rate is off (configured 2000) ==")
    det = UnpairedRateCusum(direction="less", ert=2000, baseline_rate=0.9)
    for true in (0.9, 0.89, 0.88, 0.87, 0.85):
        print(f"stored 0.90, in-control rate {true:.2f}: ARL0 {det.arl(true):9.1f} "
              f"({det.arl(true) / 2000:.3f} of configured)")
    print("paired: ARL0 in discordant pairs is exact whatever the base rate (McNemar: 50/50)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = ap.parse_args()
    t = time.perf_counter()
    section_pool()
    section_ledger(args.quick)
    section_arl0(args.quick)
    section_delays(args.quick)
    section_robustness()
    print(f"\n(total {time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
