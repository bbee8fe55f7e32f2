"""The analyzers the worker drives, built from settings, in order: traffic categories
(:mod:`~monitor.analysis.categories`), refusal scoring (:mod:`~monitor.analysis.refusal`), the
per-category traffic watch (:mod:`~monitor.analysis.traffic_watch`), the shadow replay against
the base model (:mod:`~monitor.analysis.shadow`), embedding drift
(:mod:`~monitor.analysis.embedding_drift`) and scalar drift (:mod:`~monitor.analysis.scalar_drift`).

Each analyzer loads its models lazily in the worker thread and reports its health for
``/readyz``. Its stateful detectors live in the detector host (:mod:`monitor.detection.host`),
which locks, persists, resets and exports them; the analyzers only feed them. A failure is counted
by the pipeline and never reaches traffic.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.analysis.categories import CategoryAnalyzer
from monitor.analysis.embedding_drift import EmbeddingDriftAnalyzer
from monitor.analysis.pipeline import Analyzer
from monitor.analysis.refusal import RefusalAnalyzer
from monitor.analysis.scalar_drift import ScalarDriftAnalyzer
from monitor.analysis.shadow import ShadowReplay
from monitor.analysis.traffic_watch import TrafficWatch
from monitor.config import Settings
from monitor.detection.host import DetectorHost
from monitor.detection.state import StateTable
from monitor.metrics.analysis import AnalysisMetrics
from monitor.probes.pool.model import Pool
from monitor.store import Store


def _one_epoch() -> str:
    return "ep-all"


def build_analyzers(
    settings: Settings, *, metrics: AnalysisMetrics, store: Store, host: DetectorHost,
    clock: Callable[[], float], epoch: Callable[[], str] = _one_epoch,
    pool: Pool | None = None,
) -> list[Analyzer]:
    """``epoch``: the current evidence epoch (the daemon's: the hashed
    ``deployment.epoch_components``); ``pool``: the labelled probe pool the traffic categories
    are taken from (needed with ``analysis.categories.enabled``)."""
    a = settings.analysis
    states = StateTable(store, clock=clock)
    analyzers: list[Analyzer] = []
    if a.categories.enabled:
        if pool is None:
            raise ValueError("analysis.categories.enabled needs the probe pool")
        analyzers.append(CategoryAnalyzer(a, pool=pool, metrics=metrics))
    if a.refusal_classifier:
        analyzers.append(RefusalAnalyzer(settings, metrics=metrics, host=host, states=states))
    if a.categories.enabled:
        analyzers.append(TrafficWatch(a.categories, host=host, states=states, epoch=epoch))
    if a.shadow.base_url:
        analyzers.append(ShadowReplay(a, host=host, states=states, metrics=metrics, epoch=epoch))
    if a.embedder != "none":
        analyzers.append(EmbeddingDriftAnalyzer(settings, host=host, store=store, states=states,
                                                clock=clock))
    analyzers.append(ScalarDriftAnalyzer(host=host, states=states))
    return analyzers
