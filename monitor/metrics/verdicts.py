"""``tunewatch_refusal_verdicts_total{source, category, verdict}``: one family, two sources.

The traffic analysis counts under ``source="traffic"`` and the probes under ``source="probe"``;
each is handed a :class:`VerdictCounter` bound to its source. Categories pass a
:class:`~monitor.metrics.labels.BoundedLabel`; verdicts outside the classifier's three are ``other``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from monitor.metrics.labels import OTHER, BoundedLabel

VERDICTS = ("refused", "complied", "unscoreable")


class RefusalVerdicts:
    def __init__(self, registry: CollectorRegistry, *, category_label: BoundedLabel) -> None:
        self.counter = Counter(
            "tunewatch_refusal_verdicts_total",
            "Refusal-classifier verdicts by source (traffic, probe), category and verdict "
            "(refused, complied, unscoreable).",
            ["source", "category", "verdict"],
            registry=registry,
        )
        self._category = category_label

    def source(self, source: str) -> VerdictCounter:
        return VerdictCounter(self, source)

    def inc(self, source: str, category: str, verdict: str, amount: int = 1) -> None:
        label = verdict if verdict in VERDICTS else OTHER
        self.counter.labels(source=source, category=self._category(category),
                            verdict=label).inc(amount)


class VerdictCounter:
    """The verdict counter of one source."""

    def __init__(self, family: RefusalVerdicts, source: str) -> None:
        self._family = family
        self.source = source

    def inc(self, category: str, verdict: str, amount: int = 1) -> None:
        self._family.inc(self.source, category, verdict, amount)
