"""Measured ARL0 (run length without change) of every detector vs its configured value.

Seeded; prints per detector the configured ARL0/ERT, the measured mean run length, its 95 % CI
(mean +- 1.96 SE) and the ratio measured/configured (target: within +-15 %).

    .venv/bin/python bench/detector_arl.py           # full run (several minutes on 2 cores)
    .venv/bin/python bench/detector_arl.py --quick   # small run (< 1 minute)

CUSUM: the detector class is run as is, and a vectorised re-implementation of its integer CUSUM
gives many more runs; the exact Markov-chain ARL0 is printed next to both. MMD: synthetic embeddings
(a 4-component mixture on the unit sphere), one calibrated detector per reference and several runs
per reference, so the spread of the reference is part of the measurement. Scalar (river): these
detectors are parameterised by river's own thresholds, not by an ARL0, so only the measured ARL0
on N(0, 1) data is reported.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.calibration import simulate_integer_cusum
from detectors.cusum import BernoulliCusum
from detectors.mmd import EmbeddingDriftDetector
from detectors.scalar import AdwinDetector, KswinDetector, PageHinkleyDetector

SCALAR = {"adwin": AdwinDetector, "page_hinkley": PageHinkleyDetector, "kswin": KswinDetector}


def summary(name: str, configured: float | None, rl: np.ndarray, extra: str = "") -> None:
    mean = rl.mean()
    half = 1.96 * rl.std(ddof=1) / np.sqrt(len(rl))
    if configured:
        ratio = f"ratio {mean / configured:.3f} [{(mean - half) / configured:.3f}, " \
                f"{(mean + half) / configured:.3f}]"
        conf = f"{configured:>8.0f}"
    else:
        ratio, conf = "(no configured ARL0)", "       -"
    print(f"{name:<34} runs {len(rl):>5}  configured {conf}  measured {mean:>9.1f} "
          f"+-{half:>7.1f}  {ratio} {extra}")


def cusum_vectorised(det: BernoulliCusum, p: float, runs: int, seed: int) -> np.ndarray:
    return simulate_integer_cusum(step_true=det.w_refused, step_false=det.w_complied,
                                  p_true=p, h=det.threshold_int, runs=runs, seed=seed)


def cusum_class(det: BernoulliCusum, p: float, runs: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        det.reset()
        while not det.drift_detected:
            xs = rng.random(256) < p
            for x in xs:
                if det.update(bool(x)).drift:
                    break
        out.append(det.state.n)
    return np.array(out)


def sphere_mixture(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    centres = np.random.default_rng(123).normal(size=(4, d))
    z = centres[rng.integers(0, 4, n)] + 0.8 * rng.normal(size=(n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def mmd_runs(*, d: int, n_ref: int, window: int, ert: int, refs: int, runs: int) -> np.ndarray:
    out = []
    t0 = time.perf_counter()
    calib = []
    for r in range(refs):
        rng = np.random.default_rng(1000 + r)
        c0 = time.perf_counter()
        det = EmbeddingDriftDetector(
            reference=sphere_mixture(rng, n_ref, d), reference_id=f"r{r}", window=window,
            ert=ert, seed=r,
        )
        calib.append(time.perf_counter() - c0)
        for _ in range(runs):
            det.reset()
            while det.alarm_at is None and det.state.n < 30 * ert:
                det.update_many(sphere_mixture(rng, 256, d))
            out.append(det.alarm_at or 30 * ert)
    print(f"  (mmd d={d} n_ref={n_ref} window={window}: calibration {np.mean(calib):.2f} s/ref, "
          f"total {time.perf_counter() - t0:.0f} s)")
    return np.array(out, dtype=float)


def scalar_runs(method: str, runs: int, cap: int, seed: int, **kw: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        det = SCALAR[method](**kw)
        n = 0
        while not det.drift_detected and n < cap:
            for x in rng.normal(0, 1, 500):
                n += 1
                if det.update(x).drift or n >= cap:
                    break
        out.append(n)
    return np.array(out, dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run")
    args = ap.parse_args()
    q = args.quick
    print("== Bernoulli CUSUM (exact Markov-chain ARL0 of the integer CUSUM in brackets)")
    for p0, p1, arl0 in ((0.05, 0.025, 10_000), (0.95, 0.8, 10_000), (0.2, 0.3, 2_000)):
        det = BernoulliCusum(p0=p0, p1=p1, arl0=arl0)
        extra = f"(exact {det.arl0_exact:.1f})"
        rl = cusum_vectorised(det, p0, 500 if q else 4000, seed=1)
        summary(f"cusum {p0}->{p1} vectorised", arl0, rl, extra)
        small = BernoulliCusum(p0=p0, p1=p1, arl0=arl0 // 10)
        rl = cusum_class(small, p0, 40 if q else 300, seed=2)
        summary(f"cusum {p0}->{p1} class", arl0 // 10, rl, f"(exact {small.arl0_exact:.1f})")
    print("== Online MMD (synthetic embeddings on the unit sphere)")
    # window / reference = 0.1 (the daemon's default ratio), 0.2, 0.33 and 0.5 (the config's limit)
    configs = [(16, 500, 50, 1000, 20, 40), (32, 1000, 100, 2000, 12, 30),
               (32, 500, 100, 2000, 20, 30), (32, 300, 100, 2000, 20, 30),
               (32, 200, 100, 2000, 20, 30)]
    if q:
        configs = [(16, 300, 25, 400, 3, 15)]
    for d, n_ref, window, ert, refs, runs in configs:
        rl = mmd_runs(d=d, n_ref=n_ref, window=window, ert=ert, refs=refs, runs=runs)
        summary(f"mmd d={d} window={window}/{n_ref}", ert, rl, f"({refs} refs x {runs} runs)")
    print("== Scalar (river) on N(0,1): measured only, capped at 20 000 samples")
    cap = 5_000 if q else 20_000
    n = 10 if q else 40
    summary("adwin delta=0.002", None, scalar_runs("adwin", n, cap, 3, delta=0.002))
    summary("page_hinkley threshold=100", None,
            scalar_runs("page_hinkley", n, cap, 4, threshold=100.0))
    summary("kswin alpha=0.0001", None,
            scalar_runs("kswin", max(5, n // 4), cap, 5, alpha=0.0001))


if __name__ == "__main__":
    main()
