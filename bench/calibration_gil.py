"""What an embedding-drift calibration does to the event loop that relays traffic.

    .venv/bin/python bench/calibration_gil.py [--reference 1000] [--dim 256] [--repeats 3]

The daemon's analysis thread installs a drift detector when its reference is complete (after the
first ``analysis.drift_reference_size`` samples, and on a new reference). The threshold is
calibrated by simulation (:mod:`detectors.calibration.mmd`). This measures, in one process, how
late an asyncio loop's 1 ms timers fire (loop lag: what every proxied request waits on top of its
own work) while a thread calibrates, side by side in interleaved rounds:

* ``idle``: no calibration (the floor);
* ``inline``: the thread runs the simulation itself (``analysis.drift_calibration: inline``);
* ``subprocess``: the thread waits for a spawned child that runs it (the default).

The reference is random unit vectors of the daemon's default shape (1000 x 256: static
embeddings; window 100, expected run time 10 000). Prints loop-lag p50 / p99 / max and the
calibration's wall time per mode. Both calibrated modes give the same threshold (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.analysis.calibration import Calibrator, Job, calibrate


async def lags_while(work: threading.Thread | None, *, min_s: float) -> list[float]:
    """Lateness (ms) of 1 ms sleeps while ``work`` runs (at least ``min_s`` seconds)."""
    out: list[float] = []
    start = time.perf_counter()
    if work is not None:
        work.start()
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(0.001)
        out.append((time.perf_counter() - t0 - 0.001) * 1000)
        busy = work is not None and work.is_alive()
        if not busy and time.perf_counter() - start >= min_s:
            break
    return out


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


async def main_async(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(args.reference, args.dim))
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    job = Job(reference=ref, window=args.window, ert=args.ert)
    results: dict[str, dict[str, list[float]]] = {m: {"lag": [], "wall": []}
                                                  for m in ("idle", "inline", "subprocess")}
    thresholds: dict[str, float] = {}
    for _ in range(args.repeats):
        for mode in ("idle", "inline", "subprocess"):
            got: dict[str, float] = {}

            def run(mode: str = mode, got: dict[str, float] = got) -> None:
                t0 = time.perf_counter()
                if mode == "inline":
                    got["t"] = calibrate(job)
                else:
                    t = Calibrator("subprocess", timeout_s=600).thresholds([job], [None])[0]
                    assert t is not None, "the child failed"
                    got["t"] = t
                got["wall"] = time.perf_counter() - t0

            work = None if mode == "idle" else threading.Thread(target=run, daemon=True)
            lags = await lags_while(work, min_s=2.0)
            results[mode]["lag"] += lags
            if mode != "idle":
                results[mode]["wall"].append(got["wall"])
                thresholds[mode] = got["t"]
    print(f"# loop lag while calibrating one drift threshold (reference {args.reference} x "
          f"{args.dim}, window {args.window}, ERT {args.ert}; {args.repeats} interleaved rounds)")
    print("\n| mode | loop lag p50 / p99 / max (ms) | calibration wall time (s) |")
    print("|---|---|---|")
    for mode, r in results.items():
        lag = r["lag"]
        wall = (f"{statistics.mean(r['wall']):.2f} (± {statistics.pstdev(r['wall']):.2f})"
                if r["wall"] else "–")
        print(f"| {mode} | {pct(lag, .5):.2f} / {pct(lag, .99):.2f} / {max(lag):.2f} | {wall} |")
    print(f"\nthresholds: inline {thresholds['inline']!r}, subprocess {thresholds['subprocess']!r}"
          f" ({'equal' if thresholds['inline'] == thresholds['subprocess'] else 'DIFFERENT'})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--ert", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
