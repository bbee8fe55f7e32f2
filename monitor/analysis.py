"""Analyzers driven by the worker (embedding drift, refusal scoring); filled in by issue 3."""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.pipeline import Analyzer
from monitor.store import Store


def build_analyzers(
    settings: Settings, *, metrics: Metrics, store: Store, clock: Callable[[], float]
) -> list[Analyzer]:
    return []
