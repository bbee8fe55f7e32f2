"""The governance loop wired as create_app wires it — the real FingerprintTracker, the Governance
component and the TriggerService on one SQLite file (no servers, no model; the trigger service's
queue is drained by the test): tw-safe approved -> tw-drift-3 served -> ticket -> pack -> ack
refused -> disposition -> ack -> quiet again; then an output-filter change and its revert, and a
tampered adapter. The same loop through the running daemon: tests/e2e/test_governance_e2e.py."""

from __future__ import annotations

import hashlib
import os
import random
import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.analysis.fingerprint import FingerprintTracker
from monitor.governance.config import ArtifactSpec, GovernanceSettings
from monitor.governance.pack_sources import PackSources
from monitor.governance.service import Governance
from monitor.metrics import Metrics
from monitor.store import Store
from monitor.triggers.config import TriggerSettings
from monitor.triggers.service import AckRefused, TriggerService
from tests.monitor.governance.helpers import FakeClock

PROMPT_HASH = "5f0c7a1e2b3d4c59"


def test_the_loop(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    adapter = tmp_path / "tw-drift-3.gguf"
    adapter.write_bytes(b"adapter v1")
    tracker = FingerprintTracker(metrics=metrics.deployment, store=store, clock=clock)
    gov = Governance(settings=GovernanceSettings(ack_disposition="require"), artifacts=[
        ArtifactSpec(path=str(adapter), kind="lora_adapter",
                     sha256=hashlib.sha256(b"adapter v1").hexdigest())],
        model_parents={"tw-drift-3": "tw-safe", "tw-safe": "gemma-3-270m"},
        store=store, fingerprint=tracker, clock=clock)
    for collector in gov.collectors():
        registry.register(collector)
    triggers = TriggerService(settings=TriggerSettings(owners={"default": "gov@example.com"}),
                              store=store, metrics=metrics.triggers, clock=clock,
                              rng=random.Random(3), fingerprint=tracker, lineage=gov.lineage,
                              ack_gate=gov.ack_gate())
    tracker.add_listener(triggers.notify)
    gov.raise_into(triggers.notify)
    packs = PackSources(settings=gov.settings, serving=gov.serving,
                        review_reason=lambda: gov.review.status().reason,
                        artifacts=gov.verifier.results, dispositions=gov.dispositions,
                        clock=clock)

    def reviewed() -> float | None:
        return registry.get_sample_value("tunewatch_deployment_reviewed")

    def tickets() -> list[str]:
        triggers.handle_pending()  # what the service's thread does
        return [t.dedup_key for t in triggers.outbox.tickets()]

    # 1. tw-safe is served and approved
    tracker.observe("model", "tw-safe")
    tracker.observe("system_prompt", PROMPT_HASH)
    tracker.observe("output_filter", "v3")
    gov.verifier.check_once()
    assert reviewed() == 0.0 and tickets() == []
    gov.dispositions.record({"reference": "DR-2026-014", "decision": "approved",
                             "owner": "gov@example.com", "recorded_by": "alice",
                             "fingerprint": gov.serving(),
                             "controls": [{"component": "output_filter", "value": "v3"}]})
    assert reviewed() == 1.0

    # 2. tw-drift-3 is deployed: a re-fine-tune of tw-safe (by lineage), and unreviewed at once
    clock.advance(60)
    tracker.observe("model", "tw-drift-3")
    assert reviewed() == 0.0
    assert tickets() == ["fingerprint:model:tw-drift-3"]
    [ticket] = triggers.outbox.tickets()
    assert ticket.type == "re_fine_tune"
    assert registry.get_sample_value("tunewatch_deployment_disposition_info",
                                     {"reference": "DR-2026-014", "decision": "approved"}) == 1.0

    # 3. the ticket's pack
    page = packs.render_ticket(ticket, "html")
    assert "tw-drift-3" in page and len(re.findall(r"<section id=", page)) == 10
    assert "Missing: Disposition</strong> — none recorded for this ticket yet" in page

    # 4. an ack without a disposition is refused; with a covering one it goes through
    with pytest.raises(AckRefused):
        triggers.ack(ticket.id, by="cli")
    gov.dispositions.record({"reference": "DR-2026-015", "decision": "approved-with-conditions",
                             "conditions": ["weekly probe runs"], "owner": "gov@example.com",
                             "recorded_by": "bob", "fingerprint": gov.serving(),
                             "tickets": [ticket.ref],
                             "controls": [{"component": "output_filter", "value": "v3"}]})
    outcome = triggers.ack(ticket.id, by="cli", disposition="DR-2026-015")
    assert outcome.message.startswith("TW-1 acknowledged with DR-2026-015")

    # 5. quiet again
    assert reviewed() == 1.0 and tickets() == []
    assert registry.get_sample_value("tunewatch_deployment_disposition_info", {
        "reference": "DR-2026-015", "decision": "approved-with-conditions"}) == 1.0

    # 6. a control the disposition relies on changes: one deployment-layer ticket (the tracker's
    # and the disposition's land on one), and a revert makes it reviewed again
    clock.advance(60)
    tracker.observe("output_filter", "v4")
    assert tickets() == ["fingerprint:output_filter:v4"]
    [layer] = triggers.outbox.tickets()
    assert (layer.type, layer.fire_count) == ("deployment_layer_change", 2)
    assert [h["source"] for h in layer.evidence["history"]] == ["fingerprint", "governance"]
    assert layer.evidence["what_changed"]["disposition"] == "DR-2026-015"  # raised against it
    assert reviewed() == 0.0
    tracker.observe("output_filter", "v3")  # back to a known value: no change, a current change
    assert reviewed() == 1.0
    triggers.ack(layer.id, by="cli", disposition="DR-2026-015")

    # 7. the adapter on disk is swapped: a critical artefact ticket, and the new digest is a
    # fingerprint change of its own
    adapter.write_bytes(b"adapter v2")
    os.utime(adapter, ns=(1, 1))
    gov.verifier.check_once()
    keys = tickets()
    [art] = [t for t in triggers.outbox.tickets() if t.dedup_key.startswith("artifact:")]
    assert art.type == "re_fine_tune" and art.severity == "critical"
    assert art.dedup_key.startswith("artifact:tw-drift-3.gguf:")
    assert any(k.startswith("fingerprint:artifacts:") for k in keys) and len(keys) == 2
    assert registry.get_sample_value("tunewatch_artifact_verified",
                                     {"artifact": "tw-drift-3.gguf"}) == 0.0
    assert reviewed() == 0.0  # the served digest is not the reviewed one
