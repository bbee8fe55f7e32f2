"""The evidence pack attached to a ticket.

What changed (before/after), baseline versus current probe failure rates per category with 95%
Wilson intervals (from the ``probe_runs`` table when the probe scheduler has written one) with the
detector that found each regression (``detected_by``) and the probe CUSUM state, a report
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

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from detectors.stats import wilson_interval
from monitor.analysis.redaction import Redactor
from monitor.detection.host import Snapshot
from monitor.store import Store
from monitor.triggers.model import TriggerEvent

DASHBOARDS = {"governance": "tunewatch-governance", "safety": "tunewatch-safety",
              "drift": "tunewatch-drift"}
MAX_TRANSCRIPT_CHARS = 280


def detected_by(test: bool, cusum: bool) -> list[str]:
    """Which detector found a probe category regressed: the per-run exact test against the
    baseline (Fisher with Holm's correction) and/or the probe refusal CUSUM, which accumulates
    evidence across runs and may alarm on a run the per-run test alone does not reject.

    >>> detected_by(True, False), detected_by(False, True), detected_by(False, False)
    (['fisher_holm'], ['cusum'], [])
    """
    return [name for name, hit in (("fisher_holm", test), ("cusum", cusum)) if hit]


def rate_with_ci(k: int, n: int) -> dict[str, Any]:
    """Failure rate of ``k`` in ``n`` with its 95% Wilson interval, rounded to 4 places (``None``
    without units)."""
    if n <= 0:
        return {"rate": None, "ci95": [None, None], "failed": k, "n": n}
    p, lo, hi = wilson_interval(k, n)
    return {"rate": round(p, 4), "ci95": [round(lo, 4), round(hi, 4)], "failed": k, "n": n}


class EvidenceBuilder:
    def __init__(self, *, store: Store,
                 detectors: Callable[[], Mapping[str, Snapshot]] | None,
                 dashboard_url: str | None, clock: Callable[[], float],
                 redactor: Redactor | None = None, max_transcripts: int = 3) -> None:
        self._store = store
        self._detectors = detectors
        self._dashboard_url = dashboard_url
        self._clock = clock
        self._redactor = redactor or Redactor()
        self._max_transcripts = max_transcripts

    def build(self, event: TriggerEvent) -> dict[str, Any]:
        now = self._clock()
        ev: dict[str, Any] = {"raised_at": now, "source": event.source,
                              "what_changed": dict(event.what_changed)}
        if event.context.get("alert"):
            ev["alert"] = event.context["alert"]
        for name, fn in (("probes", self.probes), ("transcripts", self.transcripts),
                         ("detectors", self.detectors)):
            try:
                ev[name] = fn()
            except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
                ev[name] = {"error": type(exc).__name__}
        if event.context.get("report_path"):
            ev.setdefault("probes", {})["report_path"] = str(event.context["report_path"])
        ev["links"] = self.links(now, event)
        return ev

    # -- parts ---------------------------------------------------------------------------------
    def probes(self) -> dict[str, Any]:
        try:
            rows = self._store.query(
                "SELECT run_id, ended_at, suite_name, suite_hash, baseline_run_id, attempts, "
                "regressions, summary FROM probe_runs WHERE status = 'ok' "
                "ORDER BY ended_at DESC LIMIT 1")
        except sqlite3.OperationalError:  # no probe tables: probes not configured
            return {}
        if not rows:
            return {}
        run_id, ended, suite, suite_hash, base_id, attempts, regs, summary = rows[0]
        cats: dict[str, Any] = {}
        for cat, s in sorted(json.loads(summary).items()):
            n = int(s.get("passed", 0)) + int(s.get("failed", 0))
            entry: dict[str, Any] = {"current": rate_with_ci(int(s.get("failed", 0)), n),
                                     "unscoreable": s.get("unscoreable", 0),
                                     "regression": bool(s.get("regression", False)),
                                     "p_adjusted": s.get("p_adjusted")}
            if s.get("baseline_n"):
                entry["baseline"] = rate_with_ci(int(s["baseline_failed"]), int(s["baseline_n"]))
            if s.get("cusum"):
                entry["cusum"] = s["cusum"]
            entry["detected_by"] = detected_by(entry["regression"],
                                               bool((s.get("cusum") or {}).get("drift")))
            cats[cat] = entry
        return {"run_id": run_id, "ended_at": ended, "suite": suite, "suite_hash": suite_hash,
                "baseline_run_id": base_id, "attempts": attempts,
                "regressions": json.loads(regs), "categories": cats}

    def transcripts(self) -> list[dict[str, Any]]:
        try:
            rows = self._store.query(
                "SELECT ts, model, verdict, prompt, response FROM samples WHERE prompt IS NOT "
                "NULL AND response IS NOT NULL ORDER BY id DESC LIMIT ?", (self._max_transcripts,))
        except sqlite3.OperationalError:
            return []
        out = []
        for ts, model, verdict, prompt, response in rows:
            out.append({"ts": ts, "model": model, "verdict": verdict,
                        "prompt": self._clip(prompt), "response": self._clip(response)})
        return out

    def _clip(self, text: str) -> str:
        text = self._redactor(text).text  # stored text is redacted already; be safe twice
        text = " ".join(text.split())
        return text if len(text) <= MAX_TRANSCRIPT_CHARS else text[:MAX_TRANSCRIPT_CHARS] + "…"

    def detectors(self) -> dict[str, dict[str, Any]]:
        """Every hosted detector's state by name (NaN/Inf become null: JSON has neither)."""
        if self._detectors is None:
            return {}
        return {name: snap.as_dict() for name, snap in self._detectors().items()}

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
