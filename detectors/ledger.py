"""Count each observation once: an evidence ledger in front of a sequential detector.

Probe runs are deterministic (temperature 0, fixed seeds): re-sending a unit to an unchanged
deployment returns the same answer, which is not new evidence. Fed run after run into a CUSUM, the
same answers accumulate: a deployment whose refusal rate on a fixed set of units sits just below
the CUSUM's break-even point is certain to alarm eventually, and the configured ARL0 means
nothing. The ledger admits an outcome into its detector **once per (unit, epoch)**:

* an **epoch** is a deployment fingerprint (model revision, system prompt, filter ...): a new
  fingerprint starts a new epoch whose statistic starts fresh; every epoch keeps its own
  detector, counts and set of counted units, so a fingerprint that comes back (a rollback, or two
  fingerprints interleaved during a rollout) resumes its own evidence and still counts no unit
  twice;
* an observation of a unit already counted in its epoch is a **duplicate**: counted, not admitted;
* the wrapped detector therefore sees a stream of distinct units, for which its calibration holds:
  the ledger's ARL0, in admitted observations, is the inner detector's.

Contract (:mod:`detectors.base`): ``update(x)`` takes an :class:`Evidence` (or a ``(unit, epoch,
value)`` tuple) and returns the state of ``x``'s epoch (``n`` = observations admitted in it,
``drift`` latched within it); ``drift_detected`` / ``state`` are those of the current epoch (the
last one updated). ``merge`` is exact: the per-epoch admission logs of ``other`` are replayed after
ours, skipping units we already counted. ``state_dict`` stores the logs (bounded by the number of
distinct units per epoch); ``load_state`` replays them. ``reset()`` forgets every epoch;
:meth:`EvidenceLedger.acknowledge` clears the current epoch's alarm and statistic but keeps its
counted units, so an acknowledged alarm is not re-raised from the same evidence.
At most ``max_epochs`` epochs are kept; the least recently updated one is dropped beyond that
(its units would then count again if its fingerprint came back; :attr:`evicted` counts drops).

**Bounded mode** (``max_units=N``, for production traffic, whose distinct units never run out):
each epoch remembers only its ``N`` most recently admitted units (an older unit may count again),
and ``state_dict`` stores the inner detector's state and those unit ids instead of the admission
log, so the state stays bounded. ``merge`` then appends the other ledger's inner stream
(``inner.merge``: exact for the statistic) and unites the remembered units, without removing
units both ledgers counted (the log that would need is not kept).

>>> from detectors.cusum import BernoulliCusum
>>> ledger = EvidenceLedger(make_detector=lambda: BernoulliCusum(p0=0.9, p1=0.8, arl0=500))
>>> for _ in range(3):                         # the same 4 units, run after run
...     for unit, refused in (("u1", True), ("u2", False), ("u3", True), ("u4", True)):
...         state = ledger.update(Evidence(unit=unit, epoch="fp-1", value=refused))
>>> r = ledger.report()
>>> r.epoch, r.admitted, r.duplicates, state.n
('fp-1', 4, 8, 4)
>>> ledger.update(("u1", "fp-2", False)).n     # a new fingerprint: a fresh epoch
1
>>> [(e.epoch, e.admitted, e.current) for e in ledger.epochs()]
[('fp-1', 4, False), ('fp-2', 1, True)]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

from detectors.base import (
    Detector,
    DetectorState,
    IncompatibleStateError,
    check_same_config,
    check_state_header,
    update_each,
)

__all__ = ["EpochReport", "Evidence", "EvidenceLedger"]


@dataclass(frozen=True)
class Evidence:
    """One outcome: ``value`` (what the inner detector takes) of ``unit`` under ``epoch``."""

    unit: str
    epoch: str
    value: Any


@dataclass(frozen=True)
class EpochReport:
    """What one epoch's evidence says: ``admitted`` distinct units, ``duplicates`` refused,
    the epoch's detector ``state`` and ``first_alarm`` (admitted count at the first alarm since
    the last acknowledge, ``None`` without one)."""

    epoch: str
    admitted: int
    duplicates: int
    state: DetectorState
    first_alarm: int | None
    current: bool


@dataclass
class _Epoch:
    detector: Any
    seen: set[str] = field(default_factory=set)
    log: list[tuple[str, Any]] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    duplicates: int = 0
    first_alarm: int | None = None
    last_used: int = 0
    admitted: int = 0
    recent: deque[str] = field(default_factory=deque)  # bounded mode: admission order


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a verdict-like value (bools, 0/1 ints, tuples of them)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    raise ValueError(f"evidence values must be bools, ints or tuples of them, got {value!r}")


class EvidenceLedger:
    """Admit each (unit, epoch) once into a per-epoch detector (see the module docstring)."""

    KIND = "evidence_ledger"
    VERSION = 1

    def __init__(self, *, make_detector: Callable[[], Detector], max_epochs: int = 16,
                 max_units: int | None = None) -> None:
        if int(max_epochs) != max_epochs or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, got {max_epochs}")
        if max_units is not None and (int(max_units) != max_units or max_units < 1):
            raise ValueError(f"max_units must be a positive integer or None, got {max_units}")
        self._make = make_detector
        self.max_epochs = int(max_epochs)
        self.max_units = None if max_units is None else int(max_units)
        self._proto = make_detector()
        proto_state = self._proto.state_dict()
        self._inner_kind = proto_state.get("kind")
        self._inner_config = proto_state.get("config", {})
        self.reset()

    # -- contract ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every epoch (counts, counted units, statistics, alarms)."""
        self._epochs: dict[str, _Epoch] = {}
        self._current: str | None = None
        self._clock = 0
        self.evicted = 0

    def update(self, x: Any) -> DetectorState:
        unit, epoch, value = self._parse(x)
        value = _plain(value)
        ep = self._epochs.get(epoch)
        if ep is not None and unit in ep.seen:
            ep.duplicates += 1
            self._touch(epoch, ep)
            return ep.detector.state  # type: ignore[no-any-return]
        fresh = ep is None
        if fresh:
            ep = _Epoch(detector=self._make())
        assert ep is not None
        state: DetectorState = ep.detector.update(value)  # validates value before changing
        if fresh:
            self._epochs[epoch] = ep
            self._touch(epoch, ep)
            self._evict()
        ep.seen.add(unit)
        ep.admitted += 1
        if self.max_units is None:
            ep.log.append((unit, value))
        else:
            ep.recent.append(unit)
            while len(ep.recent) > self.max_units:
                ep.seen.discard(ep.recent.popleft())
        if state.drift and ep.first_alarm is None:
            ep.first_alarm = state.n
        self._touch(epoch, ep)
        return state

    def update_many(self, xs: Iterable[Any]) -> DetectorState:
        return update_each(self, xs)

    @property
    def state(self) -> DetectorState:
        ep = self._epochs.get(self._current) if self._current is not None else None
        return ep.detector.state if ep is not None else self._proto.state  # type: ignore[no-any-return]

    @property
    def drift_detected(self) -> bool:
        return self.state.drift

    @property
    def epoch(self) -> str | None:
        """The current epoch (the last one updated), ``None`` before any evidence."""
        return self._current

    def acknowledge(self) -> None:
        """Clear the current epoch's alarm and statistic; its counted units stay counted."""
        if self._current is None or self._current not in self._epochs:
            return
        ep = self._epochs[self._current]
        ep.detector.reset()
        ep.acks.append(ep.admitted)
        ep.first_alarm = None

    def seen(self, unit: str, epoch: str) -> bool:
        """Whether ``unit`` has been counted in ``epoch``."""
        ep = self._epochs.get(epoch)
        return ep is not None and unit in ep.seen

    @property
    def prototype(self) -> Any:
        """A detector as ``make_detector`` builds it (never fed: its type and configuration)."""
        return self._proto

    def detector(self, epoch: str | None = None) -> Any:
        """The (read-only) detector of ``epoch`` (default: the current one), e.g. for ``rate()``."""
        key = self._current if epoch is None else epoch
        if key is None or key not in self._epochs:
            raise KeyError(f"no evidence for epoch {key!r}")
        return self._epochs[key].detector

    def report(self, epoch: str | None = None) -> EpochReport:
        key = self._current if epoch is None else epoch
        if key is None or key not in self._epochs:
            raise KeyError(f"no evidence for epoch {key!r}")
        ep = self._epochs[key]
        return EpochReport(epoch=key, admitted=ep.admitted, duplicates=ep.duplicates,
                           state=ep.detector.state, first_alarm=ep.first_alarm,
                           current=key == self._current)

    def epochs(self) -> tuple[EpochReport, ...]:
        """Every kept epoch, in the order it was first seen."""
        return tuple(self.report(k) for k in self._epochs)

    # -- merge and persistence -----------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"detector": {"kind": self._inner_kind, "config": self._inner_config},
                               "max_epochs": self.max_epochs}
        if self.max_units is not None:
            out["max_units"] = self.max_units
        return out

    def merge(self, other: Self) -> Self:
        """Append ``other``'s stream after ours (exact; units we counted stay counted once)."""
        if not isinstance(other, EvidenceLedger):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into "
                                         "EvidenceLedger")
        check_same_config(self._config(), other._config(), what="merge")
        for key, ep in sorted(other._epochs.items(), key=lambda kv: kv[1].last_used):
            if self.max_units is None:
                self._replay(key, ep.log, ep.acks)
            else:
                self._merge_bounded(key, ep)
            self._epochs[key].duplicates += ep.duplicates
        if other._current is not None:
            self._current = other._current
            self._touch(other._current, self._epochs[other._current])
        return self

    def _replay(self, key: str, log: list[tuple[str, Any]], acks: list[int]) -> None:
        pending = sorted(acks)
        for i, (unit, value) in enumerate(log):
            while pending and pending[0] == i:
                pending.pop(0)
                self._current = key
                self.acknowledge()
            self.update(Evidence(unit=unit, epoch=key, value=value))
        for _ in pending:
            if key in self._epochs:
                self._current = key
                self.acknowledge()

    def _merge_bounded(self, key: str, theirs: _Epoch) -> None:
        mine = self._epochs.get(key)
        if mine is None:
            mine = self._epochs[key] = _Epoch(detector=self._make())
            self._touch(key, mine)
            self._evict()
        before = mine.admitted
        mine.detector.merge(theirs.detector)
        mine.admitted += theirs.admitted
        if mine.first_alarm is None and theirs.first_alarm is not None:
            mine.first_alarm = before + theirs.first_alarm
        elif mine.first_alarm is None and mine.detector.drift_detected:
            mine.first_alarm = mine.detector.state.n
        for unit in theirs.recent:
            if unit not in mine.seen:
                mine.seen.add(unit)
                mine.recent.append(unit)
        assert self.max_units is not None
        while len(mine.recent) > self.max_units:
            mine.seen.discard(mine.recent.popleft())
        self._touch(key, mine)

    def state_dict(self) -> dict[str, Any]:
        if self.max_units is not None:
            return self._bounded_state_dict()
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "config": self._config(),
            "n": self.state.n,
            "current": self._current,
            "evicted": self.evicted,
            "epochs": [{"epoch": k, "log": [[u, v] for u, v in ep.log], "acks": list(ep.acks),
                        "duplicates": ep.duplicates}
                       for k, ep in sorted(self._epochs.items(), key=lambda kv: kv[1].last_used)],
        }

    def _bounded_state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "config": self._config(),
            "n": self.state.n,
            "current": self._current,
            "evicted": self.evicted,
            "epochs": [{"epoch": k, "detector": ep.detector.state_dict(),
                        "units": list(ep.recent), "admitted": ep.admitted,
                        "duplicates": ep.duplicates, "first_alarm": ep.first_alarm}
                       for k, ep in sorted(self._epochs.items(), key=lambda kv: kv[1].last_used)],
        }

    def _load_bounded(self, d: Mapping[str, Any], fresh: EvidenceLedger) -> None:
        for e in d["epochs"]:
            det = self._make()
            det.load_state(e["detector"])
            units = [str(u) for u in e["units"]]
            first = e["first_alarm"]
            ep = _Epoch(detector=det, seen=set(units), recent=deque(units),
                        admitted=int(e["admitted"]), duplicates=int(e["duplicates"]),
                        first_alarm=None if first is None else int(first))
            if len(ep.seen) != len(units) or len(units) > (self.max_units or 0) \
                    or ep.admitted < det.state.n:
                raise IncompatibleStateError("inconsistent bounded evidence_ledger epoch")
            fresh._epochs[str(e["epoch"])] = ep
            fresh._touch(str(e["epoch"]), ep)

    def load_state(self, d: Mapping[str, Any]) -> None:
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        check_same_config(self._config(), d.get("config", {}), what="load_state")
        fresh = EvidenceLedger(make_detector=self._make, max_epochs=self.max_epochs,
                               max_units=self.max_units)
        if self.max_units is not None:
            try:
                n, current, evicted = int(d["n"]), d["current"], int(d["evicted"])
                self._load_bounded(d, fresh)
            except (KeyError, TypeError, ValueError) as exc:
                if isinstance(exc, IncompatibleStateError):
                    raise
                raise IncompatibleStateError(f"malformed evidence_ledger state: {exc!r}") from exc
            self._finish_load(fresh, n=n, current=current, evicted=evicted)
            return
        try:
            n, current, evicted = int(d["n"]), d["current"], int(d["evicted"])
            for e in d["epochs"]:
                log = [(str(u), v) for u, v in e["log"]]
                fresh._replay(str(e["epoch"]), log, [int(a) for a in e["acks"]])
                fresh._epochs[str(e["epoch"])].duplicates = int(e["duplicates"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed evidence_ledger state: {exc!r}") from exc
        self._finish_load(fresh, n=n, current=current, evicted=evicted)

    def _finish_load(self, fresh: EvidenceLedger, *, n: int, current: Any, evicted: int) -> None:
        if current is not None and current not in fresh._epochs:
            raise IncompatibleStateError(f"current epoch {current!r} has no evidence in the state")
        fresh._current = current
        if current is not None:
            fresh._touch(current, fresh._epochs[current])
        if fresh.state.n != n:
            raise IncompatibleStateError(f"inconsistent evidence_ledger state: n is {n} but the "
                                         f"log of the current epoch holds {fresh.state.n}")
        self._epochs, self._current, self._clock = fresh._epochs, fresh._current, fresh._clock
        self.evicted = evicted

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _parse(x: Any) -> tuple[str, str, Any]:
        if isinstance(x, Evidence):
            unit, epoch, value = x.unit, x.epoch, x.value
        elif isinstance(x, (tuple, list)) and len(x) == 3:
            unit, epoch, value = x
        else:
            raise ValueError(f"expected Evidence(unit, epoch, value) or a 3-tuple, got {x!r}")
        if not isinstance(unit, str) or not unit or not isinstance(epoch, str) or not epoch:
            raise ValueError("evidence needs a non-empty unit id and epoch key")
        return unit, epoch, value

    def _touch(self, key: str, ep: _Epoch) -> None:
        self._clock += 1
        ep.last_used = self._clock
        self._current = key

    def _evict(self) -> None:
        while len(self._epochs) > self.max_epochs:
            oldest = min(self._epochs, key=lambda k: self._epochs[k].last_used)
            del self._epochs[oldest]
            self.evicted += 1
