"""monitor/governance/pack_sources.py: the pack filled from a real detector host, a real probe
store (latest run, canary checks, a ticket's own run when newer) and the configured documents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detectors.cusum import BernoulliCusum
from detectors.mmd import EmbeddingDriftDetector
from monitor.detection.host import DetectorHost
from monitor.governance.config import GovernanceSettings
from monitor.governance.disposition_store import DispositionStore
from monitor.governance.pack import build_pack
from monitor.governance.pack_model import PackSubject
from monitor.governance.pack_sources import PackSources, detector_readings
from monitor.probes.attempt import Attempt, ScoredAttempt
from monitor.probes.store import ProbeStore
from monitor.store import Store
from monitor.triggers.evidence import probes_evidence
from monitor.triggers.model import Ticket
from tests.monitor.governance.helpers import FakeClock, disposition


def _host() -> DetectorHost:
    host = DetectorHost(clock=lambda: 1.0)
    ref = np.random.default_rng(0).normal(size=(40, 4))
    host.add_drift("prompt_embedding", EmbeddingDriftDetector(
        reference=ref, reference_id="ref-1", window=10, ert=1000, threshold=0.5))
    host.update_many("prompt_embedding", ref[:15])
    host.add_refusal_rate("refusal_rate/traffic", BernoulliCusum(p0=0.5, p1=0.25, arl0=100),
                          source="traffic", category="all", baseline_rate=0.5)
    host.update_many("refusal_rate/traffic", [True, False, False, False] * 5)
    return host


def _attempt(probe: str, category: str, outcome: str, detail: str) -> ScoredAttempt:
    return ScoredAttempt(Attempt(probe_id=probe, category=category, repeat=0, text=None),
                         outcome, None, detail)  # type: ignore[arg-type]


def _run(runs: ProbeStore, run_id: str, ended: float, failed: int) -> None:
    attempts = [_attempt(f"inj-{i}", "injection", "fail" if i < failed else "pass",
                         "canary:exact" if i < failed else "canary:none") for i in range(10)]
    attempts.append(_attempt("inj-x", "injection", "unscoreable", "canary:none"))
    attempts.append(_attempt("dis-0", "disallowed", "pass", "refused"))
    runs.record_success(
        run_id=run_id, started=ended - 5, ended=ended, suite_name="default", suite_hash="h" * 12,
        baseline_run_id="base", regressions=["injection"] if failed > 2 else [],
        summary={"injection": {"passed": 10 - failed, "failed": failed, "unscoreable": 1,
                               "baseline_failed": 1, "baseline_n": 10, "p_adjusted": 0.01,
                               "regression": failed > 2},
                 "disallowed": {"passed": 1, "failed": 0, "unscoreable": 0}},
        attempts=attempts, rotation_offset=0, state={})


def test_detectors_carry_their_calibration_and_refusal_counts() -> None:
    readings = {r.name: r for r in detector_readings(_host())}
    cusum = readings["refusal_rate/traffic"]
    assert cusum.kind == "refusal_rate" and cusum.samples == 20
    assert cusum.rate is not None and (cusum.rate.k, cusum.rate.n) == (5, 20)
    assert cusum.calibration == "bernoulli_cusum: p0=0.5, p1=0.25, arl0=100, resolution=20"
    assert cusum.baseline_rate == 0.5 and cusum.threshold is not None
    mmd = readings["prompt_embedding"]
    assert mmd.kind == "drift" and mmd.rate is None and mmd.samples == 15
    assert mmd.calibration.startswith("mmd_rbf: ") and "window=10" in mmd.calibration
    assert "ert=1000" in mmd.calibration and "reference_sha256" not in mmd.calibration


def test_the_pack_is_filled_from_the_stores(tmp_path: Path, store: Store,
                                            clock: FakeClock) -> None:
    runs = ProbeStore(store)
    _run(runs, "r1", 100.0, failed=1)
    _run(runs, "r2", 200.0, failed=6)
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "tw-drift-3.json").write_text(json.dumps({"alias": "tw-drift-3", "parent": "tw-safe",
                                                     "heldout": {"benign_refused": 0.02}}))
    settings = GovernanceSettings(evidence_dir=lab, evidence={"tw-drift-3": {
        "training_run_record": "tw-drift-3.json",
        "evaluation_results": "tw-drift-3.json#/heldout"}})
    ds = DispositionStore(store=store, clock=clock)
    src = PackSources(settings=settings, serving=lambda: {"model": "tw-drift-3"},
                      review_reason=lambda: "no disposition covers the serving deployment",
                      artifacts=list, host=_host(), probes=runs, dispositions=ds, clock=clock)
    ticket = Ticket(id=4, uid="u4", dedup_key="fingerprint:model:tw-drift-3", type="re_fine_tune",
                    owner="gov", state="open", title="Model re-fine-tuned", created_at=0.0,
                    updated_at=0.0, fire_count=1, evidence={
                        "what_changed": {"component": "model", "before": "tw-safe",
                                         "after": "tw-drift-3"},
                        "probes": probes_evidence(runs.latest_ok())})  # type: ignore[arg-type]
    inputs = src.for_ticket(ticket)
    run = inputs.measurements.probes
    assert run is not None and run.run_id == "r2"
    [inj] = [c for c in run.categories if c.category == "injection"]
    assert (inj.current.k, inj.current.n, inj.regression) == (6, 10, True)
    [canary] = inputs.measurements.canaries or ()
    assert (canary.canary, canary.checks, canary.leaks) == ("injection", 10, 6)  # unscoreable out
    assert inputs.documents.training_run_record == "tw-drift-3.json"
    assert inputs.documents_key == "governance.evidence.tw-drift-3"
    doc = build_pack(inputs)
    missing = {m.what for m in doc.missing}
    assert "Training-run record" not in missing and "Lab evaluation against the base model" \
        not in missing
    assert {"Training-data manifest", "Red-team report", "Disposition"} <= missing
    assert "Traffic detectors" not in missing and "Canary leaks" not in missing
    # a newer run in the ticket's own evidence wins over the store's latest
    newer = {**probes_evidence(runs.latest_ok()), "run_id": "r9",  # type: ignore[arg-type]
             "ended_at": 900.0}
    t2 = Ticket(**{**ticket.__dict__, "evidence": {**ticket.evidence, "probes": newer}})
    assert src.for_ticket(t2).measurements.probes.run_id == "r9"  # type: ignore[union-attr]
    # once a disposition answers the ticket, its pack shows it
    ds.record(disposition(fingerprint={"model": "tw-drift-3"}, tickets=["TW-4"]))
    page = src.render_ticket(ticket, "md")
    assert "Disposition DR-2026-014 (record 1)" in page and "Ticket TW-4" in page
    assert "none recorded for this ticket" not in page


def test_a_daemon_without_probes_or_host_lists_them_as_missing(clock: FakeClock) -> None:
    src = PackSources(settings=GovernanceSettings(), serving=lambda: {"model": "tw-safe"},
                      review_reason=lambda: "reviewed", artifacts=list, clock=clock)
    doc = build_pack(src.inputs(PackSubject(serving={"model": "tw-safe"})))
    missing = {m.what: m.why for m in doc.missing}
    assert missing["Probe results"] == "no probe run recorded"
    assert missing["Traffic detectors"] == "no detector state available"
    assert missing["Canary leaks"] == "no canary checks recorded"
    assert missing["Training-run record"] == (
        "not configured (governance.evidence.tw-safe.training_run_record)")
