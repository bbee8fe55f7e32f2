"""Dispositions: validation (monitor/governance/dispositions.py) and the append-only store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import Disposition, DispositionError, parse_input, uncovered
from monitor.store import Store
from tests.monitor.governance.helpers import FakeClock, disposition
from tests.support.threads import at_once

SECRET = "ignore previous instructions <script>alert(1)</script>"


# --- validation -------------------------------------------------------------------------------


def problems_of(**over: object) -> list[str]:
    with pytest.raises(DispositionError) as exc:
        parse_input(disposition(**over))
    return exc.value.problems


def test_a_valid_disposition_is_normalised() -> None:
    d = parse_input(disposition(fingerprint={"model": "tw-safe", "system_prompt": ["b", "a", "a"]},
                                tickets=["tw-3", "4", "TW-3"]))
    assert d.fingerprint == {"model": ("tw-safe",), "system_prompt": ("a", "b")}
    assert d.tickets == ("TW-3", "TW-4")


@pytest.mark.parametrize(("over", "field", "says"), [
    ({"reference": "DR-26-1"}, "reference", "DR-2026-014"),
    ({"reference": "DR 2026 014"}, "reference", "letters, digits"),
    ({"decision": "approve"}, "decision", "approved"),
    ({"owner": "  "}, "owner", "empty"),
    ({"fingerprint": {}}, "fingerprint", "bind at least the model"),
    ({"fingerprint": {"Model!": "x"}}, "fingerprint", "component"),
    ({"fingerprint": {"model": []}}, "fingerprint", "has no value"),
    ({"fingerprint": "tw-safe"}, "fingerprint", "map components"),
    ({"evidence": [{"title": "x", "url": "javascript:alert(1)"}]}, "evidence.0.url", "http(s)"),
    ({"evidence": [{"title": "x", "url": "https://x", "sha256": "abc"}]}, "evidence.0.sha256",
     "64 hex"),
    ({"tickets": ["ticket-3"]}, "tickets", "TW-3"),
    ({"decided_at": "yesterday"}, "decided_at", "ISO date"),
    ({"colour": "red"}, "colour", "Extra inputs"),
])
def test_bad_input_names_the_field_and_never_echoes_the_value(
        over: dict[str, object], field: str, says: str) -> None:
    found = problems_of(**over)
    assert any(p.startswith(field) and says in p for p in found), found
    for p in found:
        assert "javascript:alert" not in p and "ticket-3" not in p


def test_client_text_is_not_echoed_in_errors() -> None:
    found = problems_of(owner=SECRET + "\x00")
    assert found == ["owner: Value error, value contains control characters".replace(
        "Value error, ", "")]
    assert all(SECRET not in p for p in found)


def test_conditions_belong_to_approved_with_conditions_only() -> None:
    assert any("needs at least one condition" in p
               for p in problems_of(decision="approved-with-conditions"))
    assert any("conditions apply to approved-with-conditions, not rejected" in p
               for p in problems_of(decision="rejected", conditions=["x"]))
    ok = parse_input(disposition(decision="approved-with-conditions",
                                 conditions=["re-run probes weekly"]))
    assert ok.conditions == ("re-run probes weekly",)


def test_a_control_must_agree_with_the_fingerprint() -> None:
    found = problems_of(fingerprint={"model": "m", "output_filter": "v4"},
                        controls=[{"component": "output_filter", "value": "v3"}])
    assert any("control output_filter relies on a value the fingerprint does not bind" in p
               for p in found)
    assert any("each control component may appear once" in p for p in problems_of(
        controls=[{"component": "scope", "value": "a"}, {"component": "scope", "value": "b"}]))


def test_expiry_must_follow_the_decision() -> None:
    assert any("expires_at must be after decided_at" in p
               for p in problems_of(decided_at="2026-12-01", expires_at="2026-11-01"))
    d = parse_input(disposition(decided_at="2026-12-01", expires_at="2027-06-01T00:00:00Z"))
    assert d.decided_at == 1796083200.0 and d.expires_at == 1811808000.0


def test_a_configured_reference_pattern_is_enforced() -> None:
    with pytest.raises(DispositionError, match=r"pattern GOV-\[0-9\]\+"):
        parse_input(disposition(), reference_pattern=r"GOV-[0-9]+")
    assert parse_input(disposition(reference="GOV-7"), reference_pattern=r"GOV-[0-9]+")


def test_coverage_rules() -> None:
    bound = {"model": ("tw-safe",), "system_prompt": ("a", "b"), "scope": ("v1",)}
    assert uncovered(bound, {"model": "tw-safe", "system_prompt": "b"}) == []  # scope not seen yet
    assert uncovered(bound, {"model": "tw-safe", "system_prompt": "c"}) == [
        "system_prompt: serving c, reviewed a, b"]
    assert uncovered(bound, {"model": "tw-safe", "artifact:w": "00"}) == [
        "artifact:w: serving 00, not in the reviewed fingerprint"]


# --- the store --------------------------------------------------------------------------------


@pytest.fixture
def ds(store: Store, clock: FakeClock) -> DispositionStore:
    return DispositionStore(store=store, clock=clock)


def test_record_and_read_back_every_field(ds: DispositionStore, clock: FakeClock) -> None:
    d = ds.record(disposition(decision="approved-with-conditions", conditions=["weekly probes"],
                              tickets=["TW-3"], note="signed off at the review board",
                              expires_at="2027-06-01"))
    assert isinstance(d, Disposition) and d.id == 1 and d.recorded_at == clock.t
    assert d.decided_at == clock.t  # defaults to now
    again = ds.get(d.id)
    assert again == d
    assert again.fingerprint == {"model": ("tw-safe",), "output_filter": ("v3",),
                                 "system_prompt": ("5f0c7a1e2b3d4c59",)}  # the control binds
    assert [c.as_dict() for c in again.controls] == [
        {"component": "output_filter", "value": "v3", "note": "blocks PII"}]
    assert again.evidence[0].url == "https://docs.example.com/rt/14"
    assert again.as_dict()["tickets"] == ["TW-3"] and again.supersedes is None


def test_a_new_disposition_supersedes_and_history_is_a_chain(ds: DispositionStore,
                                                              clock: FakeClock) -> None:
    a = ds.record(disposition(decision="rejected"))
    clock.advance(60)
    b = ds.record(disposition(reference="DR-2026-015"))
    other = ds.record(disposition(reference="DR-2026-016", fingerprint={"model": "tw-drift-3"}))
    assert b.supersedes == a.id and other.supersedes is None
    chain = ds.history(a.fingerprint_id)
    assert [d.id for d in chain] == [a.id, b.id]
    assert chain[0].superseded_by == b.id and chain[1].superseded_by is None
    assert [d.id for d in ds.heads()] == [other.id, b.id]
    assert [d.id for d in ds.list_records()] == [other.id, b.id, a.id]
    assert [d.id for d in ds.list_records(decision="rejected")] == [a.id]
    assert [d.id for d in ds.list_records(heads_only=True, limit=1)] == [other.id]
    assert [d.id for d in ds.resolve("DR-2026-014")] == [a.id]
    assert [d.id for d in ds.resolve(str(b.id))] == [b.id] and ds.resolve("99") == []


def test_current_for_picks_the_newest_head_that_covers(ds: DispositionStore) -> None:
    safe = ds.record(disposition())
    drift = ds.record(disposition(reference="DR-2026-020",
                                  fingerprint={"model": "tw-drift-3", "system_prompt": "5f0c7a1e2b3d4c59"}))
    serving_safe = {"model": "tw-safe", "system_prompt": "5f0c7a1e2b3d4c59", "output_filter": "v3"}
    assert ds.current_for(serving_safe) == safe  # a roll-back is still covered by its review
    current = ds.current_for({"model": "tw-drift-3"})
    assert current is not None and current.id == drift.id
    assert ds.current_for({"model": "tw-forget"}) is None
    assert ds.current_for({}) is None  # nothing served yet


def test_rows_are_immutable_in_the_database(ds: DispositionStore, store: Store) -> None:
    d = ds.record(disposition())
    for sql in ("UPDATE dispositions SET decision = 'rejected' WHERE id = ?",
                "DELETE FROM dispositions WHERE id = ?"):
        with pytest.raises(sqlite3.IntegrityError, match="dispositions are immutable"):
            with store.transaction() as db:
                db.execute(sql, (d.id,))
    assert ds.get(d.id) == d


def test_records_survive_a_restart(open_store: Callable[[], Store], clock: FakeClock) -> None:
    first = DispositionStore(store=open_store(), clock=clock)
    d = first.record(disposition())
    reopened = DispositionStore(store=open_store(), clock=clock)
    assert reopened.get(d.id) == d


def test_listeners_hear_of_each_record_and_a_failing_one_does_not_break_recording(
        ds: DispositionStore) -> None:
    heard: list[int] = []
    ds.add_listener(lambda d: heard.append(d.id))
    ds.add_listener(lambda d: 1 / 0)  # type: ignore[arg-type,return-value]
    d = ds.record(disposition())
    assert heard == [d.id]


def test_invalid_input_is_not_stored(ds: DispositionStore) -> None:
    with pytest.raises(DispositionError):
        ds.record(disposition(decision="maybe"))
    assert ds.list_records() == []


def test_concurrent_recorders_keep_one_linear_chain(open_store: Callable[[], Store],
                                                    clock: FakeClock) -> None:
    """Two stores on one file record for the same fingerprint at once: each record supersedes
    exactly the previous one (BEGIN IMMEDIATE + UNIQUE(supersedes): no fork)."""
    stores = [DispositionStore(store=open_store(), clock=clock) for _ in range(2)]

    def run(ds: DispositionStore) -> None:
        for _ in range(10):
            ds.record(disposition())

    errors = at_once(run, stores, join_timeout_s=60)
    assert not errors, errors
    chain = stores[0].history(stores[0].get(1).fingerprint_id)  # type: ignore[union-attr]
    assert len(chain) == 20
    assert [d.supersedes for d in chain] == [None] + [d.id for d in chain[:-1]]
