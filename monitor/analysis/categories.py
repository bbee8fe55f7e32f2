"""Assign each sampled prompt a traffic category (``analysis.categories``).

The labelled anchors are the probe pool's units (the generated pool plus a team's imports,
``probes.pool``), at most ``max_anchors_per_category`` per category (a seeded sample, ordered by
the pool's content-derived rank), embedded once with the daemon's embedder on the analysis
thread. A prompt's category is decided by :class:`detectors.categorise.NearestCategory`: its
``k`` nearest anchors above the similarity ``threshold`` vote; with none it is ``none``
(ordinary traffic). Labels are therefore bounded: the seven pool categories and ``none``.

The anchors are embedded on a thread of their own at the first batch (a few seconds with the
static embedder, minutes with MiniLM on a busy CPU), so the analysis thread never waits: samples
analysed before the anchors are ready get no category (verdicts count as ``all``, and the
per-category watches skip them).

Runs before the refusal analyzer, which counts verdicts per category, and before the traffic
watch and the shadow replay, which compare refusal rates per category. Only the redacted prompt
is embedded; nothing about it is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from detectors.categorise import NONE, NearestCategory
from detectors.embeddings import Embedder, EmbedderKind
from monitor.analysis.pipeline import Processed, StageError
from monitor.analysis.watch_settings import CategorySettings
from monitor.metrics.analysis import AnalysisMetrics
from monitor.probes.pool.ids import rank
from monitor.probes.pool.model import Pool, PoolUnit
from monitor.probes.scoring import last_user_text

if TYPE_CHECKING:
    from monitor.config import AnalysisSettings

ANCHOR_SEED = 11


def anchor_units(pool: Pool, *, per_category: int) -> list[PoolUnit]:
    """At most ``per_category`` units of each category, a seeded sample in a fixed order."""
    by_cat: dict[str, list[PoolUnit]] = {}
    for u in pool.units:
        by_cat.setdefault(u.category, []).append(u)
    out: list[PoolUnit] = []
    for cat in sorted(by_cat):
        units = sorted(by_cat[cat], key=lambda u: rank(ANCHOR_SEED, u.id))
        out.extend(units[:per_category])
    return out


def anchor_texts(units: Sequence[PoolUnit]) -> tuple[list[str], list[str]]:
    """(texts, labels): the last user turn of each probe of each unit."""
    texts, labels = [], []
    for u in units:
        for p in u.probes:
            texts.append(last_user_text(p))
            labels.append(u.category)
    return texts, labels


class CategoryAnalyzer:
    """Sets ``Processed.category`` for every sample with a parsed exchange."""

    name = "categories"

    def __init__(self, analysis: AnalysisSettings, *, pool: Pool,
                 metrics: AnalysisMetrics) -> None:
        if analysis.embedder == "none":
            raise ValueError("analysis.categories needs analysis.embedder static or minilm")
        self._kind: EmbedderKind = analysis.embedder
        self._cache = analysis.static_cache_dir() if self._kind == "static" else None
        self._device = analysis.device
        self.settings: CategorySettings = analysis.categories
        self._units = anchor_units(pool, per_category=self.settings.max_anchors_per_category)
        self._threshold = self.settings.resolved_threshold(self._kind)
        self._metrics = metrics
        self._assigner: NearestCategory | None = None
        self._embedder: Embedder | None = None
        self._loader: threading.Thread | None = None
        self.assigned: dict[str, int] = {}
        self.skipped = 0  # samples seen before the anchors were ready
        self.error: str | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        """Every label this analyzer can assign (pool categories and ``none``)."""
        return (*sorted({u.category for u in self._units}), NONE)

    def load(self) -> None:
        """Embed the anchors (what the loader thread runs; tests may call it directly)."""
        from detectors.embeddings import load_embedder

        try:
            embedder = load_embedder(self._kind, cache_dir=self._cache, device=self._device)
            texts, labels = anchor_texts(self._units)
            assigner = NearestCategory(anchors=embedder.encode(texts), labels=labels,
                                       k=self.settings.k, threshold=self._threshold)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: cannot embed the labelled pool units"
            return
        self._embedder, self._assigner = embedder, assigner

    @property
    def ready(self) -> bool:
        return self._assigner is not None

    def process(self, batch: Sequence[Processed]) -> None:
        items = [p for p in batch if p.exchange is not None]
        if not items:
            return
        embedder, assigner = self._embedder, self._assigner
        if embedder is None or assigner is None:
            if self._loader is None:
                self._loader = threading.Thread(target=self.load, name="tunewatch-categories",
                                                daemon=True)
                self._loader.start()
            self.skipped += len(items)
            if self.error is not None:
                raise StageError("featurize", self.error)
            return
        try:
            labels = assigner.assign(embedder.encode([p.prompt for p in items]))
        except Exception as exc:
            self.error = f"{type(exc).__name__}: traffic categories unavailable"
            raise StageError("featurize", self.error) from exc
        for p, label in zip(items, labels, strict=True):
            p.category = label
            self.assigned[label] = self.assigned.get(label, 0) + 1
            self._metrics.traffic_categories.labels(category=label).inc()
        self.error = None

    def status(self) -> dict[str, object]:
        return {"ok": self.error is None, "loaded": self._assigner is not None,
                "anchors": len(self._units), "threshold": self._threshold,
                "assigned": dict(self.assigned), "before_ready": self.skipped,
                "error": self.error}
