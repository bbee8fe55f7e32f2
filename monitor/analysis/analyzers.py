"""The analyzers the worker drives, built from settings: refusal scoring
(:mod:`~monitor.analysis.refusal`), embedding drift (:mod:`~monitor.analysis.embedding_drift`) and
scalar drift (:mod:`~monitor.analysis.scalar_drift`).

Each analyzer loads its models lazily in the worker thread and reports its health for
``/readyz``. Its stateful detectors live in the detector host (:mod:`monitor.detection.host`),
which locks, persists, resets and exports them; the analyzers only feed them. A failure is counted
by the pipeline and never reaches traffic.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.analysis.embedding_drift import EmbeddingDriftAnalyzer
from monitor.analysis.pipeline import Analyzer
from monitor.analysis.refusal import RefusalAnalyzer
from monitor.analysis.scalar_drift import ScalarDriftAnalyzer
from monitor.config import Settings
from monitor.detection.host import DetectorHost
from monitor.detection.state import StateTable
from monitor.metrics.analysis import AnalysisMetrics
from monitor.store import Store


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
