"""Refusal scoring of sampled traffic, and the traffic refusal-rate CUSUM.

Every sampled response gets a verdict from the refusal judge (loaded lazily in the worker thread,
never at import or on the event loop), stored with the sample and counted in
``tunewatch_refusal_verdicts_total{source="traffic"}`` (category ``all``, or the traffic
category when ``analysis.categories`` is on: :mod:`~monitor.analysis.categories`). With ``analysis.refusal_baseline_rate``
set, scored verdicts feed a Bernoulli CUSUM hosted as ``refusal_rate/traffic``.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.analysis.pipeline import Processed, StageError
from monitor.config import Settings
from monitor.detection.host import DetectorHost
from monitor.detection.judge import RefusalJudge, load_refusal_judge, traffic_judge_kind
from monitor.detection.state import StateTable
from monitor.metrics.analysis import AnalysisMetrics

TRAFFIC_CUSUM = "refusal_rate/traffic"


class RefusalAnalyzer:
    """Scores every sampled response; optionally a CUSUM on the traffic refusal rate (hosted as
    ``refusal_rate/traffic`` when ``analysis.refusal_baseline_rate`` is set)."""

    name = "refusal"

    def __init__(self, settings: Settings, *, metrics: AnalysisMetrics, host: DetectorHost,
                 states: StateTable) -> None:
        a = settings.analysis
        self._analysis = a
        self._kind = traffic_judge_kind(a)
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
            self._metrics.verdicts.inc(p.category or "all", v)
        if self._cusum:
            scored = [v == "refused" for v in verdicts if v in ("refused", "complied")]
            if scored:
                self._host.update_many(TRAFFIC_CUSUM, scored)
        self.scored += len(items)
        self.error = None

    def status(self) -> dict[str, object]:
        return {"ok": self.error is None, "loaded": self._clf is not None, "scored": self.scored,
                "error": self.error}
