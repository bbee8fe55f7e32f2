"""ADWIN drift on scalar features of sampled traffic: prompt length, response length, latency."""

from __future__ import annotations

from collections.abc import Sequence

from detectors.features import scalar_features
from monitor.analysis.pipeline import Processed
from monitor.detection.host import DetectorHost
from monitor.detection.state import StateTable


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
