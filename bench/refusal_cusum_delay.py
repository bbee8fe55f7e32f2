"""Detection delay of the refusal-rate CUSUM next to the optimum at the same false-alarm rate.

Scenarios: refusal rate 5 % -> 2.5 % and 95 % -> 80 %, ARL0 = 10 000 (configurable).

* ours: ``BernoulliCusum(p0, p1=true p1, arl0)`` (integer weights, resolution 20); its zero-state
  delay (expected samples to alarm when the change is present from the start) exact by Markov
  chain and measured by simulating the detector class;
* optimum: the *exact* (real-valued log-likelihood-ratio) Bernoulli CUSUM, searched over the design
  rate ``p1'`` (a grid around the true p1) with ``h`` set for each design so that ARL0 equals ours;
  run lengths of the real-valued CUSUM are obtained with a fine discretisation (resolution 400,
  i.e. weights accurate to 0.25 %) and the best design is confirmed by direct simulation of the
  real-valued recursion in floating point.

Prints delays and the ratio ours/optimum (target <= 1.1).

    .venv/bin/python bench/refusal_cusum_delay.py [--quick] [--arl0 10000]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.calibration import integer_cusum_arl
from detectors.cusum import BernoulliCusum


def arl_at(det: BernoulliCusum, h: int, p: float) -> float:
    up, down, p_up = det._chain(p)
    return integer_cusum_arl(up=up, down=down, p_up=p_up, h=h)


def h_for_arl0(det: BernoulliCusum, arl0: float) -> int:
    """Smallest integer h of ``det``'s weights with ARL0(h) >= arl0 (bisection)."""
    lo, hi = 1, det.threshold_int
    while arl_at(det, hi, det.p0) < arl0:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if arl_at(det, mid, det.p0) >= arl0:
            hi = mid
        else:
            lo = mid
    return hi


def simulate_float_cusum(p0: float, p1d: float, h: float, p: float, runs: int, seed: int) -> float:
    """Mean run length of the real-valued LLR CUSUM with threshold h (nats)."""
    rng = np.random.default_rng(seed)
    w1, w0 = math.log(p1d / p0), math.log((1 - p1d) / (1 - p0))
    s = np.zeros(runs)
    rl = np.zeros(runs)
    alive = np.ones(runs, dtype=bool)
    n = 0
    while alive.any():
        n += 1
        s = np.maximum(0.0, s + np.where(rng.random(runs) < p, w1, w0))
        hit = alive & (s >= h)
        rl[hit] = n
        alive &= ~hit
    return float(rl.mean())


def simulate_class(det: BernoulliCusum, p: float, runs: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        det.reset()
        while not det.update(bool(rng.random() < p)).drift:
            pass
        out.append(det.state.n)
    a = np.array(out, dtype=float)
    return float(a.mean()), float(1.96 * a.std(ddof=1) / math.sqrt(len(a)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--arl0", type=float, default=10_000.0)
    args = ap.parse_args()
    runs = 300 if args.quick else 3000
    grid = np.linspace(0.4, 1.6, 7 if args.quick else 13)
    for p0, p1 in ((0.05, 0.025), (0.95, 0.8)):
        ours = BernoulliCusum(p0=p0, p1=p1, arl0=args.arl0)
        d_exact = ours.arl(p1)
        d_sim, d_half = simulate_class(ours, p1, runs, seed=11)
        # search over designs of the (finely discretised) real-valued CUSUM at equal ARL0
        target = ours.arl0_exact
        best = None
        rows = []
        for g in grid:
            # design rates between p0 and beyond p1, expressed as a multiple of the shift
            p1d = p0 + g * (p1 - p0)
            if not 0 < p1d < 1:
                continue
            fine = BernoulliCusum(p0=p0, p1=p1d, arl0=target, resolution=400)
            h = h_for_arl0(fine, target)
            delay = arl_at(fine, h, p1)
            rows.append((p1d, h / fine.scale, arl_at(fine, h, p0), delay))
            if best is None or delay < best[3]:
                best = rows[-1]
        assert best is not None
        p1_best, h_best, arl0_best, delay_best = best
        sim_best = simulate_float_cusum(p0, p1_best, h_best, p1, runs, seed=12)
        sim_arl0 = simulate_float_cusum(p0, p1_best, h_best, p0, max(100, runs // 6), seed=13)
        print(f"== refusal rate {p0:.1%} -> {p1:.1%}, configured ARL0 {args.arl0:.0f}")
        print(f"  ours: design p1={p1}, h={ours.threshold:.4f} nats, exact ARL0 {target:.1f}; "
              f"delay exact {d_exact:.1f}, simulated {d_sim:.1f} +- {d_half:.1f} ({runs} runs)")
        for p1d, h, a0, dl in rows:
            mark = "  <- optimum" if p1d == p1_best else ""
            print(f"    design p1={p1d:.4f}  h={h:.4f}  ARL0={a0:8.1f}  delay={dl:8.1f}{mark}")
        print(f"  optimum (real-valued CUSUM): design p1={p1_best:.4f}, h={h_best:.4f}: delay "
              f"{delay_best:.1f} (float simulation {sim_best:.1f}, its ARL0 by simulation "
              f"{sim_arl0:.0f})")
        print(f"  ratio ours/optimum = {d_exact / delay_best:.3f} (exact), "
              f"{d_sim / delay_best:.3f} (simulated ours)  target <= 1.1")


if __name__ == "__main__":
    main()
