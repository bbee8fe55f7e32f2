"""MMD embedding drift of prompts and responses (:class:`detectors.mmd.EmbeddingDriftDetector`).

The embedder loads lazily in the worker thread. Until a reference exists the analyzer collects
production embeddings (bootstrap); then it installs one detector per field in the detector host.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from detectors.embeddings import Embedder, EmbedderKind
from monitor.analysis.calibration import Calibrator, Job
from monitor.analysis.pipeline import Processed, StageError
from monitor.analysis.references import Reference, ReferenceStore, load_reference_file
from monitor.config import Settings
from monitor.detection.host import DetectorHost
from monitor.detection.state import StateTable
from monitor.store import Store


class EmbeddingDriftAnalyzer:
    """MMD drift of prompt and response embeddings against a reference.

    The reference is the configured JSONL file, or else the first ``bootstrap`` production
    samples (persisted in SQLite under a content-hash id so restarts keep it). The detectors
    (``prompt_embedding``, ``response_embedding``) join the host once the reference is known.
    """

    name = "embedding_drift"
    FIELDS = ("prompt", "response")

    def __init__(self, settings: Settings, *, host: DetectorHost, store: Store,
                 states: StateTable, clock: Callable[[], float] = time.time) -> None:
        a = settings.analysis
        kind = a.embedder
        if kind == "none":
            raise ValueError("analysis.embedder is 'none': no embedding drift analyzer")
        self._kind: EmbedderKind = kind
        self._cache = a.static_cache_dir() if kind == "static" else None
        self._device = a.device
        self._window = a.drift_window
        self._ert = a.drift_ert
        self._reference_path = a.reference_path
        self._bootstrap = max(2 * self._window, a.drift_reference_size)
        self._host = host
        self._states = states
        self._refs = ReferenceStore(store, clock=clock)
        self._calibrator = Calibrator(a.drift_calibration)
        self._embedder: Embedder | None = None
        self._installed = False
        self._pending: dict[str, list[np.ndarray]] = {"prompt": [], "response": []}
        self._reference: Reference | None = None
        self.error: str | None = None

    def _load(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        from detectors.embeddings import load_embedder

        embedder = self._embedder = load_embedder(self._kind, cache_dir=self._cache,
                                                  device=self._device)
        if self._reference_path is not None:
            ref = load_reference_file(self._reference_path)
            self._refs.save(ref, embeddings=None)
            self._install(ref, {
                "prompt": embedder.encode(ref.prompts),
                "response": embedder.encode(ref.responses),
            })
        else:
            saved = self._refs.latest_bootstrap(embedder.name)
            if saved is not None:
                self._install(*saved)
        return embedder

    def _install(self, ref: Reference, emb: dict[str, np.ndarray]) -> None:
        from detectors.mmd import EmbeddingDriftDetector

        self._reference = ref
        slots = {f: self._states.slot(f"{f}_embedding") for f in self.FIELDS}
        jobs = [Job(reference=np.asarray(emb[f], dtype=np.float64), window=self._window,
                    ert=self._ert, seed=0) for f in self.FIELDS]
        # off the proxy's interpreter, or reused from the saved states (monitor/analysis/calibration.py)
        thresholds = self._calibrator.thresholds(jobs, [slots[f].load() for f in self.FIELDS])
        for field, threshold in zip(self.FIELDS, thresholds, strict=True):
            det = EmbeddingDriftDetector(reference=emb[field], reference_id=ref.id,
                                         window=self._window, ert=self._ert, seed=0,
                                         threshold=threshold)
            self._host.add_drift(f"{field}_embedding", det, slot=slots[field])
        self._installed = True

    def warm_up(self) -> None:
        """Load the embedder and install a known reference (the configured file or a saved
        bootstrap), so the detectors are restored and exported before the first sample."""
        try:
            self._load()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: embedder {self._kind} unavailable"
            raise StageError("featurize", self.error) from exc

    def process(self, batch: Sequence[Processed]) -> None:
        items = [p for p in batch if p.exchange is not None]
        if not items:
            return
        try:
            embedder = self._load()
            emb = {
                "prompt": embedder.encode([p.prompt for p in items]),
                "response": embedder.encode([p.response for p in items]),
            }
        except Exception as exc:
            self.error = f"{type(exc).__name__}: embedder {self._kind} unavailable"
            raise StageError("featurize", self.error) from exc
        if not self._installed:
            for field in self.FIELDS:
                self._pending[field].append(emb[field])
            n = sum(len(x) for x in self._pending["prompt"])
            if n >= self._bootstrap:
                ref_emb = {f: np.concatenate(self._pending[f])[: self._bootstrap]
                           for f in self.FIELDS}
                ref = self._refs.save_bootstrap(ref_emb, embedder=embedder.name)
                self._pending = {"prompt": [], "response": []}
                self._install(ref, ref_emb)
            self.error = None
            return
        for field in self.FIELDS:
            self._host.update_many(f"{field}_embedding", emb[field])
        self.error = None

    def status(self) -> dict[str, object]:
        ref = self._reference
        return {
            "ok": self.error is None,
            "embedder": self._kind,
            "reference_id": ref.id if ref else None,
            "bootstrapping": not self._installed,
            "error": self.error,
        }
