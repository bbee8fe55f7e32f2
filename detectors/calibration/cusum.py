"""Run-length calibration of the integer-weight Bernoulli CUSUM (:mod:`detectors.cusum`).

* :func:`integer_cusum_arl` — exact average run length (ARL) of a CUSUM whose increments are two
  integers (a Bernoulli CUSUM with integer-scaled log-likelihood-ratio weights), by solving the
  Markov chain ``(I - Q) L = 1`` on the states ``0..h-1`` (Brook & Evans, 1972). Because the
  detector itself uses the same integer weights, the number is the detector's ARL, not an
  approximation of it.
* :func:`integer_cusum_threshold` — the smallest integer threshold whose ARL reaches a target ARL0.
* :func:`integer_cusum_alarm_within` — the exact probability of an alarm within ``n``
  observations (the false-alarm risk of one epoch of ``n`` distinct units, in control).
* :func:`simulate_integer_cusum` — run lengths by simulation, to check the Markov chain against.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

__all__ = [
    "integer_cusum_alarm_within",
    "integer_cusum_arl",
    "integer_cusum_threshold",
    "simulate_integer_cusum",
]


def _arl_vector(up: int, down: int, p_up: float, h: int) -> np.ndarray:
    """ARL from every start state 0..h-1; ``up`` w.p. ``p_up``, else ``down``; alarm at S >= h."""
    if h <= 0:
        return np.zeros(0)
    idx = np.arange(h)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for step, prob in ((up, p_up), (down, 1.0 - p_up)):
        nxt = np.maximum(idx + step, 0)
        keep = nxt < h
        rows.append(idx[keep])
        cols.append(nxt[keep])
        vals.append(np.full(int(keep.sum()), prob))
    q = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(h, h)
    )
    system = sparse.identity(h, format="csc") - q
    return np.atleast_1d(spsolve(system, np.ones(h)))


def integer_cusum_arl(*, up: int, down: int, p_up: float, h: int, start: int = 0) -> float:
    """Exact ARL of ``S_n = max(0, S_{n-1} + w_n)`` with ``w_n = up`` w.p. ``p_up`` else ``down``.

    The alarm is raised at the first ``n`` with ``S_n >= h``; ``start`` is ``S_0``.

    >>> round(integer_cusum_arl(up=1, down=-1, p_up=0.5, h=3), 6)
    12.0
    """
    if not 0.0 <= p_up <= 1.0:
        raise ValueError(f"p_up must be in [0, 1], got {p_up}")
    if start >= h:
        return 0.0
    return float(_arl_vector(int(up), int(down), float(p_up), int(h))[start])


@lru_cache(maxsize=256)
def integer_cusum_threshold(*, up: int, down: int, p_up: float, arl0: float) -> tuple[int, float]:
    """Smallest integer ``h`` with ``ARL(h) >= arl0``; returns ``(h, ARL(h))``.

    ARL is non-decreasing in ``h``; the search doubles ``h`` then bisects. The drift of the chain
    under ``p_up`` must be negative (the in-control situation), otherwise no finite ``h`` exists.

    >>> h, arl = integer_cusum_threshold(up=1, down=-1, p_up=0.25, arl0=100.0)
    >>> h, round(arl, 6)
    (4, 232.0)
    """
    if arl0 < 1:
        raise ValueError(f"arl0 must be >= 1, got {arl0}")
    if p_up * up + (1.0 - p_up) * down >= 0:
        raise ValueError("the CUSUM drifts upward in control; no threshold reaches the target ARL0")
    lo, hi = 0, max(1, abs(up), abs(down))
    while integer_cusum_arl(up=up, down=down, p_up=p_up, h=hi) < arl0:
        lo, hi = hi, hi * 2
        if hi > 50_000_000:
            raise ValueError("threshold search diverged; use a lower resolution or arl0")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if integer_cusum_arl(up=up, down=down, p_up=p_up, h=mid) >= arl0:
            hi = mid
        else:
            lo = mid
    return hi, integer_cusum_arl(up=up, down=down, p_up=p_up, h=hi)


def integer_cusum_alarm_within(*, up: int, down: int, p_up: float, h: int, n: int) -> float:
    """Exact ``P(first alarm at or before observation n)`` of the chain of
    :func:`integer_cusum_arl`, started at 0 (forward recursion over the states ``0..h-1``).

    Two steps up are the only way to reach 2 from 0 in two observations:

    >>> round(integer_cusum_alarm_within(up=1, down=-1, p_up=0.5, h=2, n=2), 6)
    0.25
    >>> round(integer_cusum_alarm_within(up=1, down=-1, p_up=0.5, h=3, n=100000), 6)
    1.0
    """
    if not 0.0 <= p_up <= 1.0:
        raise ValueError(f"p_up must be in [0, 1], got {p_up}")
    if h <= 0:
        return 1.0 if n >= 0 else 0.0
    idx = np.arange(h)
    moves = []
    for step, prob in ((int(up), p_up), (int(down), 1.0 - p_up)):
        nxt = np.maximum(idx + step, 0)
        moves.append((nxt, nxt < h, prob))
    v = np.zeros(h)
    v[0] = 1.0
    hit = 0.0
    for _ in range(int(n)):
        new = np.zeros(h)
        for nxt, keep, prob in moves:
            hit += float(v[~keep].sum() * prob)
            np.add.at(new, nxt[keep], v[keep] * prob)
        v = new
        if hit >= 1.0 - 1e-15:
            return 1.0
    return min(1.0, hit)


def simulate_integer_cusum(
    *, step_true: int, step_false: int, p_true: float, h: int, runs: int, seed: int
) -> np.ndarray:
    """Run lengths of ``runs`` independent integer CUSUMs ``S = max(0, S + step)`` on Bernoulli
    observations (``step_true`` with probability ``p_true``): the first ``n`` with ``S_n >= h``.

    A vectorised simulation, independent of the Markov-chain ARL above (tests and benchmarks
    check one against the other).

    >>> simulate_integer_cusum(step_true=3, step_false=-1, p_true=0.2, h=6, runs=5, seed=0)
    array([ 5, 14, 32, 11, 74])
    """
    rng = np.random.default_rng(seed)
    s = np.zeros(runs, dtype=np.int64)
    rl = np.zeros(runs, dtype=np.int64)
    alive = np.ones(runs, dtype=bool)
    n = 0
    while alive.any():
        n += 1
        x = rng.random(runs) < p_true
        s = np.maximum(0, s + np.where(x, step_true, step_false))
        hit = alive & (s >= h)
        rl[hit] = n
        alive &= ~hit
    return rl
