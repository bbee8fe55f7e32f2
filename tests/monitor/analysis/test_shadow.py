"""monitor.analysis.shadow: what is replayed, how the request is rewritten, the rate limit."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from monitor.analysis.extract import Exchange
from monitor.analysis.pipeline import Processed
from monitor.analysis.shadow import ShadowReplay, Spacing
from monitor.config import AnalysisSettings
from monitor.detection.host import DetectorHost
from monitor.detection.state import StateTable
from monitor.metrics import Metrics
from monitor.metrics.detectors import DetectorCollector
from monitor.proxy.sampler import Sample
from monitor.store import Store


class Judge:
    """The refusal judge's interface over the scripted base answers (the real judge is used in
    tests/monitor/analysis/test_traffic_evidence.py)."""

    def verdicts(self, pairs: Any, *, finish_reasons: Any = None, errors: Any = None) -> list[str]:
        return ["refused" if "sorry" in r else "complied" for _, r in pairs]


def processed(i: int, *, source: str = "traffic", verdict: str = "complied",
              status: int = 200, route: str = "/v1/chat/completions") -> Processed:
    body = json.dumps({"model": "ft", "stream": True, "stream_options": {"include_usage": True},
                       "max_tokens": 1000, "messages": [{"role": "user", "content": f"q{i}"}]})
    sample = Sample(request_id=f"r{i}", route=route, method="POST", status=status,
                    request_body=body.encode(), response_body=b"", response_content_type=None,
                    response_content_encoding=None, started_at=0.0, duration_s=0.1,
                    upstream_s=0.1, source=source)
    ex = Exchange(route=route, prompt=f"q{i}", system_prompt=None, response="ok",
                  finish_reason="stop", model="ft", streamed=True, usage=None, error=None)
    return Processed(sample=sample, exchange=ex, prompt=f"q{i}", response="ok", verdict=verdict)


def replay(tmp_path: Any, handler: Any, **shadow: Any) -> tuple[ShadowReplay, CollectorRegistry,
                                                                  DetectorHost, list[Any]]:
    reg = CollectorRegistry()
    host = DetectorHost()
    reg.register(DetectorCollector(host))
    seen: list[Any] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return handler(request)

    a = AnalysisSettings(shadow={"base_url": "http://base.test/v1", "share": 1.0, **shadow})
    sh = ShadowReplay(a, host=host, states=StateTable(Store(str(tmp_path / "s.db"))),
                      metrics=Metrics(reg).analysis, epoch=lambda: "ep-1",
                      judge_loader=lambda *a, **k: Judge(), transport=httpx.MockTransport(record))
    return sh, reg, host, seen


def answer(text: str) -> Any:
    return lambda request: httpx.Response(200, json={
        "model": "base", "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": text}}]})


def test_replay_rewrites_the_request_and_feeds_both_directions(tmp_path: Any) -> None:
    sh, reg, host, seen = replay(tmp_path, answer("I'm sorry, I can't."), model="gemma-base",
                                 max_tokens=64, max_per_minute=1e6)
    try:
        sh.process([processed(i) for i in range(4)])
        assert sh.wait_idle(10)
    finally:
        sh.stop()
    assert [p for p, _ in seen] == ["/v1/chat/completions"] * 4
    body = seen[0][1]
    assert (body["model"], body["stream"], body["max_tokens"]) == ("gemma-base", False, 64)
    assert "stream_options" not in body and body["messages"][0]["content"] == "q0"
    assert reg.get_sample_value("tunewatch_shadow_replays_total", {"outcome": "paired"}) == 4
    # without analysis.categories all traffic is one category, watched both ways
    less = host.snapshot()["paired/traffic/all/less"]
    more = host.snapshot()["paired/traffic/all/more"]
    assert less.pairs is not None and less.pairs.base_only == 4
    assert more.pairs is not None and more.pairs.base_only == 4
    assert less.evidence is not None and less.evidence.epoch == "ep-1"
    # both directions of one category export their evidence apart (no duplicate series)
    for direction in ("less", "more"):
        assert reg.get_sample_value("tunewatch_evidence_admitted", {
            "source": "traffic_paired", "category": "all", "direction": direction}) == 4


def test_only_scored_traffic_in_the_share_is_replayed_at_the_rate_limit(tmp_path: Any) -> None:
    sh, reg, _, seen = replay(tmp_path, answer("Sure."), max_per_minute=1.0, share=1.0)
    try:
        sh.process([processed(0, source="probe"), processed(1, verdict="unscoreable"),
                    processed(2, status=500), processed(3, route="/v1/embeddings")])
        assert sh.wait_idle(5) and seen == []  # none of these is replayed
        sh.process([processed(i) for i in range(10, 15)])
        assert sh.wait_idle(10)
    finally:
        sh.stop()
    assert len(seen) == 1  # one per minute: the other four are skipped, counted
    assert reg.get_sample_value("tunewatch_shadow_replays_total", {"outcome": "rate_limited"}) == 4


def test_a_failing_base_is_counted_and_does_not_stop_the_thread(tmp_path: Any) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(503, json={"error": "busy"})
        if calls["n"] == 2:
            raise httpx.ConnectError("refused")
        return answer("Sure.")(request)

    sh, reg, _, _ = replay(tmp_path, flaky, max_per_minute=1e6)
    try:
        sh.process([processed(i) for i in range(3)])
        assert sh.wait_idle(10)
    finally:
        sh.stop()
    assert reg.get_sample_value("tunewatch_shadow_replays_total", {"outcome": "failed"}) == 2
    assert reg.get_sample_value("tunewatch_shadow_replays_total", {"outcome": "paired"}) == 1


def test_spacing_admits_at_most_the_rate() -> None:
    now = [0.0]
    sp = Spacing(per_minute=6, clock=lambda: now[0])
    got = []
    for t in range(0, 60, 2):
        now[0] = float(t)
        got.append(sp.take())
    assert sum(got) == 6 and got[0]


def test_settings_errors_name_key_and_fix() -> None:
    for kw, key in (({"shadow": {"share": 0}}, "analysis.shadow.share"),
                    ({"shadow": {"base_url": "base:8000"}}, "analysis.shadow.base_url"),
                    ({"categories": {"harmful": ["nope"]}}, "analysis.categories.harmful"),
                    ({"categories": {"baselines": {"benign": 1.5}}},
                     "analysis.categories.baselines"),
                    ({"categories": {"enabled": True}, "embedder": "none"}, "analysis.embedder"),
                    ({"categories": {"enabled": True}, "refusal_baseline_rate": 0.1},
                     "analysis.categories.baselines")):
        with pytest.raises(ValueError) as ei:
            AnalysisSettings(**kw)
        assert key in str(ei.value) and "fix:" in str(ei.value)
