"""Review state: tunewatch_deployment_reviewed, the disposition info metric, control changes."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from monitor.governance.disposition_store import DispositionStore
from monitor.governance.review import ControlChanged, ReviewState
from monitor.metrics import Metrics
from monitor.store import Store
from monitor.triggers.config import TriggerSettings
from monitor.triggers.model import fingerprint_key
from monitor.triggers.service import TriggerService
from tests.monitor.governance.helpers import FakeClock, disposition

SERVING = {"model": "tw-safe", "system_prompt": "5f0c7a1e2b3d4c59", "output_filter": "v3"}


class Setup:
    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.ds = DispositionStore(store=store, clock=clock)
        self.rs = ReviewState(dispositions=self.ds, store=store, clock=clock)
        self.registry = CollectorRegistry()
        self.registry.register(self.rs.collector())
        self.events: list[ControlChanged] = []
        self.rs.add_listener(self.events.append)

    def reviewed(self) -> float | None:
        return self.registry.get_sample_value("tunewatch_deployment_reviewed")

    def info(self, reference: str, decision: str) -> float | None:
        return self.registry.get_sample_value("tunewatch_deployment_disposition_info",
                                              {"reference": reference, "decision": decision})


@pytest.fixture
def s(store: Store, clock: FakeClock) -> Setup:
    return Setup(store, clock)


def test_nothing_served_yet_exports_no_reviewed_sample(s: Setup) -> None:
    s.rs.update({"output_filter": "v3"})  # configured, but no model seen in traffic yet
    assert s.reviewed() is None
    assert s.info("none", "none") == 1.0
    assert s.rs.status().reason == "no model observed yet"


def test_unreviewed_until_a_covering_approval_is_recorded(s: Setup) -> None:
    s.rs.update(SERVING)
    assert s.reviewed() == 0.0 and s.info("none", "none") == 1.0
    assert s.rs.status().reason == "no disposition covers the serving deployment"
    s.ds.record(disposition())  # no update() call: the review state listens to the store
    assert s.reviewed() == 1.0
    assert s.info("DR-2026-014", "approved") == 1.0 and s.info("none", "none") is None
    assert s.events == []


def test_a_new_model_is_unreviewed_and_says_what_differs(s: Setup) -> None:
    s.ds.record(disposition())
    s.rs.update(SERVING)
    s.rs.update({**SERVING, "model": "tw-drift-3"})
    st = s.rs.status()
    assert s.reviewed() == 0.0 and st.reviewed is False
    assert st.uncovered == ("model: serving tw-drift-3, reviewed tw-safe",)
    assert st.disposition is not None and st.disposition.reference == "DR-2026-014"  # in force
    assert "differs from what DR-2026-014 reviewed" in st.reason


def test_rejected_and_expired_dispositions_do_not_review(s: Setup, clock: FakeClock) -> None:
    s.rs.update(SERVING)
    s.ds.record(disposition(decision="rejected"))
    assert s.reviewed() == 0.0 and s.info("DR-2026-014", "rejected") == 1.0
    s.ds.record(disposition(reference="DR-2026-015", expires_at=clock.t + 3600))
    assert s.reviewed() == 1.0 and s.info("DR-2026-015", "approved") == 1.0
    clock.advance(3599)
    assert s.reviewed() == 1.0
    clock.advance(1)  # evaluated at scrape time: no update needed
    assert s.reviewed() == 0.0 and s.rs.status().reason == "DR-2026-015 expired"


def test_unreviewed_since_tracks_the_episode(s: Setup, clock: FakeClock) -> None:
    s.rs.update(SERVING)
    start = clock.t
    clock.advance(120)
    assert s.rs.status().unreviewed_since == start
    s.ds.record(disposition())
    assert s.rs.status().unreviewed_since is None
    assert s.rs.status_json()["disposition"]["reference"] == "DR-2026-014"


def test_a_changed_control_raises_once_against_the_disposition(s: Setup, clock: FakeClock) -> None:
    d = s.ds.record(disposition())
    s.rs.update(SERVING)
    clock.advance(10)
    raised = s.rs.update({**SERVING, "output_filter": "v4"})
    assert raised == s.events == [ControlChanged(
        disposition_id=d.id, reference="DR-2026-014", component="output_filter", expected="v3",
        observed="v4", at=clock.t)]
    assert s.reviewed() == 0.0
    st = s.rs.status()
    assert st.violated == ("output_filter: relies on v3, serving v4",)
    assert st.uncovered == ("output_filter: serving v4, reviewed v3",)
    assert s.rs.update({**SERVING, "output_filter": "v4"}) == []  # same condition: once
    assert [e.observed for e in s.rs.update({**SERVING, "output_filter": "v5"})] == ["v5"]
    s.rs.update(SERVING)  # back to the reviewed value: reviewed again, nothing raised
    assert s.reviewed() == 1.0 and len(s.events) == 2


def test_control_events_are_not_raised_again_after_a_restart(
        open_store: Callable[[], Store], clock: FakeClock) -> None:
    first = Setup(open_store(), clock)
    first.ds.record(disposition())
    first.rs.update(SERVING)
    assert len(first.rs.update({**SERVING, "output_filter": "v4"})) == 1
    again = Setup(open_store(), clock)  # a restart: new objects on the same database
    again.rs.update(SERVING)
    assert again.rs.update({**SERVING, "output_filter": "v4"}) == []


def test_an_unwatched_control_component_gets_its_own_key() -> None:
    e = ControlChanged(disposition_id=1, reference="DR-2026-014", component="rate_limit",
                       expected="100/min", observed="1000/min", at=0.0)
    assert e.dedup_key == "disposition:DR-2026-014:rate_limit:1000/min"
    tracked = ControlChanged(disposition_id=1, reference="DR-2026-014", component="scope",
                             expected="s1", observed="s2", at=0.0)
    assert tracked.dedup_key == fingerprint_key("scope", "s2")


def test_the_trigger_service_consumes_the_event_on_the_fingerprint_ticket(
        s: Setup, store: Store, clock: FakeClock) -> None:
    """The real TriggerService: the control-change event and the tracker's fingerprint change of
    the same component land on one ticket."""
    reg = CollectorRegistry()
    svc = TriggerService(settings=TriggerSettings(owners={"default": "gov"}), store=store,
                         metrics=Metrics(reg).triggers, clock=clock, rng=random.Random(1))
    s.rs.add_listener(lambda e: svc.raise_trigger(e.to_trigger_event()))
    s.ds.record(disposition())
    s.rs.update(SERVING)
    s.rs.update({**SERVING, "output_filter": "v4"})
    tickets = svc.outbox.tickets()
    assert [(t.type, t.dedup_key, t.owner) for t in tickets] == [
        ("deployment_layer_change", "fingerprint:output_filter:v4", "gov")]
    assert tickets[0].evidence["what_changed"]["disposition"] == "DR-2026-014"
    change = type("Change", (), {"component": "output_filter", "before": "v3", "after": "v4",
                                 "at": clock.t})()
    svc.on_fingerprint_change(change)
    assert [t.fire_count for t in svc.outbox.tickets()] == [2]
