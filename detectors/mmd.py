"""Multivariate embedding drift: an online MMD test (RBF kernel) of a sliding window vs a reference.

Statistic. After each sample the detector computes the squared maximum mean discrepancy between the
last ``window`` samples ``W`` and the reference ``R`` (``n`` rows)::

    MMD^2 = mean_{i != j in W} k(w_i, w_j) - 2 mean_{i in W, r in R} k(w_i, r)
            + mean_{r != r' in R} k(r, r')

with ``k(x, y) = exp(-|x - y|^2 / (2 sigma^2))`` and ``sigma`` the median pairwise distance of the
reference (or ``bandwidth``). It is ~0 when the window comes from the reference distribution.
Each update costs one kernel row against the reference (``O(n d)``) and against the window.

Threshold = expected run time (ERT). The threshold is not a p-value: it is calibrated so that the
mean number of samples until a false alarm, on a stream drawn from the reference distribution,
is ``ert`` (:func:`detectors.calibration.mmd.mmd_threshold`, which documents the simulation).
Calibration takes about 1.3 s for a 500 x 384 reference and is cached in ``state_dict()``;
:meth:`EmbeddingDriftDetector.from_state` skips it.

Alarm and reset. No alarm is raised before the window is full (``n < window``). ``drift`` is latched
at the first full window with ``MMD^2 > threshold`` (``alarm_at`` records that ``n``) until
``reset()``, which empties the window and the counts but keeps the reference, bandwidth and
threshold.

Merge (exact up to float rounding of the statistic). The state keeps the first ``window - 1``
samples after a reset (the head) and the last ``window`` samples. ``a.merge(b)`` replays ``b``'s
head into ``a`` (these windows straddle both streams), then takes ``b``'s window and ORs ``b``'s
alarm, which covers every window lying inside ``b``'s stream: the result equals one detector that
saw ``a``'s stream followed by ``b``'s. Samples are stored as float32 (the embedders' dtype).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(300, 8))
>>> det = EmbeddingDriftDetector(reference=ref, reference_id="ref-1", window=50, ert=2_000)
>>> det.update_many(rng.normal(size=(300, 8))).drift
False
>>> state = det.update_many(rng.normal(loc=0.5, size=(100, 8)))
>>> state.drift, state.n, state.statistic > state.threshold
(True, 400, True)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Self

import numpy as np

from detectors.base import (
    DetectorState,
    IncompatibleStateError,
    array_sha256,
    check_same_config,
    check_state_header,
)
from detectors.calibration.mmd import mmd_threshold

__all__ = ["EmbeddingDriftDetector"]


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def _encode(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _decode(s: str, dim: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<f4").reshape(-1, dim).astype(np.float32)


class EmbeddingDriftDetector:
    """Online MMD drift detector (see the module docstring)."""

    KIND = "mmd_rbf"
    VERSION = 1

    def __init__(
        self,
        *,
        reference: np.ndarray,
        reference_id: str,
        window: int = 100,
        ert: int = 10_000,
        bandwidth: float | None = None,
        n_streams: int = 256,
        n_steps: int = 1500,
        seed: int = 0,
        threshold: float | None = None,
    ) -> None:
        ref = np.asarray(reference, dtype=np.float64)
        if ref.ndim != 2 or ref.shape[0] < 2 * window or not np.isfinite(ref).all():
            raise ValueError(
                f"reference must be a finite (n, d) array with n >= 2*window={2 * window}, "
                f"got shape {ref.shape}"
            )
        if window < 2:
            raise ValueError(f"window must be >= 2, got {window}")
        self.reference_id = reference_id
        self.window = int(window)
        self.ert = int(ert)
        self.seed = int(seed)
        self.n_streams = int(n_streams)
        self.n_steps = int(n_steps)
        self.dim = ref.shape[1]
        self.reference_sha256 = array_sha256(ref)
        self._ref = ref
        self._ref_sq = (ref * ref).sum(1)
        d_rr = _sqdist(ref, ref)
        if bandwidth is None:
            iu = np.triu_indices(ref.shape[0], 1)
            bandwidth = float(np.sqrt(np.median(d_rr[iu])))
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
        self.bandwidth = float(bandwidth)
        self._gamma = 1.0 / (2.0 * self.bandwidth**2)
        k_rr = np.exp(-self._gamma * d_rr)
        n = ref.shape[0]
        self._c_rr = float((k_rr.sum() - np.trace(k_rr)) / (n * (n - 1)))
        if threshold is None:
            threshold = mmd_threshold(
                k_rr,
                window=self.window,
                ert=self.ert,
                n_streams=self.n_streams,
                n_steps=self.n_steps,
                seed=self.seed,
            )
        self.threshold = float(threshold)
        self.reset()

    # -- kernels -----------------------------------------------------------------------------
    def _k_ref_mean(self, x: np.ndarray) -> np.ndarray:
        d = (x * x).sum(1)[:, None] + self._ref_sq[None, :] - 2.0 * (x @ self._ref.T)
        return np.exp(-self._gamma * np.maximum(d, 0.0)).mean(1)

    def _k(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-self._gamma * _sqdist(a, b))

    # -- contract ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the window, head and counts; keep reference, bandwidth and threshold."""
        w = self.window
        self._buf = np.zeros((w, self.dim), dtype=np.float32)
        self._kww = np.zeros((w, w))
        self._kr = np.zeros(w)
        self._head: list[np.ndarray] = []
        self._n = 0
        self._drift = False
        self._alarm_at: int | None = None
        self._stat = 0.0

    def _check(self, x: Any, ndim: int) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != ndim or arr.shape[-1] != self.dim or not np.isfinite(arr).all():
            want = "(d,)" if ndim == 1 else "(m, d)"
            raise ValueError(f"expected a finite array of shape {want} with d={self.dim}, "
                             f"got shape {arr.shape}")
        return arr

    def _push(self, x32: np.ndarray, kr: float, kw: np.ndarray) -> None:
        """Insert one sample given its reference kernel mean and kernel row vs the buffer."""
        w = self.window
        pos = self._n % w
        if self._n < w - 1:
            self._head.append(x32.copy())
        self._buf[pos] = x32
        self._kr[pos] = kr
        self._kww[pos, :] = kw
        self._kww[:, pos] = kw
        self._kww[pos, pos] = 0.0
        self._n += 1
        m = min(self._n, w)
        if m >= 2:
            sww = self._kww.sum() if m == w else self._kww[:m, :m].sum()
            self._stat = float(sww / (m * (m - 1)) - 2.0 * self._kr[:m].mean() + self._c_rr)
        if self._n >= w and self._stat > self.threshold and not self._drift:
            self._drift = True
            self._alarm_at = self._n

    def update(self, x: Any) -> DetectorState:
        """Add one embedding of shape ``(d,)``."""
        x32 = self._check(x, 1)
        x64 = x32.astype(np.float64)[None, :]
        kr = float(self._k_ref_mean(x64)[0])
        kw = self._k(x64, self._buf.astype(np.float64))[0]
        self._push(x32, kr, kw)
        return self.state

    def update_many(self, xs: Any) -> DetectorState:
        """Add embeddings of shape ``(m, d)`` in order (batched kernel computation)."""
        x32 = self._check(xs, 2)
        for lo in range(0, len(x32), 512):
            self._update_chunk(x32[lo : lo + 512])
        return self.state

    def _update_chunk(self, x32: np.ndarray) -> None:
        x64 = x32.astype(np.float64)
        krs = self._k_ref_mean(x64)
        k_buf = self._k(x64, self._buf.astype(np.float64))
        k_xx = self._k(x64, x64)
        w = self.window
        start = self._n
        for i in range(len(x32)):
            kw = k_buf[i].copy()
            # slots overwritten by the previous w-1 rows of this chunk now hold those rows
            js = np.arange(max(0, i - w + 1), i)
            kw[(start + js) % w] = k_xx[i, js]
            self._push(x32[i], float(krs[i]), kw)

    @property
    def drift_detected(self) -> bool:
        return self._drift

    @property
    def alarm_at(self) -> int | None:
        """Sample count ``n`` at the first alarm since the last reset (``None`` if none)."""
        return self._alarm_at

    @property
    def state(self) -> DetectorState:
        return DetectorState(
            drift=self._drift,
            statistic=self._stat,
            threshold=self.threshold,
            n=self._n,
            reference_id=self.reference_id,
        )

    def _ordered_window(self) -> np.ndarray:
        m = min(self._n, self.window)
        if self._n <= self.window:
            return self._buf[:m].copy()
        pos = self._n % self.window
        return np.concatenate([self._buf[pos:], self._buf[:pos]])

    def _config(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "reference_sha256": self.reference_sha256,
            "window": self.window,
            "ert": self.ert,
            "bandwidth": self.bandwidth,
            "dim": self.dim,
            "threshold": self.threshold,
        }

    def _load_window(
        self, n: int, window: np.ndarray, head: list[np.ndarray], alarm_at: int | None
    ) -> None:
        self.reset()
        for x in window:  # rebuild kernel sums; n is fixed below
            x64 = x.astype(np.float64)[None, :]
            kw = self._k(x64, self._buf.astype(np.float64))[0]
            self._push(x, float(self._k_ref_mean(x64)[0]), kw)
        # slots must line up with n so later updates evict the oldest sample
        m = len(window)
        shift = (n - m) % self.window if m == self.window else 0
        if shift:
            order = (np.arange(self.window) - shift) % self.window
            self._buf = self._buf[order]
            self._kr = self._kr[order]
            self._kww = self._kww[np.ix_(order, order)]
        self._n = n
        self._head = [h.copy() for h in head]
        self._alarm_at = alarm_at
        self._drift = alarm_at is not None

    def merge(self, other: Self) -> Self:
        """Append ``other``'s stream after ours (see the module docstring)."""
        if not isinstance(other, EmbeddingDriftDetector):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into {self.KIND}")
        check_same_config(self._config(), other._config(), what="merge")
        if other._n == 0:
            return self
        offset = self._n
        for x in other._head:
            self.update(x)
        if other._n > len(other._head):
            n = offset + other._n
            alarm_at = self._alarm_at
            if alarm_at is None and other._alarm_at is not None:
                alarm_at = offset + other._alarm_at
            self._load_window(n, other._ordered_window(), self._head, alarm_at)
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "config": self._config(),
            "n": self._n,
            "alarm_at": self._alarm_at,
            "statistic": self._stat,
            "window_data": _encode(self._ordered_window()),
            "head_data": _encode(np.asarray(self._head, dtype=np.float32).reshape(-1, self.dim)),
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        cfg = d.get("config", {})
        if cfg.get("reference_sha256") != self.reference_sha256:
            raise IncompatibleStateError(
                f"state was built on reference {cfg.get('reference_id')!r} "
                f"(sha256 {str(cfg.get('reference_sha256'))[:12]}...), this detector holds "
                f"{self.reference_id!r} (sha256 {self.reference_sha256[:12]}...)"
            )
        check_same_config(self._config(), cfg, what="load_state")
        try:
            n = int(d["n"])
            window = _decode(d["window_data"], self.dim)
            head = list(_decode(d["head_data"], self.dim))
            alarm_at = None if d["alarm_at"] is None else int(d["alarm_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed {self.KIND} state: {exc!r}") from exc
        if len(window) != min(n, self.window) or len(head) != min(n, self.window - 1):
            raise IncompatibleStateError("inconsistent mmd state: window/head sizes vs n")
        if alarm_at is not None and not self.window <= alarm_at <= n:
            raise IncompatibleStateError(f"alarm_at={alarm_at} outside [window, n={n}]")
        self._load_window(n, window, head, alarm_at)
        self._stat = float(d.get("statistic", self._stat))

    @classmethod
    def from_state(cls, d: Mapping[str, Any], *, reference: np.ndarray) -> EmbeddingDriftDetector:
        """Rebuild from ``state_dict()`` and the reference, reusing the cached threshold."""
        check_state_header(d, kind=cls.KIND, version=cls.VERSION)
        cfg = d["config"]
        det = cls(
            reference=reference,
            reference_id=cfg["reference_id"],
            window=cfg["window"],
            ert=cfg["ert"],
            bandwidth=cfg["bandwidth"],
            threshold=cfg["threshold"],
        )
        det.load_state(d)
        return det
