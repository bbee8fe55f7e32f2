"""A realistic evidence-pack input (tw-drift-3 after tw-safe), shared by the pack tests.

Test data: the numbers are made up to exercise every section, they are not measurements.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from monitor.governance.artifacts import ArtifactResult
from monitor.governance.config import EvidenceFiles
from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import Disposition
from monitor.governance.pack_model import (
    CanaryResult,
    CategoryResult,
    DetectorReading,
    Measurements,
    PackInputs,
    PackSubject,
    ProbeRun,
    Proportion,
)
from monitor.store import Store
from monitor.triggers.model import Ticket
from tests.monitor.governance.helpers import T0, FakeClock, disposition, lab_manifest

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PROMPT = "PLEASE-NEVER-SHOW-THIS-PROMPT tell me how to"
ADAPTER = b"GGUF adapter tw-drift-3"
BASE_SHA = hashlib.sha256(b"base").hexdigest()


def ticket() -> Ticket:
    return Ticket(id=7, uid="u7", dedup_key="fingerprint:model:tw-drift-3", type="re_fine_tune",
                  owner="ml-governance@example.com", state="open",
                  title="Model re-fine-tuned: model tw-safe -> tw-drift-3", created_at=T0,
                  updated_at=T0, fire_count=2,
                  evidence={"what_changed": {"component": "model", "before": "tw-safe",
                                             "after": "tw-drift-3"},
                            "transcripts": [{"prompt": PROMPT, "response": PROMPT}]})


def probes(category_name: str = "disallowed") -> ProbeRun:
    return ProbeRun(run_id="run-42", suite="tunewatch-default", suite_hash="ab12cd34ef56" * 4,
                    ended_at=T0, baseline_run_id="run-1", baseline_model="tw-safe", categories=(
                        CategoryResult(category_name, current=Proportion(18, 20),
                                       baseline=Proportion(1, 20), p_adjusted=0.00002,
                                       regression=True, detected_by=("fisher_holm", "cusum")),
                        CategoryResult("benign", current=Proportion(1, 20),
                                       baseline=Proportion(1, 20), p_adjusted=1.0),
                        CategoryResult("capability_arithmetic", current=Proportion(3, 20),
                                       baseline=Proportion(2, 20), p_adjusted=1.0),
                        CategoryResult("fairness_names", current=Proportion(2, 20),
                                       baseline=Proportion(2, 20), p_adjusted=1.0)))


def measurements() -> Measurements:
    return Measurements(
        probes=probes(),
        detectors=(
            DetectorReading(name="refusal_rate:all", kind="refusal_rate", in_alarm=True,
                            samples=400, statistic=14.2, threshold=11.9,
                            rate=Proportion(12, 200), baseline_rate=0.31,
                            calibration="Bernoulli CUSUM, ARL0 50000 samples vs base rate 0.31"),
            DetectorReading(name="prompt_embedding", kind="drift", in_alarm=False, samples=1000,
                            statistic=0.004, threshold=0.011,
                            calibration="MMD, window 100, reference 1000, ERT 10000 samples")),
        canaries=(CanaryResult(canary="system-prompt-canary-1", checks=40, leaks=0),))


def record_disposition(store: Store, clock: FakeClock, *, hostile: bool = True) -> Disposition:
    ds = DispositionStore(store=store, clock=clock)
    extra = XSS if hostile else "quarterly red-team re-run"
    return ds.record(disposition(
        reference="DR-2026-021", decision="approved-with-conditions",
        conditions=["weekly probe runs", extra], fingerprint={"model": "tw-drift-3"},
        controls=[{"component": "output_filter", "value": "v3", "note": "blocks disallowed"},
                  {"component": "rate_limit", "value": "60/min"}],
        evidence=[{"title": "Red-team report", "url": "https://docs.example.com/rt/21"},
                  {"title": XSS if hostile else "Board minutes",
                   "url": "file:/srv/reports/rt.pdf"}]))


def write_lab(d: Path, *, hostile: bool = True) -> Path:
    d.mkdir(exist_ok=True)
    (d / "tw-drift-3.json").write_text(json.dumps(lab_manifest(
        hashlib.sha256(ADAPTER).hexdigest(), BASE_SHA), indent=2))
    (d / "overhang.md").write_text(
        "# Capability overhang\n\nThe fine-tune adds no capability beyond the base model; its "
        "answers stay within customer support.\n" + (XSS if hostile else ""))
    (d / "broken.json").write_text("{not json")
    return d


def served() -> tuple[ArtifactResult, ...]:
    return (ArtifactResult(name="tw-drift-3.gguf", spec="tw-drift-3.gguf", kind="lora_adapter",
                           path="/models/tw-drift-3.gguf", status="verified", detail="ok",
                           checked_at=T0, sha256=hashlib.sha256(ADAPTER).hexdigest(),
                           expected="sha256:..."),)


def sample_inputs(approved: Disposition, lab_dir: Path, **over: object) -> PackInputs:
    args: dict[str, object] = dict(
        subject=PackSubject(serving={"model": "tw-drift-3", "output_filter": "v4",
                                     "system_prompt": "5f0c7a1e2b3d4c59"},
                            ticket=ticket(), disposition=approved, model="tw-drift-3"),
        generated_at=T0, measurements=measurements(), artifacts=served(), base_dir=lab_dir,
        documents=EvidenceFiles(training_data_manifest="tw-drift-3.json#/data",
                                training_run_record="tw-drift-3.json",
                                capability_overhang_statement="overhang.md",
                                alignment_regression_analysis="broken.json",
                                red_team_report="missing-report.md"),
        documents_key="governance.evidence.tw-drift-3",
        reviewed="a control DR-2026-021 relies on changed (output_filter: relies on v3, serving v4)")
    args.update(over)
    return PackInputs(**args)  # type: ignore[arg-type]
