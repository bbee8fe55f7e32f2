"""Analyzers the worker drives: refusal scoring, embedding drift and scalar drift.

Each analyzer loads its models lazily in the worker thread (never at import or on the event
loop) and reports its health for ``/readyz``. Its stateful detectors live in the detector host
(:mod:`monitor.detection.host`), which locks, persists, resets and exports them; the analyzers
only feed them. A failure is counted by the pipeline and never reaches traffic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from detectors.embeddings import Embedder, EmbedderKind
from detectors.features import scalar_features
from monitor.config import Settings
from monitor.detection.host import DetectorHost
from monitor.detection.judge import RefusalJudge, judge_kind, load_refusal_judge
from monitor.detection.state import StateTable
from monitor.metrics.analysis import AnalysisMetrics
from monitor.pipeline import Analyzer, Processed, StageError
from monitor.reference import Reference, ReferenceStore, load_reference_file
from monitor.store import Store

log = logging.getLogger("tunewatch.analysis")

TRAFFIC_CUSUM = "refusal_rate/traffic"


class RefusalAnalyzer:
    """Scores every sampled response; optionally a CUSUM on the traffic refusal rate (hosted as
    ``refusal_rate/traffic`` when ``analysis.refusal_baseline_rate`` is set)."""

    name = "refusal"

    def __init__(self, settings: Settings, *, metrics: AnalysisMetrics, host: DetectorHost,
                 states: StateTable) -> None:
        a = settings.analysis
        self._analysis = a
        self._kind = judge_kind(a.embedder if a.embedder in ("minilm", "static") else "minilm")
        self._metrics = metrics
        self._host = host
        self._clf: RefusalJudge | None = None
        self._cusum = False
        self.error: str | None = None
        self.scored = 0
        baseline = a.refusal_baseline_rate
        if baseline is not None and 0 < baseline < 1:
            from detectors.cusum import BernoulliCusum

            cusum = BernoulliCusum(p0=baseline, p1=baseline / 2, arl0=a.refusal_arl0,
                                   reference_id=f"baseline-{baseline:g}")
            host.add_refusal_rate(TRAFFIC_CUSUM, cusum, source="traffic", category="all",
                                  baseline_rate=baseline, slot=states.slot(TRAFFIC_CUSUM))
            self._cusum = True

    def _judge(self) -> RefusalJudge:
        if self._clf is None:
            self._clf = load_refusal_judge(self._kind, analysis=self._analysis)
        return self._clf

    def process(self, batch: Sequence[Processed]) -> None:
        items = [p for p in batch if p.exchange is not None or p.sample.error]
        if not items:
            return
        try:
            verdicts = [str(v) for v in self._judge().verdicts(
                [(p.prompt, p.response) for p in items],
                finish_reasons=[p.exchange.finish_reason if p.exchange else None for p in items],
                errors=[bool(p.sample.error) or p.sample.status >= 400 for p in items],
            )]
        except Exception as exc:
            self.error = f"{type(exc).__name__}: refusal classifier unavailable"
            raise StageError("featurize", self.error) from exc
        for p, v in zip(items, verdicts, strict=True):
            p.verdict = v
            self._metrics.verdicts.inc("all", v)
        if self._cusum:
            scored = [v == "refused" for v in verdicts if v in ("refused", "complied")]
            if scored:
                self._host.update_many(TRAFFIC_CUSUM, scored)
        self.scored += len(items)
        self.error = None

    def status(self) -> dict[str, object]:
        return {"ok": self.error is None, "loaded": self._clf is not None, "scored": self.scored,
                "error": self.error}


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
        for field in self.FIELDS:
            name = f"{field}_embedding"
            det = EmbeddingDriftDetector(reference=emb[field], reference_id=ref.id,
                                         window=self._window, ert=self._ert, seed=0)
            self._host.add_drift(name, det, slot=self._states.slot(name))
        self._installed = True

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


class ScalarDriftAnalyzer:
    """ADWIN on prompt length, response length (words, :mod:`detectors.features`) and upstream
    latency."""

    name = "scalar_drift"
    FEATURES = ("prompt_length", "response_length", "latency")

    def __init__(self, *, host: DetectorHost, states: StateTable) -> None:
        from detectors.scalar import AdwinDetector

        self._host = host
        for f in self.FEATURES:
            host.add_drift(f, AdwinDetector(), slot=states.slot(f))
        self.error: str | None = None

    def process(self, batch: Sequence[Processed]) -> None:
        values: dict[str, list[float]] = {f: [] for f in self.FEATURES}
        for p in batch:
            if p.exchange is None:
                continue
            features = scalar_features(prompt=p.prompt, response=p.response,
                                       latency_s=p.sample.upstream_s)
            values["prompt_length"].append(float(features.prompt_words))
            values["response_length"].append(float(features.response_words))
            values["latency"].append(float(p.sample.upstream_s))
        for f, xs in values.items():
            if xs:
                self._host.update_many(f, xs)

    def status(self) -> dict[str, object]:
        states = self._host.snapshot()
        return {"ok": self.error is None,
                "drift": sorted(f for f in self.FEATURES if f in states and states[f].state.drift)}


def build_analyzers(
    settings: Settings, *, metrics: AnalysisMetrics, store: Store, host: DetectorHost,
    clock: Callable[[], float],
) -> list[Analyzer]:
    a = settings.analysis
    states = StateTable(store, clock=clock)
    analyzers: list[Analyzer] = []
    if a.refusal_classifier:
        analyzers.append(RefusalAnalyzer(settings, metrics=metrics, host=host, states=states))
    if a.embedder != "none":
        analyzers.append(EmbeddingDriftAnalyzer(settings, host=host, store=store, states=states,
                                                clock=clock))
    analyzers.append(ScalarDriftAnalyzer(host=host, states=states))
    return analyzers
