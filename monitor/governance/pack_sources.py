"""Fill the evidence pack's inputs from the daemon's real sources, and render it.

Each source is read through the module that owns it:

- the detector host's snapshot (:meth:`monitor.detection.host.DetectorHost.snapshot`), each
  detector with its calibration, taken from the detector's own ``state_dict()`` (kind and
  configuration: ARL0 of a CUSUM, ERT and window of an MMD test, ...) and, for refusal-rate
  CUSUMs, the refusals counted since the last reset;
- the probe store (:mod:`monitor.probes.store`): the latest successful run, or the run a ticket's
  evidence names when that one is newer; its canary checks (attempts scored by canary detection,
  per category);
- the artefact verifier's results, the review state's reason line and the serving fingerprint;
- the lab's documents configured per model version (``governance.evidence.<model>``, else
  ``governance.evidence.default``), read from ``governance.evidence_dir``.

A source the daemon does not run (probes disabled: no probe store) is ``None`` and shows in the
pack's *Missing pieces*; a source that fails is logged and shown the same way, never a crash.

>>> from monitor.governance.config import GovernanceSettings
>>> src = PackSources(settings=GovernanceSettings(), serving=lambda: {"model": "tw-safe"},
...                   review_reason=lambda: "no disposition covers the serving deployment",
...                   artifacts=list, clock=lambda: 0.0)
>>> text = src.render_serving("md")
>>> "Pack for the serving deployment" in text and "no probe run recorded" in text
True
>>> calibration_text({"kind": "bernoulli_cusum", "config": {"p0": 0.5, "p1": 0.25,
...                   "arl0": 50000.0, "resolution": 20, "reference_id": None}})
'bernoulli_cusum: p0=0.5, p1=0.25, arl0=5e+04, resolution=20'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from monitor.detection.host import DetectorHost
from monitor.governance.artifacts import ArtifactResult
from monitor.governance.config import GovernanceSettings
from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import Disposition
from monitor.governance.pack import build_pack, probe_run_from_evidence
from monitor.governance.pack_model import (
    CanaryResult,
    DetectorReading,
    Measurements,
    PackInputs,
    PackSubject,
    ProbeRun,
    Proportion,
)
from monitor.governance.pack_render import render
from monitor.probes.store import ProbeStore
from monitor.triggers.evidence import probes_evidence
from monitor.triggers.model import Ticket

log = logging.getLogger("tunewatch.governance.pack")

PackFormat = Literal["html", "md"]
_SKIP_CONFIG = ("reference_sha256", "reference_id", "dim")


def calibration_text(state: Mapping[str, Any]) -> str:
    """How a detector's threshold was set, from its ``state_dict()``: kind and scalar config."""
    config = state.get("config") or {}
    parts = []
    for key, value in config.items():
        if key in _SKIP_CONFIG or value is None or isinstance(value, dict | list):
            continue
        parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return f"{state.get('kind', 'detector')}: " + ", ".join(parts) if parts else str(
        state.get("kind", "detector"))


def detector_readings(host: DetectorHost) -> tuple[DetectorReading, ...]:
    """Every hosted detector (traffic drift and refusal rate, probe CUSUMs) for the pack."""
    out = []
    for name, snap in host.snapshot().items():
        state = host.state_dict(name)
        refusal = snap.info.family == "refusal_rate"
        rate = None
        if refusal and isinstance(state.get("k"), int) and isinstance(state.get("n"), int):
            rate = Proportion(int(state["k"]), int(state["n"]))
        out.append(DetectorReading(
            name=name, kind="refusal_rate" if refusal else "drift", in_alarm=snap.state.drift,
            samples=snap.state.n, calibration=calibration_text(state),
            statistic=snap.state.statistic, threshold=snap.state.threshold, rate=rate,
            baseline_rate=snap.info.baseline_rate))
    return tuple(out)


@dataclass(frozen=True)
class PackSources:
    settings: GovernanceSettings
    serving: Callable[[], Mapping[str, str]]
    review_reason: Callable[[], str]
    artifacts: Callable[[], Sequence[ArtifactResult]]
    host: DetectorHost | None = None
    probes: ProbeStore | None = None  # None: the probes are not running on this daemon
    dispositions: DispositionStore | None = None  # a ticket's pack shows the one answering it
    clock: Callable[[], float] = time.time

    # -- inputs ----------------------------------------------------------------------------------
    def inputs(self, subject: PackSubject, *, evidence_probes: Mapping[str, Any] | None = None
               ) -> PackInputs:
        model = subject.model or subject.serving.get("model")
        documents_key = ("governance.evidence." + (model if model in self.settings.evidence
                                                   else "default" if "default" in
                                                   self.settings.evidence
                                                   else model or "<model>"))
        run = self._probe_run(evidence_probes)
        return PackInputs(
            subject=subject, generated_at=self.clock(),
            measurements=Measurements(probes=run, detectors=self._detectors(),
                                      canaries=self._canaries(run)),
            artifacts=tuple(self.artifacts()),
            documents=self.settings.evidence_for(model), documents_key=documents_key,
            base_dir=self.settings.evidence_dir or Path("."),
            reviewed=self.review_reason())

    def _detectors(self) -> tuple[DetectorReading, ...] | None:
        if self.host is None:
            return None
        try:
            return detector_readings(self.host)
        except Exception:  # shown as missing in the pack
            log.exception("reading the detectors for the evidence pack failed")
            return None

    def _probe_run(self, evidence_probes: Mapping[str, Any] | None) -> ProbeRun | None:
        """The newer of the ticket's evidence run and the store's latest successful run."""
        candidates = []
        try:
            candidates.append(probe_run_from_evidence(evidence_probes))
        except (TypeError, ValueError, KeyError, AttributeError):
            log.warning("a ticket's probe evidence could not be read for its pack")
        if self.probes is not None:
            try:
                latest = self.probes.latest_ok()
                if latest is not None:
                    candidates.append(probe_run_from_evidence(probes_evidence(latest)))
            except Exception:
                log.exception("reading the latest probe run for the evidence pack failed")
        runs = [r for r in candidates if r is not None]
        return max(runs, key=lambda r: r.ended_at) if runs else None

    def _canaries(self, run: ProbeRun | None) -> tuple[CanaryResult, ...] | None:
        if run is None or self.probes is None:
            return None
        try:
            tallies = self.probes.canary_tallies(run.run_id)
        except Exception:
            log.exception("reading the canary checks for the evidence pack failed")
            return None
        if not tallies:
            return None
        return tuple(CanaryResult(canary=cat, checks=n, leaks=leaks)
                     for cat, (n, leaks) in tallies.items())

    # -- subjects --------------------------------------------------------------------------------
    def for_disposition(self, d: Disposition) -> PackInputs:
        models = d.fingerprint.get("model") or ()
        return self.inputs(PackSubject(serving=dict(self.serving()), disposition=d,
                                       model=models[0] if models else None))

    def for_ticket(self, ticket: Ticket, disposition: Disposition | None = None) -> PackInputs:
        evidence = ticket.evidence or {}
        changed = evidence.get("what_changed") or {}
        model = changed.get("after") if changed.get("component") == "model" else None
        probes = evidence.get("probes")
        return self.inputs(PackSubject(serving=dict(self.serving()), ticket=ticket,
                                       disposition=disposition,
                                       model=model if isinstance(model, str) else None),
                           evidence_probes=probes if isinstance(probes, Mapping) else None)

    # -- rendering -------------------------------------------------------------------------------
    def render_disposition(self, d: Disposition, fmt: PackFormat) -> str:
        return render(build_pack(self.for_disposition(d)), fmt)

    def render_ticket(self, ticket: Ticket, fmt: PackFormat) -> str:
        answering = self.dispositions.for_ticket(ticket.ref) if self.dispositions else []
        return render(build_pack(self.for_ticket(ticket, answering[-1] if answering else None)),
                      fmt)

    def render_serving(self, fmt: PackFormat) -> str:
        return render(build_pack(self.inputs(PackSubject(serving=dict(self.serving())))), fmt)
