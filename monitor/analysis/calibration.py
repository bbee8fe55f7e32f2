"""MMD drift thresholds, calibrated off the proxy's interpreter.

Installing an embedding-drift detector calibrates its threshold by simulation
(:mod:`detectors.calibration.mmd`): seconds of small numpy steps that hold the GIL, so on the
analysis thread they stall the event loop that relays production traffic (the proxy's p99 and
time to first chunk grow while it runs; docs/benchmarks.md). Two ways round it, in order:

1. **reuse** — a saved detector state built on the same reference (content hash), window and
   expected run time already holds the threshold (a restart, a restored bootstrap reference):
   no simulation at all;
2. **subprocess** (``analysis.drift_calibration: subprocess``, the default) — the simulation runs
   in a child interpreter (``spawn``), the analysis thread waits for it without holding the GIL.
   A child that cannot start, fails or takes longer than ``timeout_s`` is logged and the detector
   calibrates itself inline, as with ``drift_calibration: inline``: monitoring never stops for it.

The thresholds are the same either way (the simulation is seeded; a test compares them).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from detectors.base import array_sha256

log = logging.getLogger("tunewatch.calibration")

Mode = Literal["subprocess", "inline"]


@dataclass(frozen=True)
class Job:
    """One detector to calibrate: its reference embeddings and the settings that fix the
    threshold."""

    reference: np.ndarray
    window: int
    ert: int
    seed: int = 0


def calibrate(job: Job) -> float:
    """The threshold the detector would compute for itself (runs in the child)."""
    from detectors.mmd import EmbeddingDriftDetector

    return EmbeddingDriftDetector(reference=job.reference, reference_id="calibration",
                                  window=job.window, ert=job.ert, seed=job.seed).threshold


def saved_threshold(state: Mapping[str, Any] | None, job: Job) -> float | None:
    """The threshold kept in a saved state built on the same reference, window and expected run
    time (``None`` when there is none or it was built on something else)."""
    if not isinstance(state, Mapping):
        return None
    cfg = state.get("config")
    if not isinstance(cfg, Mapping):
        return None
    try:
        same = (cfg.get("reference_sha256") == array_sha256(job.reference)
                and int(cfg.get("window", -1)) == job.window
                and int(cfg.get("ert", -1)) == job.ert)
        return float(cfg["threshold"]) if same else None
    except (KeyError, TypeError, ValueError):
        return None


class Calibrator:
    """Thresholds for a set of jobs, each ``None`` where the detector must calibrate inline."""

    def __init__(self, mode: Mode = "subprocess", *, timeout_s: float = 300.0) -> None:
        if mode not in ("subprocess", "inline"):
            raise ValueError(f"drift calibration must be subprocess or inline, not {mode!r}")
        self.mode = mode
        self.timeout_s = timeout_s
        self.subprocess_runs = 0
        self.fallbacks = 0

    def thresholds(self, jobs: Sequence[Job],
                   saved: Sequence[Mapping[str, Any] | None]) -> list[float | None]:
        out = [saved_threshold(s, j) for j, s in zip(jobs, saved, strict=True)]
        todo = [i for i, t in enumerate(out) if t is None]
        if not todo or self.mode == "inline":
            return out
        pool: ProcessPoolExecutor | None = None
        try:
            pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(
                "spawn"))
            futures = {i: pool.submit(calibrate, jobs[i]) for i in todo}
            for i, fut in futures.items():
                out[i] = float(fut.result(timeout=self.timeout_s))
            self.subprocess_runs += 1
        except Exception as exc:  # any failure: the detector calibrates itself inline
            self.fallbacks += 1
            log.warning("drift calibration in a subprocess failed (%s); calibrating inline",
                        type(exc).__name__)
            for i in todo:
                out[i] = None
        finally:
            if pool is not None:
                # never wait on a child that timed out: it ends when its (bounded) work does
                pool.shutdown(wait=False, cancel_futures=True)
        return out
