"""The governance blocks wired together the way docs/governance.md tells the lead to wire them,
with the real FingerprintTracker and TriggerService on one SQLite file (no daemon, no model):
tw-safe approved -> tw-drift-3 served -> ticket -> pack -> ack refused -> disposition -> ack ->
quiet again; then an output-filter change and a tampered adapter raise their own tickets."""

from __future__ import annotations

import hashlib
import os
import random
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from monitor.analysis.fingerprint import FingerprintTracker
from monitor.governance.ack import plan_ack
from monitor.governance.artifacts import ArtifactVerifier
from monitor.governance.config import ArtifactSpec
from monitor.governance.disposition_store import DispositionStore
from monitor.governance.pack import build_pack
from monitor.governance.pack_model import PackInputs, PackSubject
from monitor.governance.pack_render import render
from monitor.governance.review import ReviewState
from monitor.metrics import Metrics
from monitor.store import Store
from monitor.triggers.config import TriggerSettings
from monitor.triggers.service import TriggerService
from tests.monitor.governance.helpers import FakeClock

PROMPT_HASH = "5f0c7a1e2b3d4c59"


def test_the_loop(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    adapter = tmp_path / "tw-drift-3.gguf"
    adapter.write_bytes(b"adapter v1")
    tracker = FingerprintTracker(metrics=metrics.deployment, store=store, clock=clock)
    triggers = TriggerService(settings=TriggerSettings(owners={"default": "gov@example.com"}),
                              store=store, metrics=metrics.triggers, clock=clock,
                              rng=random.Random(3), fingerprint=tracker)
    dispositions = DispositionStore(store=store, clock=clock)
    review = ReviewState(dispositions=dispositions, store=store, clock=clock)
    verifier = ArtifactVerifier(specs=[ArtifactSpec(
        path=str(adapter), kind="lora_adapter",
        sha256=hashlib.sha256(b"adapter v1").hexdigest())], store=store, clock=clock)
    registry.register(review.collector())
    registry.register(verifier.collector())

    def serving() -> dict[str, str]:
        return {**tracker.current(), **verifier.components()}

    # the wiring (docs/governance.md, Integration). The review state must hear of every change
    # of a *current* value, a return to a known value included; today's tracker notifies only
    # never-seen values, so observe() below stands in for that "current changed" event.
    tracker.add_listener(triggers.on_fingerprint_change)

    def observe(component: str, value: str) -> None:
        tracker.observe(component, value)
        review.update(serving())

    verifier.add_change_listener(lambda _: review.update(serving()))
    review.add_listener(lambda e: triggers.raise_trigger(e.to_trigger_event()))
    verifier.add_mismatch_listener(lambda e: triggers.raise_trigger(e.to_trigger_event()))

    def reviewed() -> float | None:
        return registry.get_sample_value("tunewatch_deployment_reviewed")

    # 1. tw-safe is served and approved
    observe("model", "tw-safe")
    observe("system_prompt", PROMPT_HASH)
    observe("output_filter", "v3")
    verifier.check_once()
    assert reviewed() == 0.0
    dispositions.record({"reference": "DR-2026-014", "decision": "approved",
                         "owner": "gov@example.com", "recorded_by": "alice",
                         "fingerprint": {**serving(), "model": ["tw-safe"]},
                         "controls": [{"component": "output_filter", "value": "v3"}]})
    assert reviewed() == 1.0 and triggers.outbox.tickets() == []

    # 2. tw-drift-3 is deployed: a re-fine-tune ticket, and the deployment is unreviewed
    clock.advance(60)
    observe("model", "tw-drift-3")
    [ticket] = triggers.outbox.tickets()
    # (model_family("tw-safe") != model_family("tw-drift-3"): the classifier calls it a base
    # model change; the lab's aliases carry no shared base name)
    assert (ticket.type, ticket.dedup_key) == ("base_model_change", "fingerprint:model:tw-drift-3")
    assert reviewed() == 0.0
    assert registry.get_sample_value("tunewatch_deployment_disposition_info",
                                     {"reference": "DR-2026-014", "decision": "approved"}) == 1.0

    # 3. the pack for the ticket
    doc = build_pack(PackInputs(subject=PackSubject(serving=serving(), ticket=ticket),
                                generated_at=clock.t, artifacts=tuple(verifier.results()),
                                reviewed=review.status().reason))
    page = render(doc, "html")
    assert "tw-drift-3" in page and len(re.findall(r"<section id=", page)) == 10
    assert "Missing: Disposition</strong> — none recorded for this ticket yet" in page

    # 4. an ack without a disposition is refused; with a covering one it goes through
    refused = plan_ack(ticket=ticket, mode="require", disposition=None, serving=serving(),
                       now=clock.t)
    assert not refused.allowed
    d = dispositions.record({"reference": "DR-2026-015", "decision": "approved-with-conditions",
                             "conditions": ["weekly probe runs"], "owner": "gov@example.com",
                             "recorded_by": "bob", "fingerprint": serving(),
                             "tickets": [ticket.ref],
                             "controls": [{"component": "output_filter", "value": "v3"}]})
    plan = plan_ack(ticket=ticket, mode="require", disposition=d, serving=serving(), now=clock.t)
    assert plan.allowed and plan.closed_event["disposition"]["reference"] == "DR-2026-015"
    triggers.ack(ticket.id, by="cli")

    # 5. quiet again
    assert reviewed() == 1.0 and triggers.outbox.tickets() == []
    assert registry.get_sample_value("tunewatch_deployment_disposition_info", {
        "reference": "DR-2026-015", "decision": "approved-with-conditions"}) == 1.0

    # 6. a control the disposition relies on changes: one deployment-layer ticket
    clock.advance(60)
    observe("output_filter", "v4")
    [layer] = triggers.outbox.tickets()
    assert (layer.type, layer.dedup_key, layer.fire_count) == (
        "deployment_layer_change", "fingerprint:output_filter:v4", 2)  # tracker + review: one
    assert reviewed() == 0.0
    observe("output_filter", "v3")  # back to a known value: no tracker event, reviewed again
    assert reviewed() == 1.0
    triggers.ack(layer.id, by="cli")

    # 7. the adapter on disk is swapped: a high-severity artefact ticket
    adapter.write_bytes(b"adapter v2")
    os.utime(adapter, ns=(1, 1))
    verifier.check_once()
    [art] = triggers.outbox.tickets()
    assert art.type == "re_fine_tune" and art.dedup_key.startswith("artifact:tw-drift-3.gguf:")
    assert art.evidence["what_changed"]["severity"] == "critical"
    assert registry.get_sample_value("tunewatch_artifact_verified",
                                     {"artifact": "tw-drift-3.gguf"}) == 0.0
    assert reviewed() == 0.0  # the served digest is not the reviewed one
