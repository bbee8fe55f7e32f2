"""monitor/governance/ack.py: what an ack must do about dispositions, and what sinks get."""

from __future__ import annotations

import pytest

from monitor.governance.ack import (
    DispositionAckGate,
    decision_payload,
    plan_ack,
    record_command,
)
from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import Disposition
from monitor.store import Store
from monitor.triggers.model import Ticket
from monitor.triggers.render import disposition_line, disposition_markdown, render_markdown
from tests.monitor.governance.helpers import FakeClock, disposition

SERVING = {"model": "tw-safe", "system_prompt": "5f0c7a1e2b3d4c59"}


def ticket(state: str = "open") -> Ticket:
    return Ticket(id=3, uid="u3", dedup_key="fingerprint:model:tw-safe", type="re_fine_tune",
                  owner="ml-governance@example.com", state=state, title="Model re-fine-tuned",
                  created_at=0.0, updated_at=0.0, fire_count=1, evidence={})


@pytest.fixture
def ds(store: Store, clock: FakeClock) -> DispositionStore:
    return DispositionStore(store=store, clock=clock)


@pytest.fixture
def approved(ds: DispositionStore) -> Disposition:
    return ds.record(disposition(decision="approved-with-conditions",
                                 conditions=["weekly probe runs"], tickets=["TW-3"]))


def test_require_refuses_an_ack_without_a_disposition_and_says_how() -> None:
    plan = plan_ack(ticket=ticket(), mode="require", disposition=None, serving=SERVING, now=0.0)
    assert not plan.allowed and plan.closed_event == {}
    assert "tunewatch disposition record --reference DR-YYYY-NNN" in plan.message
    assert "--ticket TW-3 --current" in plan.message


def test_offer_acks_and_suggests_recording_one() -> None:
    plan = plan_ack(ticket=ticket(), mode="offer", disposition=None, serving=SERVING, now=0.0)
    assert plan.allowed
    assert plan.closed_event == {"disposition": None, "disposition_offered": True}
    assert "stays unreviewed" in plan.message and "--current" in plan.message
    off = plan_ack(ticket=ticket(), mode="off", disposition=None, serving=SERVING, now=0.0)
    assert off.allowed and off.closed_event == {"disposition": None}


def test_a_covering_disposition_carries_the_decision_to_the_sinks(
        approved: Disposition, clock: FakeClock) -> None:
    plan = plan_ack(ticket=ticket(), mode="require", disposition=approved, serving=SERVING,
                    now=clock.t)
    assert plan.allowed and plan.warnings == ()
    assert plan.closed_event["disposition"] == decision_payload(approved)
    assert plan.closed_event["disposition"]["conditions"] == ["weekly probe runs"]
    assert "acknowledged with DR-2026-014: approved-with-conditions" in plan.message


@pytest.mark.parametrize("mode", ["require", "offer"])
def test_a_disposition_that_does_not_cover_the_deployment(
        approved: Disposition, clock: FakeClock, mode: str) -> None:
    plan = plan_ack(ticket=ticket(), mode=mode, disposition=approved,  # type: ignore[arg-type]
                    serving={**SERVING, "model": "tw-drift-3"}, now=clock.t)
    assert plan.allowed is (mode == "offer")
    assert any("does not cover the serving deployment (model: serving tw-drift-3" in w
               for w in plan.warnings)
    if mode == "offer":
        assert plan.closed_event["disposition_warnings"] == list(plan.warnings)


def test_expired_or_superseded_dispositions_are_refused_under_require(
        ds: DispositionStore, clock: FakeClock) -> None:
    old = ds.record(disposition(expires_at=clock.t + 10))
    clock.advance(20)
    plan = plan_ack(ticket=ticket(), mode="require", disposition=old, serving=SERVING, now=clock.t)
    assert not plan.allowed and "has expired" in plan.message
    ds.record(disposition(reference="DR-2026-015"))
    stale = ds.get(old.id)
    assert stale is not None
    plan = plan_ack(ticket=ticket(), mode="require", disposition=stale, serving=SERVING,
                    now=clock.t)
    assert "was superseded by record 2" in plan.message


def test_an_acked_ticket_cannot_be_acked_again(approved: Disposition) -> None:
    plan = plan_ack(ticket=ticket("acked"), mode="offer", disposition=approved, serving=SERVING,
                    now=0.0)
    assert not plan.allowed and plan.message == "TW-3 is already acked."


def test_the_closed_event_renders_the_decision_for_issue_trackers(
        approved: Disposition, clock: FakeClock) -> None:
    plan = plan_ack(ticket=ticket(), mode="offer", disposition=approved, serving=SERVING,
                    now=clock.t)
    payload = {"event": "closed", "idempotency_key": "u3:closed:1",
               "ticket": {**ticket("acked").summary(), "id": "TW-3"}, "evidence": {},
               "source": "ack", "acked_by": "cli", **plan.closed_event}
    text = render_markdown(payload)
    lines = text.splitlines()
    # the decision comes before the markers the issue trackers search for
    assert lines.index("### Disposition") < lines.index(
        "<!-- tunewatch-event u3:closed:1 -->")
    assert "- **DR-2026-014**: approved-with-conditions (owner ml-governance@example.com)" in text
    assert "- condition: weekly probe runs" in text
    assert "- evidence: [Red-team report](https://docs.example.com/rt/14)" in text
    assert disposition_line(payload) == (
        "disposition: DR-2026-014 approved-with-conditions (owner ml-governance@example.com)")
    assert disposition_line({"event": "closed"}) is None
    assert disposition_markdown({}) == []


def test_the_record_command_quotes_what_it_must() -> None:
    t = Ticket(**{**ticket().__dict__, "owner": "Safety Board <sb@example.com>"})
    assert record_command(t, {}) == (
        "tunewatch disposition record --reference DR-YYYY-NNN --decision approved --owner "
        "'Safety Board <sb@example.com>' --ticket TW-3 --component model=MODEL_ID")


def test_the_gate_resolves_the_named_disposition(approved: Disposition, ds: DispositionStore,
                                                  clock: FakeClock) -> None:
    gate = DispositionAckGate(dispositions=ds, mode="require", serving=lambda: SERVING,
                              clock=clock)
    assert gate.plan(ticket(), "DR-2026-014").allowed
    assert gate.plan(ticket(), str(approved.id)).disposition == approved
    unknown = gate.plan(ticket(), "DR-2099-999")
    assert not unknown.allowed and "no disposition 'DR-2099-999'" in unknown.message
    assert not gate.plan(ticket(), None).allowed
    offer = DispositionAckGate(dispositions=ds, mode="offer", serving=lambda: SERVING,
                               clock=clock)
    assert not offer.plan(ticket(), "DR-2099-999").allowed  # a typo never passes silently
    assert offer.plan(ticket(), None).allowed
