"""Acknowledging with a disposition (the governance gate), the decision carried to every sink,
severity labels, events queued from other components, and lineage-aware model changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.analysis.fingerprint import Change
from monitor.governance.ack import DispositionAckGate
from monitor.governance.disposition_store import DispositionStore
from monitor.store import Store
from monitor.triggers.model import TriggerEvent
from monitor.triggers.service import AckRefused
from tests.monitor.triggers.test_sinks import _drain

SERVING = {"model": "tw-drift-3", "system_prompt": "5f0c7a1e2b3d4c59"}
EV = TriggerEvent(type="re_fine_tune", dedup_key="fingerprint:model:tw-drift-3",
                  title="Model re-fine-tuned: model tw-safe -> tw-drift-3", source="fingerprint",
                  what_changed={"component": "model", "before": "tw-safe", "after": "tw-drift-3"})
CRITICAL = TriggerEvent(type="re_fine_tune", dedup_key="artifact:tw-drift-3.gguf:ab12",
                        title="Artefact mismatch (high severity): tw-drift-3.gguf",
                        source="artifacts", severity="critical",
                        what_changed={"artifact": "tw-drift-3.gguf", "status": "mismatch"})


@pytest.fixture
def dispositions(tmp_path: Path, clock: Any) -> DispositionStore:
    return DispositionStore(store=Store(tmp_path / "tw.db"), clock=clock)


def gate(ds: DispositionStore, clock: Any, mode: str = "require") -> DispositionAckGate:
    return DispositionAckGate(dispositions=ds, mode=mode,  # type: ignore[arg-type]
                              serving=lambda: SERVING, clock=clock)


def record(ds: DispositionStore) -> int:
    return ds.record({"reference": "DR-2026-015", "decision": "approved-with-conditions",
                      "conditions": ["weekly probe runs"], "owner": "gov@example.com",
                      "recorded_by": "bob", "fingerprint": SERVING, "tickets": ["TW-1"],
                      "evidence": [{"title": "Red-team report",
                                    "url": "https://docs.example.com/rt/15"}]}).id


def closed_payload(svc: Any) -> dict[str, Any]:
    [row] = [r for r in svc.outbox.pending() if r.event == "closed"] or [None]
    assert row is not None, "no closed event queued"
    return dict(row.payload)


def test_require_refuses_an_ack_without_a_disposition(make_service, dispositions, clock,
                                                      tmp_path) -> None:
    svc = make_service(ack_gate=gate(dispositions, clock),
                       sinks=[{"type": "directory", "path": str(tmp_path / "d")}])
    t = svc.raise_trigger(EV)
    with pytest.raises(AckRefused, match="needs a disposition") as refused:
        svc.ack(t.id)
    assert "tunewatch disposition record" in str(refused.value)
    assert [x.ref for x in svc.outbox.tickets()] == ["TW-1"]  # still open
    with pytest.raises(AckRefused, match="no disposition 'DR-2099-001'"):
        svc.ack(t.id, disposition="DR-2099-001")
    record(dispositions)
    outcome = svc.ack(t.id, by="alice", disposition="DR-2026-015")
    assert outcome.ticket.state == "acked"
    assert outcome.message.startswith("TW-1 acknowledged with DR-2026-015")
    svc.outbox.mark_delivered(svc.outbox.pending()[0].id)  # the opened event goes first
    payload = closed_payload(svc)
    assert payload["disposition"]["reference"] == "DR-2026-015"
    assert payload["acked_by"] == "alice" and payload["source"] == "ack"


def test_offer_acks_and_says_how_to_record_one(make_service, dispositions, clock,
                                               tmp_path) -> None:
    d = tmp_path / "tickets"
    svc = make_service(sinks=[{"type": "directory", "path": str(d)}],
                       ack_gate=gate(dispositions, clock, "offer"))
    t = svc.raise_trigger(EV)
    outcome = svc.ack(t.id)
    assert "stays unreviewed until one is recorded" in outcome.message
    svc.outbox.mark_delivered(svc.outbox.pending()[0].id)
    payload = closed_payload(svc)
    assert payload["disposition"] is None and payload["disposition_offered"] is True


async def test_the_decision_reaches_every_sink(make_service, dispositions, clock, receiver,
                                               github, jira, tmp_path) -> None:
    r, url = receiver
    r.secret = None
    gh, gh_cfg = github
    fj, jira_cfg = jira
    d = tmp_path / "tickets"
    slack = url.replace("/hook", "/other/slack")
    svc = make_service(ack_gate=gate(dispositions, clock), sinks=[
        {"type": "webhook", "url": url}, {"type": "slack", "url": slack}, gh_cfg, jira_cfg,
        {"type": "directory", "path": str(d)}])
    t = svc.raise_trigger(EV)
    assert await _drain(svc) == 5
    record(dispositions)
    svc.ack(t.id, by="alice", disposition="DR-2026-015")
    assert await _drain(svc) == 5
    closed = [e for e in r.events() if e["event"] == "closed"]
    assert [c["disposition"]["reference"] for c in closed] == ["DR-2026-015"]
    assert closed[0]["disposition"]["conditions"] == ["weekly probe runs"]
    assert closed[0]["acked_by"] == "alice" and closed[0]["disposition_warnings"] == []
    [chat] = [o for o in r.other if "closed" in o["body"]["text"]]
    assert ("disposition: DR-2026-015 approved-with-conditions (owner gov@example.com)"
            in chat["body"]["text"])
    closing = gh.comments[1][-1]["body"]
    assert "### Disposition" in closing and "- **DR-2026-015**: approved-with-conditions" in closing
    assert gh.issues[1]["state"] == "closed"
    assert "DR-2026-015" in str(fj.comments["GOV-1"][-1]["body"])
    md = (d / "TW-1.md").read_text()
    assert "- condition: weekly probe runs" in md
    assert "- evidence: [Red-team report](https://docs.example.com/rt/15)" in md
    await svc.stop()


async def test_critical_tickets_are_labelled_and_keep_their_severity(make_service, receiver,
                                                                     github) -> None:
    r, url = receiver
    r.secret = None
    gh, gh_cfg = github
    svc = make_service(sinks=[{"type": "slack", "url": url.replace("/hook", "/other/s")},
                              gh_cfg])
    t = svc.raise_trigger(CRITICAL)
    assert t.severity == "critical" and t.summary()["severity"] == "critical"
    again = svc.raise_trigger(TriggerEvent(**{**CRITICAL.__dict__, "severity": "warning"}))
    assert again.id == t.id and again.severity == "critical"  # never downgraded
    assert await _drain(svc) >= 2
    assert r.other[0]["body"]["text"].startswith("*CRITICAL* *[TW-1]")
    assert "tunewatch-critical" in {lb["name"] for lb in gh.issues[1]["labels"]}
    assert "- severity: **critical**" in gh.issues[1]["body"]
    assert svc.raise_trigger(EV).severity == "warning"
    await svc.stop()


def test_events_from_other_components_are_raised_on_the_services_thread(make_service) -> None:
    svc = make_service()
    svc.notify(CRITICAL)
    assert svc.outbox.tickets() == []  # queued, not raised by the caller
    assert svc.handle_pending() == 1
    [t] = svc.outbox.tickets()
    assert (t.dedup_key, t.severity) == (CRITICAL.dedup_key, "critical")


def test_a_model_change_is_classified_by_its_lineage(make_service) -> None:
    lineage = {"tw-safe": "gemma-3-270m", "tw-drift-3": "tw-safe"}
    svc = make_service(lineage=lambda: lineage)
    t = svc.on_fingerprint_change(Change("model", "tw-safe", "tw-drift-3", 1.0))
    assert t is not None and t.type == "re_fine_tune"
    t2 = svc.on_fingerprint_change(Change("model", "tw-drift-3", "llama-3-8b", 2.0))
    assert t2 is not None and t2.type == "base_model_change"
    plain = make_service(db=None)  # no lineage: the names share no base
    t3 = plain.on_fingerprint_change(Change("model", "tw-safe", "tw-drift-9", 3.0))
    assert t3 is not None and t3.type == "base_model_change"


def test_a_failing_lineage_falls_back_to_names_and_is_counted(make_service) -> None:
    def broken() -> dict[str, str]:
        raise RuntimeError("poller state unavailable")

    svc = make_service(lineage=broken)
    t = svc.on_fingerprint_change(Change("model", "gemma-3-270m", "gemma-3-270m-ft2", 1.0))
    assert t is not None and t.type == "re_fine_tune"
    assert svc.metrics.registry.get_sample_value("tunewatch_monitor_errors_total",
                                                 {"stage": "trigger"}) == 1
