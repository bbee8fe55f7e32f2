"""The evidence pack attached to a ticket.

What changed (before/after), baseline versus current probe failure rates per category with 95%
Wilson intervals (the latest successful probe run, when the probes have written one) with the
detector that found each regression (``detected_by``), the probe CUSUM state, the paired
comparison with the base model (pair counts, state) and the epoch (deployment fingerprint) the
sequential evidence covers with its coverage of the category, a report
excerpt of the latest probe run, redacted example transcripts (only when the daemon retains redacted
text), the state of every hosted detector (a detector-host snapshot: traffic drift and refusal-rate
detectors and the probe CUSUMs), dashboard links, and the alert that fired (for Alertmanager
triggers). Nothing here holds unredacted text.

>>> rate_with_ci(8, 10)
{'rate': 0.8, 'ci95': [0.4902, 0.9433], 'failed': 8, 'n': 10}
>>> rate_with_ci(0, 0)
{'rate': None, 'ci95': [None, None], 'failed': 0, 'n': 0}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from detectors.stats import wilson_interval
from monitor.analysis.redaction import Redactor
from monitor.analysis.samples import Transcript
from monitor.detection.host import Snapshot
from monitor.probes.store import ProbeRunRecord
from monitor.triggers.model import TriggerEvent

log = logging.getLogger("tunewatch.triggers")
DASHBOARDS = {"governance": "tunewatch-governance", "safety": "tunewatch-safety",
              "drift": "tunewatch-drift"}
MAX_TRANSCRIPT_CHARS = 280


def detected_by(test: bool, cusum: bool, paired: bool = False) -> list[str]:
    """Which detector found a probe category regressed: the per-run exact test against the
    baseline (Fisher with Holm's correction), the probe refusal CUSUM against the baseline, which
    accumulates evidence across runs (each unit once per epoch) and may alarm on a run the
    per-run test alone does not reject, and/or the paired test against the base model.

    >>> detected_by(True, False), detected_by(False, True), detected_by(False, False, True)
    (['fisher_holm'], ['cusum'], ['paired'])
    """
    return [name for name, hit in (("fisher_holm", test), ("cusum", cusum), ("paired", paired))
            if hit]


def rate_with_ci(k: int, n: int) -> dict[str, Any]:
    """Failure rate of ``k`` in ``n`` with its 95% Wilson interval, rounded to 4 places (``None``
    without units)."""
    if n <= 0:
        return {"rate": None, "ci95": [None, None], "failed": k, "n": n}
    p, lo, hi = wilson_interval(k, n)
    return {"rate": round(p, 4), "ci95": [round(lo, 4), round(hi, 4)], "failed": k, "n": n}


def probes_evidence(run: ProbeRunRecord) -> dict[str, Any]:
    """A stored probe run as the ``probes`` part of the evidence: per category the current and
    baseline failure rates with 95% Wilson intervals, the adjusted p, the regression flag, the
    CUSUM state and which detector found it."""
    cats: dict[str, Any] = {}
    for cat, s in sorted(run.summary.items()):
        n = int(s.get("passed", 0)) + int(s.get("failed", 0))
        entry: dict[str, Any] = {"current": rate_with_ci(int(s.get("failed", 0)), n),
                                 "unscoreable": s.get("unscoreable", 0),
                                 "regression": bool(s.get("regression", False)),
                                 "p_adjusted": s.get("p_adjusted")}
        if s.get("baseline_n"):
            entry["baseline"] = rate_with_ci(int(s["baseline_failed"]), int(s["baseline_n"]))
        if s.get("cusum"):
            entry["cusum"] = s["cusum"]
        # which epoch (deployment fingerprint) the sequential evidence covers, its coverage of
        # the category, and the paired comparison with the base model
        for key in ("coverage", "paired"):
            if s.get(key):
                entry[key] = s[key]
        # the current epoch's refusal rate corrected for the judge's error (docs/refusal.md)
        corrected = (s.get("ledger") or {}).get("corrected_rate")
        if corrected:
            entry["corrected_refusal_rate"] = corrected
        found = ((s.get("ledger") or {}).get("evidence")
                 or (s.get("paired") or {}).get("evidence"))
        if found:
            entry["evidence"] = found
        entry["detected_by"] = detected_by(entry["regression"],
                                           bool((s.get("cusum") or {}).get("drift")),
                                           bool((s.get("paired") or {}).get("drift")))
        cats[cat] = entry
    epochs = sorted({str(s["epoch"]) for s in run.summary.values() if s.get("epoch")})
    return {"run_id": run.run_id, "ended_at": run.ended_at, "suite": run.suite_name,
            "suite_hash": run.suite_hash, "baseline_run_id": run.baseline_run_id,
            "attempts": run.attempts, "regressions": run.regressions,
            **({"epoch": epochs[0]} if len(epochs) == 1 else {}), "categories": cats}


@dataclass(frozen=True)
class EvidenceSources:
    """Where the evidence comes from, each read through the module that owns it (``None``: the
    component is not running): the latest successful probe run
    (:meth:`monitor.probes.store.ProbeStore.latest_ok`), recent retained transcripts
    (:meth:`monitor.analysis.samples.SampleStore.recent_transcripts`) and the detector host's
    snapshot (:meth:`monitor.detection.host.DetectorHost.snapshot`)."""

    probe_run: Callable[[], ProbeRunRecord | None] | None = None
    transcripts: Callable[[int], Sequence[Transcript]] | None = None
    detectors: Callable[[], Mapping[str, Snapshot]] | None = None


class EvidenceBuilder:
    def __init__(self, *, sources: EvidenceSources, dashboard_url: str | None,
                 clock: Callable[[], float], on_error: Callable[[], None] = lambda: None,
                 redactor: Redactor | None = None, max_transcripts: int = 3) -> None:
        self._sources = sources
        self._dashboard_url = dashboard_url
        self._clock = clock
        self._on_error = on_error
        self._redactor = redactor or Redactor()
        self._max_transcripts = max_transcripts

    def build(self, event: TriggerEvent) -> dict[str, Any]:
        now = self._clock()
        ev: dict[str, Any] = {"raised_at": now, "source": event.source,
                              "what_changed": dict(event.what_changed)}
        if event.context.get("alert"):
            ev["alert"] = event.context["alert"]
        parts: tuple[tuple[str, Callable[[], Any]], ...] = (
            ("probes", self.probes), ("transcripts", self.transcripts),
            ("detectors", self.detectors))
        for name, fn in parts:
            try:
                ev[name] = fn()
            except Exception as exc:  # the ticket still opens; the gap is visible and counted
                self._on_error()
                log.exception("evidence part %s failed", name)
                ev[name] = {"error": type(exc).__name__}
        ev["links"] = self.links(now, event)
        return ev

    # -- parts ---------------------------------------------------------------------------------
    def probes(self) -> dict[str, Any]:
        run = self._sources.probe_run() if self._sources.probe_run is not None else None
        return {} if run is None else probes_evidence(run)

    def transcripts(self) -> list[dict[str, Any]]:
        if self._sources.transcripts is None:
            return []
        return [{"ts": t.ts, "model": t.model, "verdict": t.verdict,
                 "prompt": self._clip(t.prompt), "response": self._clip(t.response)}
                for t in self._sources.transcripts(self._max_transcripts)]

    def _clip(self, text: str) -> str:
        text = self._redactor(text).text  # stored text is redacted already; be safe twice
        text = " ".join(text.split())
        return text if len(text) <= MAX_TRANSCRIPT_CHARS else text[:MAX_TRANSCRIPT_CHARS] + "…"

    def detectors(self) -> dict[str, dict[str, Any]]:
        """Every hosted detector's state by name (NaN/Inf become null: JSON has neither)."""
        if self._sources.detectors is None:
            return {}
        return {name: snap.as_dict() for name, snap in self._sources.detectors().items()}

    def links(self, now: float, event: TriggerEvent) -> dict[str, str]:
        links: dict[str, str] = {}
        if self._dashboard_url:
            q = urlencode({"from": int((now - 6 * 3600) * 1000), "to": int((now + 900) * 1000)})
            pick = {"drift": ("drift", "governance"),
                    "alignment_regression": ("safety", "governance")}.get(event.type,
                                                                           ("governance",))
            for name in pick:
                links[f"{name} dashboard"] = f"{self._dashboard_url}/d/{DASHBOARDS[name]}?{q}"
        alert = event.context.get("alert") or {}
        if alert.get("annotations", {}).get("runbook_url"):
            links["runbook"] = alert["annotations"]["runbook_url"]
        if alert.get("generatorURL"):
            links["prometheus"] = alert["generatorURL"]
        return links
