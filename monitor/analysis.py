"""Analyzers the worker drives: refusal scoring, embedding drift and scalar drift.

Each analyzer loads its models lazily in the worker thread (never at import or on the event
loop), persists its detector state to SQLite (periodically and at shutdown) and reloads it at
start, and reports its health for ``/readyz``. A failure is counted by the pipeline and never
reaches traffic.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.pipeline import Analyzer, Processed, StageError
from monitor.reference import Reference, ReferenceStore, load_reference_file
from monitor.store import Store

log = logging.getLogger("tunewatch.analysis")

SCHEMA = """
CREATE TABLE IF NOT EXISTS detector_state (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


class StateStore:
    """Detector ``state_dict()`` snapshots by detector name."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        store.ensure_schema(SCHEMA)

    def save(self, name: str, state: dict[str, Any]) -> None:
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO detector_state VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "kind = excluded.kind, state = excluded.state, updated = excluded.updated",
                (name, str(state.get("kind", "")), json.dumps(state), self._clock()),
            )

    def load(self, name: str) -> dict[str, Any] | None:
        rows = self._store.query("SELECT state FROM detector_state WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None


def _restore(det: Any, saved: dict[str, Any] | None, name: str) -> None:
    if saved is None:
        return
    try:
        det.load_state(saved)
        log.info("restored detector state: %s", name)
    except ValueError as exc:  # incompatible (other reference, other config): start fresh
        log.warning("not restoring %s: %s", name, exc)


def _export_state(metrics: Metrics, name: str, det: Any) -> None:
    st = det.state
    metrics.drift_statistic.labels(detector=name).set(float(st.statistic))
    metrics.drift_threshold.labels(detector=name).set(float(st.threshold))
    metrics.drift_detected.labels(detector=name).set(1.0 if st.drift else 0.0)
    metrics.drift_samples.labels(detector=name).set(float(st.n))


class RefusalAnalyzer:
    """Scores every sampled response; optionally a CUSUM on the traffic refusal rate."""

    name = "refusal"

    def __init__(self, settings: Settings, *, metrics: Metrics, states: StateStore) -> None:
        a = settings.analysis
        self._kind = a.embedder if a.embedder in ("minilm", "static") else "minilm"
        self._cache = a.static_cache_dir() if self._kind == "static" else None
        self._device = a.device
        self._metrics = metrics
        self._states = states
        self._clf: Any = None
        self._cusum: Any = None
        self._baseline = a.refusal_baseline_rate
        self._arl0 = a.refusal_arl0
        self.error: str | None = None
        self.scored = 0

    def _load(self) -> None:
        if self._clf is not None:
            return
        from detectors.refusal import load_classifier

        self._clf = load_classifier(self._kind, cache_dir=self._cache,  # type: ignore[arg-type]
                                    device=self._device)
        if self._baseline is not None and 0 < self._baseline < 1:
            from detectors.cusum import BernoulliCusum

            self._cusum = BernoulliCusum(
                p0=self._baseline, p1=self._baseline / 2, arl0=self._arl0,
                reference_id=f"baseline-{self._baseline:g}",
            )
            _restore(self._cusum, self._states.load("refusal_rate/traffic"), "refusal_rate")
            self._metrics.refusal_rate_baseline.labels(source="traffic", category="all").set(
                self._baseline)
            self.export()

    def process(self, batch: Sequence[Processed]) -> None:
        items = [p for p in batch if p.exchange is not None or p.sample.error]
        if not items:
            return
        try:
            self._load()
            pairs = [(p.prompt, p.response) for p in items]
            verdicts = self._clf.verdicts(
                pairs,
                finish_reasons=[p.exchange.finish_reason if p.exchange else None for p in items],
                errors=[bool(p.sample.error) or p.sample.status >= 400 for p in items],
            )
        except Exception as exc:
            self.error = f"{type(exc).__name__}: refusal classifier unavailable"
            raise StageError("featurize", self.error) from exc
        m = self._metrics
        for p, v in zip(items, verdicts, strict=True):
            p.verdict = str(v)
            m.refusal_verdicts.labels(source="traffic", category="all", verdict=str(v)).inc()
            if self._cusum is not None and str(v) in ("refused", "complied"):
                self._cusum.update(str(v) == "refused")
        self.scored += len(items)
        self.error = None
        self.export()

    def export(self) -> None:
        if self._cusum is not None:
            self._metrics.export_refusal_cusum(source="traffic", category="all",
                                               cusum=self._cusum)

    def checkpoint(self) -> None:
        if self._cusum is not None:
            self._states.save("refusal_rate/traffic", self._cusum.state_dict())

    def detectors(self) -> dict[str, Any]:
        return {} if self._cusum is None else {"refusal_rate/traffic": self._cusum}

    def status(self) -> dict[str, object]:
        return {"ok": self.error is None, "loaded": self._clf is not None, "scored": self.scored,
                "error": self.error}


class EmbeddingDriftAnalyzer:
    """MMD drift of prompt and response embeddings against a reference.

    The reference is the configured JSONL file, or else the first ``bootstrap`` production
    samples (persisted in SQLite under a content-hash id so restarts keep it).
    """

    name = "embedding_drift"

    def __init__(self, settings: Settings, *, metrics: Metrics, store: Store,
                 states: StateStore, clock: Callable[[], float] = time.time) -> None:
        a = settings.analysis
        self._kind = a.embedder
        self._cache = a.static_cache_dir() if a.embedder == "static" else None
        self._device = a.device
        self._window = a.drift_window
        self._ert = a.drift_ert
        self._reference_path = a.reference_path
        self._bootstrap = max(2 * self._window, a.drift_reference_size)
        self._metrics = metrics
        self._states = states
        self._refs = ReferenceStore(store, clock=clock)
        self._embedder: Any = None
        self._detectors: dict[str, Any] = {}
        self._pending: dict[str, list[np.ndarray]] = {"prompt": [], "response": []}
        self._reference: Reference | None = None
        self.error: str | None = None

    def _load(self) -> None:
        if self._embedder is not None:
            return
        from detectors.embeddings import load_embedder

        self._embedder = load_embedder(self._kind, cache_dir=self._cache,  # type: ignore[arg-type]
                                       device=self._device)
        if self._reference_path is not None:
            ref = load_reference_file(self._reference_path)
            self._refs.save(ref, embeddings=None)
            self._install(ref, {
                "prompt": self._embedder.encode(ref.prompts),
                "response": self._embedder.encode(ref.responses),
            })
            return
        saved = self._refs.latest_bootstrap(self._embedder.name)
        if saved is not None:
            ref, emb = saved
            self._install(ref, emb)

    def _install(self, ref: Reference, emb: dict[str, np.ndarray]) -> None:
        from detectors.mmd import EmbeddingDriftDetector

        self._reference = ref
        for field in ("prompt", "response"):
            name = f"{field}_embedding"
            det = EmbeddingDriftDetector(reference=emb[field], reference_id=ref.id,
                                         window=self._window, ert=self._ert, seed=0)
            _restore(det, self._states.load(name), name)
            self._detectors[field] = det
            self._metrics.drift_reference_info.labels(detector=name, reference_id=ref.id).set(1)
            _export_state(self._metrics, name, det)

    def process(self, batch: Sequence[Processed]) -> None:
        items = [p for p in batch if p.exchange is not None]
        if not items:
            return
        try:
            self._load()
            emb = {
                "prompt": self._embedder.encode([p.prompt for p in items]),
                "response": self._embedder.encode([p.response for p in items]),
            }
        except Exception as exc:
            self.error = f"{type(exc).__name__}: embedder {self._kind} unavailable"
            raise StageError("featurize", self.error) from exc
        if not self._detectors:
            for field in ("prompt", "response"):
                self._pending[field].append(emb[field])
            n = sum(len(x) for x in self._pending["prompt"])
            if n >= self._bootstrap:
                ref_emb = {f: np.concatenate(self._pending[f])[: self._bootstrap]
                           for f in ("prompt", "response")}
                ref = self._refs.save_bootstrap(ref_emb, embedder=self._embedder.name)
                self._pending = {"prompt": [], "response": []}
                self._install(ref, ref_emb)
            self.error = None
            return
        for field in ("prompt", "response"):
            self._detectors[field].update_many(emb[field])
        self.export()
        self.error = None

    def export(self) -> None:
        for name, det in self.detectors().items():
            _export_state(self._metrics, name, det)

    def checkpoint(self) -> None:
        for field, det in self._detectors.items():
            self._states.save(f"{field}_embedding", det.state_dict())

    def detectors(self) -> dict[str, Any]:
        return {f"{field}_embedding": det for field, det in self._detectors.items()}

    def status(self) -> dict[str, object]:
        ref = self._reference
        return {
            "ok": self.error is None,
            "embedder": self._kind,
            "reference_id": ref.id if ref else None,
            "bootstrapping": not self._detectors,
            "error": self.error,
        }


class ScalarDriftAnalyzer:
    """ADWIN on prompt length, response length and upstream latency."""

    name = "scalar_drift"
    FEATURES = ("prompt_length", "response_length", "latency")

    def __init__(self, *, metrics: Metrics, states: StateStore) -> None:
        from detectors.scalar import AdwinDetector

        self._metrics = metrics
        self._states = states
        self._detectors = {f: AdwinDetector() for f in self.FEATURES}
        for f, det in self._detectors.items():
            _restore(det, states.load(f), f)
        self.error: str | None = None

    def process(self, batch: Sequence[Processed]) -> None:
        for p in batch:
            if p.exchange is None:
                continue
            values = {
                "prompt_length": float(len(p.prompt.split())),
                "response_length": float(len(p.response.split())),
                "latency": float(p.sample.upstream_s),
            }
            for f, x in values.items():
                self._detectors[f].update(x)
        self.export()

    def export(self) -> None:
        for f, det in self._detectors.items():
            _export_state(self._metrics, f, det)

    def checkpoint(self) -> None:
        for f, det in self._detectors.items():
            self._states.save(f, det.state_dict())

    def detectors(self) -> dict[str, Any]:
        return dict(self._detectors)

    def status(self) -> dict[str, object]:
        return {"ok": self.error is None,
                "drift": sorted(f for f, d in self._detectors.items() if d.drift_detected)}


def build_analyzers(
    settings: Settings, *, metrics: Metrics, store: Store, clock: Callable[[], float]
) -> list[Analyzer]:
    a = settings.analysis
    states = StateStore(store, clock)
    analyzers: list[Analyzer] = []
    if a.refusal_classifier:
        analyzers.append(RefusalAnalyzer(settings, metrics=metrics, states=states))
    if a.embedder != "none":
        analyzers.append(EmbeddingDriftAnalyzer(settings, metrics=metrics, store=store,
                                                states=states, clock=clock))
    analyzers.append(ScalarDriftAnalyzer(metrics=metrics, states=states))
    return analyzers


class DetectorRegistry:
    """Read and reset the detectors of all analyzers from the admin API, under the pipeline's
    lock (the worker holds it while it updates detectors)."""

    def __init__(self, analyzers: Sequence[Analyzer], *, metrics: Metrics,
                 lock: threading.Lock) -> None:
        self._analyzers = analyzers
        self._metrics = metrics
        self.lock = lock

    def _owners(self) -> dict[str, Any]:
        """Detector name -> the analyzer that owns (and exports) it."""
        return {name: a for a in self._analyzers
                for name in getattr(a, "detectors", dict)()}

    def states(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {name: det.state.as_dict()
                    for a in self._analyzers
                    for name, det in getattr(a, "detectors", dict)().items()}

    def reset(self, name: str | None = None) -> list[str]:
        """Reset one detector (or all): forget observations, keep reference and threshold."""
        with self.lock:
            owners = self._owners()
            if name is not None and name not in owners:
                raise KeyError(name)
            names = [name] if name is not None else sorted(owners)
            for n in names:
                owners[n].detectors()[n].reset()
            for analyzer in {id(owners[n]): owners[n] for n in names}.values():
                analyzer.export()
            return names
