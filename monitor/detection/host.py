"""One host for every stateful detector of the daemon, whoever feeds it.

The traffic analyzers (embedding drift, scalar drift, the traffic refusal-rate watch, the paired
traffic replay) and the probe scheduler (per category: the refusal-rate CUSUM against the baseline
and the paired test against the base model, each inside an evidence ledger) register their
detectors here and feed them through the host; everything else reads the host:

* **lock** — each detector has its own lock; updates, reads, resets and saves take it, so the
  admin API, the scrape and the analysis thread never see a half-updated detector.
* **persistence** — a detector registered with a :class:`StateSlot` is restored from it at
  registration (an incompatible state is logged and ignored: the detector starts fresh) and
  saved to it by :meth:`DetectorHost.checkpoint` and after a reset. Each slot belongs to the
  component that owns the table it writes.
* **reset** — :meth:`DetectorHost.reset` (``POST /v1/detectors/reset``) forgets observations of
  one or all detectors, probe CUSUMs included. A detector inside an evidence ledger
  (:class:`detectors.ledger.EvidenceLedger`) is *acknowledged*: its current epoch's alarm and
  statistic are cleared but its counted units stay counted, so the same evidence does not raise
  the alarm again; ``forget=True`` forgets every epoch's evidence too.
* **export** — :meth:`DetectorHost.snapshot` is what the Prometheus collector
  (:mod:`monitor.metrics.detectors`) reads at scrape time, and what evidence packs carry.
* **alarm events** — an :class:`AlarmEvent` when a detector's latched ``drift`` turns on (an
  update, or a restored state already in alarm) or off (a reset, or a ledger whose evidence moved
  to a new epoch, i.e. a new deployment fingerprint). Listeners are called on the thread that
  caused the change and must return quickly; the trigger service only enqueues. A new listener
  first receives the alarms already raised.
* **evidence** — for a ledger, the snapshot says which epoch the state covers, how many distinct
  units it admitted, how many repeats it refused, and (with ``units`` given at registration) the
  coverage of the category; a paired test adds its pair counts.
* **judge error** — with the held-out error counts of the judge that scores a source (traffic or
  probes, :meth:`DetectorHost.set_judge_error`) a refusal rate of that source is also given
  corrected for it (Rogan–Gladen, :mod:`detectors.refusal.rates`),
  with an interval that carries the uncertainty of the judge's sensitivity and specificity.

>>> from detectors.cusum import BernoulliCusum
>>> host = DetectorHost(clock=lambda: 5.0)
>>> events = []
>>> host.subscribe(events.append)
>>> host.add_refusal_rate("refusal_rate/traffic", BernoulliCusum(p0=0.5, p1=0.25, arl0=100),
...                       source="traffic", category="all", baseline_rate=0.5)
>>> state = host.update_many("refusal_rate/traffic", [False] * 40)
>>> state.drift, [(e.name, e.drift, e.at) for e in events]
(True, [('refusal_rate/traffic', True, 5.0)])
>>> host.reset("refusal_rate/traffic"), events[-1].drift
(['refusal_rate/traffic'], False)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from detectors.base import Detector, DetectorState
from detectors.ledger import EpochReport, EvidenceLedger
from detectors.paired import PairCounts, PairedSignCusum
from detectors.refusal.rates import CorrectedRate, JudgeError, corrected_rate
from detectors.stats import wilson_interval

log = logging.getLogger("tunewatch.detection")

Family = Literal["drift", "refusal_rate", "paired"]


class StateSlot(Protocol):
    """Where one detector's ``state_dict()`` is kept (a row of its owner's table)."""

    def load(self) -> Mapping[str, Any] | None: ...

    def save(self, state: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class DetectorInfo:
    """What a hosted detector is: its name, family and metric labels.

    ``drift`` detectors are labelled ``{detector: name}``; ``refusal_rate`` CUSUMs
    ``{source, category}`` and carry the ``baseline_rate`` they test against; ``paired`` tests
    ``{source, category, direction}``. ``units`` is the number of distinct units the category
    holds (the probe pool's), for the coverage of a ledger's epoch; ``direction`` which way a
    refusal test alarms (``less`` / ``more``; a label of the ``paired`` family and of the evidence
    gauges).
    """

    name: str
    family: Family
    labels: Mapping[str, str]
    baseline_rate: float | None = None
    units: int | None = None
    direction: str = "less"  # refusing less (harmful side) or more (over-refusal)


@dataclass(frozen=True)
class Snapshot:
    """A hosted detector's state at one moment (``rate``: refusal rate with its 95% interval,
    for refusal-rate CUSUMs with observations)."""

    info: DetectorInfo
    state: DetectorState
    rate: tuple[float, float, float] | None = None
    evidence: EpochReport | None = None  # the current epoch of a ledger (None: no evidence yet)
    epochs: tuple[EpochReport, ...] = ()
    pairs: PairCounts | None = None
    corrected: CorrectedRate | None = None  # the rate corrected for the judge's error
    judge_error: JudgeError | None = None

    @property
    def coverage(self) -> float | None:
        """Distinct units admitted in the current epoch / units of the category."""
        if self.info.units and self.evidence is not None:
            return min(1.0, self.evidence.admitted / self.info.units)
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: the state, plus the rate, interval and baseline of a refusal CUSUM,
        the epoch a ledger's state covers (with admitted units, repeats, coverage and the other
        kept epochs) and a paired test's pair counts."""
        out: dict[str, Any] = {**self.state.as_dict(), "family": self.info.family,
                               **self.info.labels}
        if self.rate is not None:
            p, lo, hi = self.rate
            out.update(rate=p, ci95=[lo, hi])
        if self.corrected is not None and self.judge_error is not None:
            out["corrected_rate"] = {**self.corrected.as_dict(), "method": "rogan-gladen",
                                     "judge": self.judge_error.as_dict()}
        if self.info.baseline_rate is not None:
            out["baseline_rate"] = self.info.baseline_rate
        if self.evidence is not None:
            ev = self.evidence
            out["evidence"] = {"epoch": ev.epoch, "admitted": ev.admitted,
                               "duplicates": ev.duplicates, "first_alarm": ev.first_alarm,
                               "units": self.info.units, "coverage": self.coverage,
                               "epochs": [{"epoch": e.epoch, "admitted": e.admitted,
                                           "duplicates": e.duplicates, "drift": e.state.drift,
                                           "first_alarm": e.first_alarm, "current": e.current}
                                          for e in self.epochs]}
        if self.pairs is not None:
            c = self.pairs
            out["pairs"] = {"both_refused": c.both_refused, "both_complied": c.both_complied,
                            "base_only": c.base_only, "tuned_only": c.tuned_only,
                            "discordant": c.discordant, "difference": c.difference}
        return out


@dataclass(frozen=True)
class AlarmEvent:
    """A hosted detector's alarm turned on (``drift=True``) or off (``drift=False``)."""

    name: str
    info: DetectorInfo
    drift: bool
    at: float
    state: DetectorState


AlarmListener = Callable[[AlarmEvent], None]


@dataclass
class _Entry:
    info: DetectorInfo
    detector: Detector
    slot: StateSlot | None
    counts: Callable[[], tuple[int, int]] | None = None  # (refused, observed) of a rate test
    lock: threading.Lock = field(default_factory=threading.Lock)


class DetectorHost:
    """Registry, lock, persistence, reset, export and alarm events of the hosted detectors."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # guards the entries and listeners, not the detectors
        self._entries: dict[str, _Entry] = {}
        self._listeners: list[AlarmListener] = []
        self._judge_errors: dict[str, JudgeError] = {}

    def set_judge_error(self, source: str, error: JudgeError | None) -> None:
        """The held-out error counts of the judge that scores ``source`` (``traffic``,
        ``probe``); that source's refusal rates are then also reported corrected for them
        (``None``: raw rates only)."""
        with self._lock:
            if error is None:
                self._judge_errors.pop(source, None)
            else:
                self._judge_errors[source] = error

    def _judge_error_of(self, entry: _Entry) -> JudgeError | None:
        return self._judge_errors.get(entry.info.labels.get("source", ""))

    # -- registration ------------------------------------------------------------------------
    def add_drift(self, name: str, detector: Detector, *, slot: StateSlot | None = None) -> None:
        """Host a drift detector (exported as ``tunewatch_drift_*{detector=name}``)."""
        self._add(_Entry(DetectorInfo(name=name, family="drift", labels={"detector": name}),
                         detector, slot))

    def add_refusal_rate(self, name: str, detector: Detector, *, source: str,
                         category: str, baseline_rate: float | None,
                         slot: StateSlot | None = None, units: int | None = None,
                         direction: str = "less") -> None:
        """Host a refusal-rate CUSUM (exported as ``tunewatch_refusal_*{source, category}``): a
        detector with ``rate()`` (``BernoulliCusum``, ``UnpairedRateCusum``) or an
        :class:`~detectors.ledger.EvidenceLedger` around one."""
        info = DetectorInfo(name=name, family="refusal_rate",
                            labels={"source": source, "category": category},
                            baseline_rate=baseline_rate, units=units, direction=direction)
        self._add(_Entry(info, detector, slot, counts=_counts_of(detector)))

    def add_paired(self, name: str, detector: Detector, *, source: str, category: str,
                   direction: str, slot: StateSlot | None = None,
                   units: int | None = None) -> None:
        """Host a paired test against the base model (exported as
        ``tunewatch_paired_*{source, category, direction}``): a
        :class:`~detectors.paired.PairedSignCusum`, or an evidence ledger around one."""
        info = DetectorInfo(name=name, family="paired",
                            labels={"source": source, "category": category,
                                    "direction": direction}, units=units, direction=direction)
        self._add(_Entry(info, detector, slot))

    def _add(self, entry: _Entry) -> None:
        name = entry.info.name
        if entry.slot is not None:
            _restore(entry, name)
        with self._lock:
            if name in self._entries:
                raise ValueError(f"a detector named {name!r} is already hosted")
            self._entries[name] = entry
        if entry.detector.drift_detected:
            self._emit(entry, True, entry.detector.state)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._entries

    def _entry(self, name: str) -> _Entry:
        with self._lock:
            return self._entries[name]

    # -- feeding ---------------------------------------------------------------------------------
    def update(self, name: str, x: Any) -> DetectorState:
        """Feed one observation to detector ``name`` (KeyError when not hosted)."""
        return self._feed(name, lambda det: det.update(x))

    def update_many(self, name: str, xs: Iterable[Any]) -> DetectorState:
        """Feed observations in order to detector ``name``; the state after the last one."""
        return self._feed(name, lambda det: det.update_many(xs))

    def _feed(self, name: str, feed: Callable[[Detector], DetectorState]) -> DetectorState:
        entry = self._entry(name)
        with entry.lock:
            before = entry.detector.drift_detected
            state = feed(entry.detector)
            after, current = entry.detector.drift_detected, entry.detector.state
        if after != before:  # on; or off when a ledger's evidence moved to a new epoch
            self._emit(entry, after, current)
        return state

    # -- reading ---------------------------------------------------------------------------------
    def state(self, name: str) -> DetectorState:
        entry = self._entry(name)
        with entry.lock:
            return entry.detector.state

    def state_dict(self, name: str) -> dict[str, Any]:
        entry = self._entry(name)
        with entry.lock:
            return entry.detector.state_dict()

    def snapshot(self) -> dict[str, Snapshot]:
        """Every hosted detector's state (by name, sorted)."""
        with self._lock:
            entries = sorted(self._entries.items())
        out: dict[str, Snapshot] = {}
        for name, entry in entries:
            with entry.lock:
                out[name] = _snapshot(entry, self._judge_error_of(entry))
        return out

    def snapshot_of(self, name: str) -> Snapshot | None:
        """One hosted detector's snapshot (``None`` when not hosted)."""
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            return None
        with entry.lock:
            return _snapshot(entry, self._judge_error_of(entry))

    def states(self) -> dict[str, dict[str, Any]]:
        """``{name: Snapshot.as_dict()}`` (the ``GET /v1/detectors`` body): state, labels, and
        for ledgers the epoch it covers, admitted units, repeats and coverage."""
        return {name: snap.as_dict() for name, snap in self.snapshot().items()}

    def report(self, name: str, epoch: str | None = None) -> EpochReport | None:
        """The evidence of ``epoch`` (default: the current one) of a ledger, ``None`` when the
        detector is no ledger or has no evidence for it."""
        entry = self._entry(name)
        with entry.lock:
            det = entry.detector
            if not isinstance(det, EvidenceLedger):
                return None
            try:
                return det.report(epoch)
            except KeyError:
                return None

    # -- reset and persistence -------------------------------------------------------------------
    def reset(self, name: str | None = None, *, forget: bool = False) -> list[str]:
        """Reset one detector (or all): forget observations, keep reference and threshold; the
        reset state is saved at once. A ledger is acknowledged instead (its counted units stay
        counted) unless ``forget``. Raises KeyError for an unknown name."""
        with self._lock:
            if name is not None and name not in self._entries:
                raise KeyError(name)
            names = [name] if name is not None else sorted(self._entries)
            entries = [self._entries[n] for n in names]
        for entry in entries:
            with entry.lock:
                was = entry.detector.drift_detected
                if isinstance(entry.detector, EvidenceLedger) and not forget:
                    entry.detector.acknowledge()
                else:
                    entry.detector.reset()
                state = entry.detector.state
                if entry.slot is not None:
                    entry.slot.save(entry.detector.state_dict())
            if was:
                self._emit(entry, False, state)
        return names

    def checkpoint(self) -> None:
        """Save every detector that has a slot."""
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            if entry.slot is None:
                continue
            with entry.lock:
                state = entry.detector.state_dict()
            entry.slot.save(state)

    # -- events ----------------------------------------------------------------------------------
    def subscribe(self, listener: AlarmListener) -> None:
        """Call ``listener`` on every alarm change; it first gets the alarms already raised."""
        with self._lock:
            self._listeners.append(listener)
            entries = list(self._entries.values())
        now = self._clock()
        for entry in entries:
            with entry.lock:
                state = entry.detector.state
            if state.drift:
                _call(listener, AlarmEvent(name=entry.info.name, info=entry.info, drift=True,
                                           at=now, state=state))

    def _emit(self, entry: _Entry, drift: bool, state: DetectorState) -> None:
        event = AlarmEvent(name=entry.info.name, info=entry.info, drift=drift, at=self._clock(),
                           state=state)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            _call(listener, event)


def _counts_of(detector: Detector) -> Callable[[], tuple[int, int]] | None:
    """``(refused, observed)`` of a refusal-rate test, or of a ledger's current epoch."""
    if isinstance(detector, EvidenceLedger):
        ledger = detector

        def current_counts() -> tuple[int, int]:
            inner = ledger.detector()
            return inner.counts()  # type: ignore[no-any-return]

        return current_counts if hasattr(ledger.prototype, "counts") else None
    counts = getattr(detector, "counts", None)
    return counts if callable(counts) else None


def _snapshot(entry: _Entry, judge_error: JudgeError | None = None) -> Snapshot:
    """One entry's snapshot (the caller holds its lock)."""
    det = entry.detector
    state = det.state
    rate: tuple[float, float, float] | None = None
    corrected: CorrectedRate | None = None
    if entry.counts is not None and state.n:
        k, n = entry.counts()
        if n:
            rate = wilson_interval(k, n)
            if judge_error is not None:
                corrected = corrected_rate(k, n, judge_error)
    evidence: EpochReport | None = None
    epochs: tuple[EpochReport, ...] = ()
    inner: Any = det
    if isinstance(det, EvidenceLedger):
        epochs = det.epochs()
        evidence = next((e for e in epochs if e.current), None)
        inner = det.detector() if evidence is not None else None
    pairs = inner.counts() if isinstance(inner, PairedSignCusum) else None
    return Snapshot(info=entry.info, state=state, rate=rate, evidence=evidence, epochs=epochs,
                    pairs=pairs, corrected=corrected,
                    judge_error=judge_error if corrected is not None else None)


def _call(listener: AlarmListener, event: AlarmEvent) -> None:
    try:
        listener(event)
    except Exception:  # a listener's bug must not stop detection
        log.exception("alarm listener failed for %s", event.name)


def _restore(entry: _Entry, name: str) -> None:
    assert entry.slot is not None
    saved = entry.slot.load()
    if saved is None:
        return
    try:
        entry.detector.load_state(saved)
        log.info("restored detector state: %s", name)
    except (ValueError, TypeError, KeyError) as exc:  # other reference or config: start fresh
        log.warning("not restoring %s: %s", name, exc)
