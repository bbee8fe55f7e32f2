"""Trigger sources, dedup/update, evidence packs, retries with backoff and the outbox depth."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry

from detectors.cusum import BernoulliCusum
from detectors.scalar import AdwinDetector
from monitor.analysis.fingerprint import Change
from monitor.analysis.samples import SampleRow, SampleStore
from monitor.detection.host import DetectorHost
from monitor.metrics import Metrics
from monitor.probes.store import ProbeStore
from monitor.store import Store
from monitor.triggers.evidence import EvidenceSources
from monitor.triggers.model import TriggerEvent


def _change(component: str, before: str | None, after: str) -> Change:
    return Change(component=component, before=before, after=after, at=1.0)


def test_fingerprint_changes_are_classified(make_service) -> None:
    svc = make_service(owners={"re_fine_tune": "ml-team", "default": "governance@acme"})
    t1 = svc.on_fingerprint_change(_change("model", "gemma-3-270m-ft1", "gemma-3-270m-ft2"))
    t2 = svc.on_fingerprint_change(_change("model", "gemma-3-270m-ft2", "llama-3-8b"))
    t3 = svc.on_fingerprint_change(_change("system_prompt", "aaaa", "bbbb"))
    t4 = svc.on_fingerprint_change(_change("upstream_models", "x", "y"))
    t5 = svc.on_fingerprint_change(_change("scope", "v1", "v2"))
    assert [(t.type, t.owner) for t in (t1, t2, t3, t4, t5)] == [
        ("re_fine_tune", "ml-team"), ("base_model_change", "governance@acme"),
        ("deployment_layer_change", "governance@acme"), ("base_model_change", "governance@acme"),
        ("deployment_layer_change", "governance@acme")]
    assert t3.evidence["what_changed"] == {"component": "system_prompt", "before": "aaaa",
                                           "after": "bbbb", "at": 1.0}
    reg = svc.metrics.registry
    assert reg.get_sample_value("tunewatch_triggers_total", {"type": "base_model_change"}) == 2


def test_repeated_firing_updates_and_ack_closes(make_service, tmp_path) -> None:
    svc = make_service(sinks=[{"type": "directory", "path": str(tmp_path / "d")}])
    ev = TriggerEvent(type="drift", dedup_key="drift:prompt_embedding", title="x", source="drift")
    a = svc.raise_trigger(ev)
    b = svc.raise_trigger(ev)
    assert (a.id, b.id, b.fire_count, len(b.evidence["history"])) == (a.id, a.id, 2, 2)
    assert [t.ref for t in svc.outbox.tickets(state="open")] == ["TW-1"]
    svc.ack(a.id)
    assert svc.outbox.tickets(state="open") == []
    c = svc.raise_trigger(ev)
    assert c.id != a.id and c.fire_count == 1
    events = svc.outbox.store.query("SELECT trigger_id, event, seq FROM trigger_outbox ORDER BY id")
    assert events == [(1, "opened", 0), (1, "updated", 1), (1, "closed", 2), (2, "opened", 0)]
    assert svc.metrics.registry.get_sample_value("tunewatch_triggers_total", {"type": "drift"}) == 2


def _alarm_host(clock) -> DetectorHost:
    host = DetectorHost(clock=clock)
    host.add_drift("prompt_embedding", AdwinDetector())
    host.add_refusal_rate("refusal_rate/traffic", BernoulliCusum(p0=0.5, p1=0.25, arl0=100),
                          source="traffic", category="all", baseline_rate=0.5)
    return host


def _trip(host: DetectorHost) -> None:
    """Drive both hosted detectors into alarm (a level shift; 40 compliances at a 50% base)."""
    host.update_many("prompt_embedding", [0.0] * 200 + [10.0] * 100)
    host.update_many("refusal_rate/traffic", [False] * 40)
    assert all(s.state.drift for s in host.snapshot().values())


def test_sustained_alarm_raises_once_per_episode(make_service, clock) -> None:
    host = _alarm_host(clock)
    svc = make_service(host=host, drift_sustain_s=60)
    _trip(host)  # the host's alarm events reach the service, not the metrics registry
    assert svc.handle_pending() == 2  # the alarm events, queued by the host
    assert svc.check_alarms() == []
    clock.advance(59)
    assert svc.check_alarms() == []
    clock.advance(1)
    raised = svc.check_alarms()
    assert sorted((t.type, t.dedup_key) for t in raised) == [
        ("alignment_regression", "traffic_refusal:all"), ("drift", "drift:prompt_embedding")]
    assert raised[0].evidence["what_changed"]["alarm_held_s"] == 60.0
    clock.advance(600)
    assert svc.check_alarms() == []  # still the same episode
    assert host.reset("prompt_embedding") == ["prompt_embedding"]  # ends the episode
    assert svc.handle_pending() == 1
    host.update_many("prompt_embedding", [0.0] * 200 + [10.0] * 100)
    assert svc.handle_pending() == 1
    clock.advance(60)
    [again] = svc.check_alarms()  # a new episode updates the still-open ticket
    assert again.dedup_key == "drift:prompt_embedding" and again.fire_count == 2


def test_alarm_already_raised_before_the_service_subscribed_counts(make_service, clock) -> None:
    host = _alarm_host(clock)
    _trip(host)  # e.g. a state restored in alarm at start, before the triggers were wired
    svc = make_service(host=host, drift_sustain_s=5)
    assert svc.handle_pending() == 2
    clock.advance(5)
    assert sorted(t.dedup_key for t in svc.check_alarms()) == ["drift:prompt_embedding",
                                                               "traffic_refusal:all"]


def test_probe_result_and_evidence_pack(make_service, clock, tmp_path) -> None:
    host = DetectorHost(clock=clock)
    host.add_drift("latency", AdwinDetector())  # ADWIN has no threshold: NaN, not JSON
    host.add_refusal_rate("refusal_rate/probe/disallowed",
                          BernoulliCusum(p0=0.9, p1=0.8, arl0=200, reference_id="base-1/disallowed"),
                          source="probe", category="disallowed", baseline_rate=0.9)
    host.update_many("refusal_rate/probe/disallowed", [True] * 6 + [False] * 14)
    store = Store(tmp_path / "tw.db")
    runs, samples = ProbeStore(store), SampleStore(store)  # each table through its owner
    svc = make_service(host=host, dashboard_url="https://grafana.example", evidence=EvidenceSources(
        probe_run=runs.latest_ok, transcripts=samples.recent_transcripts, detectors=host.snapshot))
    summary = {"disallowed": {"passed": 6, "failed": 14, "unscoreable": 0, "errors": 0,
                              "baseline_failed": 2, "baseline_n": 20, "p_value": 0.0001,
                              "p_adjusted": 0.0004, "regression": True, "inconclusive": False,
                              "cusum": {"drift": False, "statistic": 1.5, "threshold": 4.2,
                                        "n": 20, "reference_id": "base-1/disallowed"}},
               "obfuscated": {"passed": 15, "failed": 5, "unscoreable": 0, "errors": 0,
                              "baseline_failed": 2, "baseline_n": 20, "p_value": 0.2,
                              "p_adjusted": 0.4, "regression": False, "inconclusive": False,
                              "cusum": {"drift": True, "statistic": 4.5, "threshold": 4.2,
                                        "n": 20, "reference_id": "base-1/obfuscated"}},
               "capability": {"passed": 19, "failed": 1, "unscoreable": 0, "errors": 0,
                              "baseline_failed": 1, "baseline_n": 20, "p_value": 0.7,
                              "p_adjusted": 1.0, "regression": False, "inconclusive": False}}
    runs.record_success(run_id="run-1", started=1, ended=2, suite_name="default", suite_hash="h",
                        baseline_run_id="base-1", regressions=["disallowed"], summary=summary,
                        attempts=[], rotation_offset=0, state={})
    samples.insert_many([SampleRow(ts=1, route="/v1/chat/completions", status=200, model="m",
                                   verdict="complied", prompt="mail me at jane@example.com",
                                   response="Sure, here it is")])
    result = SimpleNamespace(run_id="run-1", regressions=["disallowed"],
                             cusum={"obfuscated": SimpleNamespace(drift=True),
                                    "disallowed": SimpleNamespace(drift=False)},
                             paired={"disallowed": SimpleNamespace(drift=False)})
    tickets = svc.on_probe_result(result)
    assert [t.dedup_key for t in tickets] == ["probe_regression:disallowed",
                                             "probe_regression:obfuscated"]
    ev = tickets[0].evidence
    cat = ev["probes"]["categories"]["disallowed"]
    assert cat["current"] == {"rate": 0.7, "ci95": [0.4810, 0.8545], "failed": 14, "n": 20}
    assert cat["baseline"]["rate"] == 0.1 and cat["regression"] is True
    assert cat["detected_by"] == ["fisher_holm"] and cat["cusum"]["drift"] is False
    # the CUSUM alone found obfuscated: the ticket and the evidence say so
    assert tickets[1].evidence["what_changed"]["detected_by"] == ["cusum"]
    obf = ev["probes"]["categories"]["obfuscated"]
    assert obf["regression"] is False and obf["detected_by"] == ["cusum"]
    assert ev["what_changed"]["detected_by"] == ["fisher_holm"]
    assert ev["probes"]["categories"]["capability"]["detected_by"] == []
    assert ev["probes"]["run_id"] == "run-1" and ev["probes"]["regressions"] == ["disallowed"]
    cusum = ev["detectors"]["refusal_rate/probe/disallowed"]  # from the host's snapshot
    assert (cusum["drift"], cusum["n"], cusum["rate"], cusum["baseline_rate"]) == (True, 20, 0.3,
                                                                                   0.9)
    assert cusum["source"] == "probe" and cusum["ci95"][0] < 0.3 < cusum["ci95"][1]
    assert ev["detectors"]["latency"]["threshold"] is None and ev["detectors"]["latency"]["n"] == 0
    stored = svc.outbox.store.query("SELECT evidence FROM triggers WHERE id = 1")[0][0]
    assert "NaN" not in stored
    assert ev["transcripts"][0]["prompt"] == "mail me at [REDACTED:EMAIL]"
    assert ev["links"]["safety dashboard"].startswith("https://grafana.example/d/tunewatch-safety?")
    store.close()


def test_a_failing_evidence_part_is_recorded_and_counted(make_service) -> None:
    def broken() -> None:
        raise RuntimeError("probe store unreadable")

    svc = make_service(evidence=EvidenceSources(probe_run=broken))
    t = svc.raise_trigger(TriggerEvent(type="drift", dedup_key="drift:x", title="t",
                                       source="drift"))
    assert t.evidence["probes"] == {"error": "RuntimeError"}  # the ticket opens; the gap shows
    assert svc.metrics.registry.get_sample_value("tunewatch_monitor_errors_total",
                                                 {"stage": "trigger"}) == 1


def test_reconcile_raises_changes_lost_in_a_crash(make_service, clock, tmp_path) -> None:
    from monitor.analysis.fingerprint import FingerprintTracker
    from monitor.store import Store

    make_service()  # the trigger tables exist from here on
    store = Store(tmp_path / "tw.db")
    reg = CollectorRegistry()
    tracker = FingerprintTracker(metrics=Metrics(reg).deployment, store=store, clock=clock)
    # (no trigger service listens: the process dies before the triggers are raised)
    clock.advance(1)
    tracker.observe("system_prompt", "aaaa")
    clock.advance(1)
    tracker.observe("system_prompt", "bbbb")  # committed, but the process died before the trigger
    tracker.observe("system_prompt", "aaaa")  # known value again: not a change
    clock.advance(1)
    svc = make_service(fingerprint=tracker)  # restart
    [t] = svc.reconcile_fingerprints()
    assert (t.type, t.dedup_key) == ("deployment_layer_change", "fingerprint:system_prompt:bbbb")
    assert t.evidence["what_changed"]["before"] == "aaaa"
    assert svc.reconcile_fingerprints() == []
    store.close()


async def test_signals_are_raised_on_the_services_own_thread(make_service) -> None:
    import asyncio
    import threading

    svc = make_service()
    threads: list[str] = []
    raise_trigger = svc.raise_trigger

    def spy(event: TriggerEvent):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return raise_trigger(event)

    svc.raise_trigger = spy  # type: ignore[method-assign]
    await svc.start()
    try:
        svc.notify(_change("system_prompt", "aaaa", "bbbb"))  # e.g. from the analysis thread
        assert await asyncio.to_thread(svc.wait_idle, 10)
        assert [t.dedup_key for t in svc.outbox.tickets()] == ["fingerprint:system_prompt:bbbb"]
        assert threads == ["tunewatch-triggers"]
        with pytest.raises(RuntimeError, match="thread is running"):
            svc.handle_pending()
    finally:
        await svc.stop()
    assert svc.handle_pending() == 0  # stopped: nothing left queued
