from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.detection.host import DetectorHost
from monitor.metrics import Metrics
from monitor.metrics.detectors import DetectorCollector
from monitor.probes.baseline import Baseline, BaselineMismatch, build_baseline, save_baseline
from monitor.probes.cli import execute
from monitor.probes.config import ProbeSettings
from monitor.probes.runner import RunnerSettings
from monitor.probes.scheduler import ProbeScheduler
from monitor.probes.suite import Suite, parse_suite
from monitor.store import Store
from tests.monitor.probes.tw_probes_upstream import Policy, ScriptedUpstream

FAST = RunnerSettings(max_concurrency=16, max_per_minute=100000)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture(scope="module")
def baseline(default_suite: Suite, refusal_classifier: Any) -> Baseline:
    up = ScriptedUpstream(default_suite, Policy()).start()
    try:
        output, scored = execute(up.base_url, default_suite, FAST, refusal_classifier)
    finally:
        up.stop()
    return build_baseline(suite=default_suite, output=output, scored=scored, settings=FAST)


def settings(**kw: Any) -> ProbeSettings:
    return ProbeSettings(**{"max_concurrency": 16, "max_per_minute": 100000, **kw})


def hosted(reg: CollectorRegistry) -> DetectorHost:
    """A detector host exported on ``reg`` (as create_app wires it)."""
    host = DetectorHost()
    reg.register(DetectorCollector(host))
    return host


def make(target: str, tmp_path: Path, baseline: Baseline | None, classifier: Any,
         **kw: Any) -> tuple[ProbeScheduler, CollectorRegistry, Store, Clock]:
    reg = CollectorRegistry()
    store = Store(tmp_path / "tw.db")
    clock = Clock()
    sched = ProbeScheduler(settings=settings(**kw), metrics=Metrics(reg).probes, store=store,
                           host=hosted(reg), target_base_url=target, clock=clock,
                           classifier=classifier, baseline=baseline)
    return sched, reg, store, clock


def value(reg: CollectorRegistry, name: str, **labels: str) -> float:
    v = reg.get_sample_value(name, labels)
    return 0.0 if v is None else v


async def test_run_writes_rows_and_metrics(
    make_upstream: Callable[..., ScriptedUpstream], baseline: Baseline, refusal_classifier: Any,
    tmp_path: Path,
) -> None:
    up = make_upstream()
    sched, reg, store, clock = make(up.base_url, tmp_path, baseline, refusal_classifier)
    res = await sched.run_once()
    assert res.status == "ok" and res.regressions == []
    assert up.seen.probe_headers == {res.run_id}
    rows = store.query("SELECT status, attempts, regressions, summary FROM probe_runs")
    assert len(rows) == 1 and rows[0][:3] == ("ok", 171, "[]")
    assert json.loads(rows[0][3])["capability"]["regression"] is False
    assert store.query("SELECT count(*) FROM probe_attempts")[0][0] == 171
    total = sum(value(reg, "tunewatch_probe_attempts_total", category=c, outcome=o)
                for c in ("disallowed", "obfuscated", "injection", "disclosure", "capability",
                          "fairness") for o in ("pass", "fail", "unscoreable"))
    assert total == 171
    assert value(reg, "tunewatch_probe_runs_total", status="ok") == 1
    assert value(reg, "tunewatch_probe_last_success_timestamp_seconds") == res.ended_at
    assert value(reg, "tunewatch_probe_run_duration_seconds") == res.ended_at - res.started_at
    assert value(reg, "tunewatch_refusal_verdicts_total", source="probe", category="disallowed",
                 verdict="refused") > 20
    assert value(reg, "tunewatch_probe_regression_detected", category="disallowed") == 0
    assert 0 < value(reg, "tunewatch_probe_regression_pvalue", category="capability") <= 1
    assert value(reg, "tunewatch_refusal_cusum_threshold", source="probe",
                 category="obfuscated") > 0
    assert 0.5 < value(reg, "tunewatch_refusal_rate", source="probe", category="disallowed") <= 1
    assert 0.5 < value(reg, "tunewatch_refusal_rate_baseline", source="probe",
                       category="disallowed") <= 1


async def test_failed_run_is_counted_and_does_not_advance_last_success(
    make_upstream: Callable[..., ScriptedUpstream], baseline: Baseline, refusal_classifier: Any,
    tmp_path: Path,
) -> None:
    up = make_upstream()
    sched, reg, store, clock = make(up.base_url, tmp_path, baseline, refusal_classifier,
                                    subset_size=10)
    ok = await sched.run_once()
    up.policy.status = 503  # every attempt errors
    bad = await sched.run_once()
    assert bad.status == "failed" and "every probe attempt failed (http_503)" in (bad.error or "")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sched.target_base_url = f"http://127.0.0.1:{port}/v1"
    gone = await sched.run_once()
    assert gone.status == "failed" and "TargetUnreachable" in (gone.error or "")
    assert value(reg, "tunewatch_probe_runs_total", status="failed") == 2
    assert value(reg, "tunewatch_probe_runs_total", status="ok") == 1
    assert value(reg, "tunewatch_probe_last_success_timestamp_seconds") == ok.ended_at
    assert value(reg, "tunewatch_probe_last_run_timestamp_seconds") == gone.ended_at
    assert value(reg, "tunewatch_monitor_errors_total", stage="probe") == 2
    assert store.query("SELECT status FROM probe_runs ORDER BY started_at") == [
        ("ok",), ("failed",), ("failed",)]


async def test_overlapping_runs_are_skipped(
    make_upstream: Callable[..., ScriptedUpstream], baseline: Baseline, refusal_classifier: Any,
    tmp_path: Path,
) -> None:
    up = make_upstream(Policy(delay_s=0.2))
    sched, reg, _, _ = make(up.base_url, tmp_path, baseline, refusal_classifier, subset_size=4)
    a, b = await asyncio.gather(sched.run_once(), sched.run_once())
    assert sorted([a.status, b.status]) == ["ok", "skipped"]
    assert value(reg, "tunewatch_probe_runs_total", status="skipped") == 1


async def test_regression_metric_and_cusum_state_survive_restart(
    make_upstream: Callable[..., ScriptedUpstream], baseline: Baseline, refusal_classifier: Any,
    tmp_path: Path,
) -> None:
    up = make_upstream(Policy(refuse_disallowed=0.0))
    # the first 29 units of the suite are the disallowed probes
    sched, reg, store, _ = make(up.base_url, tmp_path, baseline, refusal_classifier,
                                subset_size=29)
    res = await sched.run_once()
    assert res.regressions == ["disallowed"]
    assert value(reg, "tunewatch_probe_regression_detected", category="disallowed") == 1
    st = res.cusum["disallowed"]
    assert st.drift and st.n >= 25
    assert value(reg, "tunewatch_refusal_regression_detected", source="probe",
                 category="disallowed") == 1
    assert value(reg, "tunewatch_refusal_cusum_statistic", source="probe",
                 category="disallowed") == pytest.approx(st.statistic)
    # the run's stored summary carries the CUSUM state next to the per-run test (evidence packs)
    [(summary,)] = store.query("SELECT summary FROM probe_runs WHERE run_id = ?", (res.run_id,))
    assert json.loads(summary)["disallowed"]["cusum"] == st.as_dict()
    sched.shutdown()
    # a new scheduler on the same database continues from the saved state
    reg2 = CollectorRegistry()
    again = ProbeScheduler(settings=settings(), metrics=Metrics(reg2).probes, store=store,
                           host=hosted(reg2), target_base_url=up.base_url,
                           classifier=refusal_classifier, baseline=baseline)
    restored = again.cusum_states()["disallowed"]
    assert (restored.n, restored.statistic, restored.drift) == (st.n, st.statistic, True)
    assert value(reg2, "tunewatch_refusal_regression_detected", source="probe",
                 category="disallowed") == 1
    res2 = await again.run_once()
    # the same 29 units again, same epoch: counted once (the evidence ledger), repeats counted
    assert res2.cusum["disallowed"].n == st.n
    report = again.host.report("refusal_rate/probe/disallowed")
    assert report is not None and (report.epoch, report.admitted, report.duplicates) == (
        res.epoch, st.n, st.n)
    # the host resets the probe CUSUMs like any detector; the reset state is saved at once
    assert again.host.reset("refusal_rate/probe/disallowed") == ["refusal_rate/probe/disallowed"]
    assert value(reg2, "tunewatch_refusal_regression_detected", source="probe",
                 category="disallowed") == 0
    third = ProbeScheduler(settings=settings(), metrics=Metrics(CollectorRegistry()).probes, store=store,
                           host=DetectorHost(), target_base_url=up.base_url,
                           classifier=refusal_classifier, baseline=baseline)
    assert third.cusum_states()["disallowed"].n == 0


async def test_rotating_subset_advances_and_persists(
    make_upstream: Callable[..., ScriptedUpstream], baseline: Baseline, refusal_classifier: Any,
    tmp_path: Path,
) -> None:
    up = make_upstream()
    sched, _, store, _ = make(up.base_url, tmp_path, baseline, refusal_classifier,
                              subset_size=10)
    r1 = await sched.run_once()
    r2 = await sched.run_once()
    ids = {r: {x[0] for x in store.query("SELECT probe_id FROM probe_attempts WHERE run_id = ?",
                                         (r,))} for r in (r1.run_id, r2.run_id)}
    assert len(ids[r1.run_id]) == len(ids[r2.run_id]) == 10
    assert not ids[r1.run_id] & ids[r2.run_id]
    # only the categories in the subset are judged, against the same probes of the baseline
    assert set(r1.evaluation.comparisons) == {"disallowed"}  # type: ignore[union-attr]
    sched2, _, _, _ = make(up.base_url, tmp_path, baseline, refusal_classifier, subset_size=10)
    r3 = await sched2.run_once()
    ids3 = {x[0] for x in store.query("SELECT probe_id FROM probe_attempts WHERE run_id = ?",
                                      (r3.run_id,))}
    assert not ids3 & (ids[r1.run_id] | ids[r2.run_id])


async def test_start_runs_on_schedule_and_shutdown(
    make_upstream: Callable[..., ScriptedUpstream], baseline: Baseline, refusal_classifier: Any,
    tmp_path: Path,
) -> None:
    up = make_upstream()
    reg = CollectorRegistry()
    sched = ProbeScheduler(settings=settings(enabled=True, interval_seconds=3600, subset_size=5,
                                             first_run_delay_s=0.05),
                           metrics=Metrics(reg).probes, store=Store(tmp_path / "s.db"),
                           host=DetectorHost(), classifier=refusal_classifier, baseline=baseline)
    ran = asyncio.Event()
    sched.add_result_listener(lambda result: ran.set())
    assert not sched.started
    sched.start(target_base_url=up.base_url)  # the daemon passes its own proxy URL
    assert sched.started
    try:
        await asyncio.wait_for(ran.wait(), timeout=30)  # the first scheduled run, 0.05 s in
        assert value(reg, "tunewatch_probe_runs_total", status="ok") == 1
    finally:
        sched.shutdown()
    assert not sched.started


def test_baseline_of_another_suite_is_refused(baseline: Baseline, tmp_path: Path) -> None:
    other = parse_suite("""
suite: tiny
version: 1
probes:
  - {id: c1, category: capability, subcategory: qa, prompt: "2+2?", expected: answer,
     scoring: {type: numeric, answer: 4}}
""")
    with pytest.raises(BaselineMismatch, match="not comparable"):
        ProbeScheduler(settings=settings(), metrics=Metrics(CollectorRegistry()).probes,
                       store=Store(tmp_path / "x.db"), host=DetectorHost(),
                       target_base_url="http://127.0.0.1:9/v1", suite=other, baseline=baseline)


def test_baseline_path_in_settings_is_loaded(baseline: Baseline, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save_baseline(baseline, path)
    host = DetectorHost()
    sched = ProbeScheduler(settings=settings(baseline=path), metrics=Metrics(CollectorRegistry()).probes,
                           store=Store(tmp_path / "y.db"), host=host,
                           target_base_url="http://127.0.0.1:9/v1")
    assert sched.baseline is not None and sched.baseline.run_id == baseline.run_id
    assert set(sched.cusum_states()) == {"disallowed", "obfuscated"}
    assert host.names() == ["refusal_rate/probe/disallowed", "refusal_rate/probe/obfuscated"]


def test_settings_errors_name_key_and_fix() -> None:
    for kw, key in [({"cron": "hourly"}, "probes.cron"),
                    ({"interval_seconds": 1}, "probes.interval_seconds"),
                    ({"subset_size": 0}, "probes.subset_size"),
                    ({"min_effect_size": 0}, "probes.min_effect_size"),
                    ({"alpha": 0.9}, "probes.alpha")]:
        with pytest.raises(ValueError) as ei:
            ProbeSettings(**kw)
        assert key in str(ei.value) and "fix:" in str(ei.value)


def test_daemon_probes_share_the_analysis_cache_dir(upstream, tmp_path: Path) -> None:
    """The prober's refusal classifier loads its static embeddings from ``analysis.cache_dir``
    (the image bakes them there), not from a per-user default it would distil into."""
    import shutil

    from detectors.embeddings import DEFAULT_STATIC_CACHE
    from tests.support.daemon import run_daemon, settings_for

    baked = tmp_path / "baked"
    shutil.copytree(DEFAULT_STATIC_CACHE.expanduser(), baked / "static-minilm")
    _, url = upstream
    s = settings_for(url, tmp_path, analysis={"cache_dir": str(baked)},
                     probes={"enabled": True, "classifier": "static", "cron": "0 0 1 1 *"})
    with run_daemon(s) as d:
        assert d.daemon.probes is not None
        clf = d.daemon.probes._load_classifier("static")
        assert clf.embedder.cache_dir == baked / "static-minilm"


def test_admin_api_lists_and_resets_the_probe_cusums(upstream, baseline: Baseline,
                                                     tmp_path: Path) -> None:
    """The probe CUSUMs are hosted detectors: /v1/detectors shows them, /metrics exports them and
    POST /v1/detectors/reset reaches them."""
    import httpx

    from tests.support.daemon import run_daemon, settings_for

    path = tmp_path / "b.json"
    save_baseline(baseline, path)
    _, url = upstream
    s = settings_for(url, tmp_path, probes={"enabled": True, "baseline": str(path),
                                            "classifier": "static", "cron": "0 0 1 1 *"})
    name = "refusal_rate/probe/disallowed"
    labels = {"source": "probe", "category": "disallowed"}
    with run_daemon(s) as d:
        from detectors.ledger import Evidence

        # probes stopped refusing: 60 distinct units, each counted once
        d.daemon.host.update_many(name, [Evidence(unit=f"u{i}", epoch="ep-x", value=False)
                                         for i in range(60)] * 2)
        states = httpx.get(d.admin_url + "/v1/detectors").json()["detectors"]
        assert states[name]["drift"] is True and states[name]["n"] == 60
        ev = states[name]["evidence"]
        assert (ev["epoch"], ev["admitted"], ev["duplicates"]) == ("ep-x", 60, 60)
        assert ev["units"] == 29 and ev["coverage"] == 1.0
        assert d.value("tunewatch_refusal_regression_detected", labels) == 1
        r = httpx.post(d.admin_url + "/v1/detectors/reset", params={"name": name})
        assert r.status_code == 200 and r.json() == {"reset": [name]}
        after = httpx.get(d.admin_url + "/v1/detectors").json()["detectors"][name]
        assert after["n"] == 0 and after["drift"] is False
        # a reset acknowledges: the 60 units stay counted, so re-sending them adds nothing
        assert after["evidence"]["admitted"] == 60
        assert d.value("tunewatch_refusal_regression_detected", labels) == 0
        d.daemon.host.update_many(name, [Evidence(unit=f"u{i}", epoch="ep-x", value=False)
                                         for i in range(60)])
        assert d.daemon.host.state(name).n == 0
        r = httpx.post(d.admin_url + "/v1/detectors/reset", params={"name": name,
                                                                   "forget": "true"})
        assert r.status_code == 200
        assert "evidence" not in httpx.get(d.admin_url + "/v1/detectors").json()["detectors"][name]
