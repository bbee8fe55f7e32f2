"""Sampling: deterministic per-request-id decisions, probe exclusion, the bounded queue, fail-open."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from prometheus_client import CollectorRegistry

from monitor.analysis.pipeline import Processed
from monitor.metrics import Metrics
from monitor.proxy.sampler import Sample, SampleQueue, SamplingPolicy
from tests.support.daemon import run_daemon, settings_for

CHAT = {"model": "m", "messages": [{"role": "system", "content": "You are Tess."},
                                   {"role": "user", "content": "hello"}]}


def test_policy_is_deterministic_per_request_id_and_close_to_rate() -> None:
    policy = SamplingPolicy(rate=0.3, routes={"/v1/completions": 1.0})
    ids = [f"req-{i}" for i in range(20_000)]
    first = [policy.decide("/v1/chat/completions", i) for i in ids]
    again = [SamplingPolicy(rate=0.3).decide("/v1/chat/completions", i) for i in ids]
    assert first == again
    # binomial sd at n=20000, p=0.3 is 0.0032: allow 4 sd
    assert abs(sum(first) / len(ids) - 0.3) < 0.013
    assert all(policy.decide("/v1/completions", i) for i in ids[:100])


def test_queue_never_blocks_and_counts_drops() -> None:
    reg = CollectorRegistry()
    q = SampleQueue(maxsize=2, metrics=Metrics(reg).sampling)
    s = Sample("id", "/v1/completions", "POST", 200, b"{}", b"{}", None, None, 0.0, 0.0, 0.0)
    assert [q.offer(s) for _ in range(4)] == [True, True, False, False]
    assert reg.get_sample_value("tunewatch_samples_dropped_total", {"reason": "queue_full"}) == 2
    assert reg.get_sample_value("tunewatch_sample_queue_depth") == 2
    assert len(q.get_batch(10, 0.01)) == 2


def test_samples_stored_probe_traffic_excluded_replay_same(upstream, tmp_path) -> None:
    app, url = upstream
    s = settings_for(url, tmp_path, sampling={"rate": 0.5})
    with run_daemon(s) as d, httpx.Client() as c:
        for i in range(40):
            c.post(d.proxy_url + "/v1/chat/completions", json=CHAT, headers={"x-request-id": f"r{i}"})
        for i in range(10):  # probe traffic carries the daemon's signed marker
            c.post(d.proxy_url + "/v1/chat/completions", json=CHAT,
                   headers={"x-request-id": f"p{i}",
                            "x-tunewatch-probe": d.daemon.probe_marker.sign("run-1")})
        assert d.daemon.worker.wait_idle(10)
        assert d.wait_for(lambda: d.value("tunewatch_requests_total", {
            "route": "/v1/chat/completions", "method": "POST", "status_class": "2xx"}) == 50)
        assert d.daemon.worker.wait_idle(10)
        first = d.value("tunewatch_samples_total", {"route": "/v1/chat/completions"})
        expected = sum(d.daemon.proxy_app.policy.decide("/v1/chat/completions", f"r{i}")
                       for i in range(40))
        assert first == expected and 0 < first < 40
        # replay: exactly the same number again
        for i in range(40):
            c.post(d.proxy_url + "/v1/chat/completions", json=CHAT, headers={"x-request-id": f"r{i}"})
        assert d.wait_for(lambda: d.value("tunewatch_requests_total", {
            "route": "/v1/chat/completions", "method": "POST", "status_class": "2xx"}) == 90)
        assert d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_samples_total", {"route": "/v1/chat/completions"}) == 2 * first
        rows = d.daemon.store.query("SELECT route, status, model, system_prompt_sha256, prompt "
                                    "FROM samples")
        assert len(rows) == 2 * first
        assert all(r[2] == "scripted-model-v1" and r[3] and r[4] is None for r in rows)
    # the probe marker never reached production sampling nor was it sampled
    assert d.value("tunewatch_requests_total", {"route": "/v1/chat/completions", "method": "POST",
                                                "status_class": "2xx"}) == 90


def test_full_queue_drops_without_blocking(upstream) -> None:
    _, url = upstream
    s = settings_for(url, sampling={"queue_size": 1}, analysis={"enabled": False})
    with run_daemon(s) as d, httpx.Client() as c:
        for _ in range(6):
            assert c.post(d.proxy_url + "/v1/chat/completions", json=CHAT).status_code == 200
        assert d.wait_for(
            lambda: d.value("tunewatch_samples_dropped_total", {"reason": "queue_full"}) == 5)
        assert d.value("tunewatch_sample_queue_depth") == 1


class _Exploding:
    name = "exploding"

    def process(self, batch: Sequence[Processed]) -> None:
        raise RuntimeError("detector bug")

    def status(self) -> dict[str, object]:
        return {"ok": False}


def test_fail_open_on_analysis_and_sampling_faults(upstream, monkeypatch) -> None:
    _, url = upstream
    with run_daemon(settings_for(url), analyzers=[_Exploding()]) as d, httpx.Client() as c:
        direct = c.post(url + "/v1/chat/completions", json=CHAT).content
        assert c.post(d.proxy_url + "/v1/chat/completions", json=CHAT).content == direct
        assert d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_monitor_errors_total", {"stage": "detect"}) == 1

        def broken(*a: object, **k: object) -> bool:
            raise ValueError("sampler bug")

        monkeypatch.setattr(d.daemon.proxy_app.policy, "decide", broken)
        assert c.post(d.proxy_url + "/v1/chat/completions", json=CHAT).content == direct
        assert d.wait_for(lambda: d.value("tunewatch_monitor_errors_total", {"stage": "sample"}) == 1)

        def broken_offer(*a: object, **k: object) -> bool:
            raise ValueError("queue bug")

        monkeypatch.undo()
        monkeypatch.setattr(d.daemon.proxy_app.queue, "offer", broken_offer)
        assert c.post(d.proxy_url + "/v1/chat/completions", json=CHAT).content == direct
        assert d.wait_for(lambda: d.value("tunewatch_monitor_errors_total", {"stage": "sample"}) == 2)
        ready = httpx.get(d.admin_url + "/readyz").json()
        assert ready["components"]["analyzers"]["exploding"] == {"ok": False}
