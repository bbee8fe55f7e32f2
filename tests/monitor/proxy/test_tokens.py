"""monitor/proxy/tokens.py through the real daemon and the OpenAI SDK, against the scripted upstream:
tokens on every response (sampled or not), per-token latency, adapter labels, bounded model labels,
errors, fail-open, and the GenAI semantic-convention names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI

from monitor.proxy.usage import UsageScanner
from tests.support.daemon import RunningDaemon, run_daemon, settings_for
from tests.support.net import free_port

MODEL = "scripted-model-v1"
MSGS = [{"role": "user", "content": "tides"}]
FAMILIES = ("tunewatch_request_tokens", "tunewatch_operation_duration_seconds",
            "tunewatch_time_to_first_token_seconds", "tunewatch_time_per_output_token_seconds")


def _client(base: str) -> OpenAI:
    return OpenAI(base_url=base + "/v1", api_key="sk-test", max_retries=0)


def _labels(model: str = MODEL, *, operation: str = "chat", request: str | None = None,
            base: str | None = None, **extra: str) -> dict[str, str]:
    return {"operation": operation, "request_model": request or model, "model": model,
            "base_model": base or model, **extra}


def _tokens(d: RunningDaemon, kind: str, source: str, stat: str = "sum", **labels: Any) -> float:
    return d.value(f"tunewatch_request_tokens_{stat}", _labels(**labels, type=kind, source=source))


@pytest.fixture
def daemon(upstream) -> Iterator[tuple[Any, RunningDaemon]]:
    up, url = upstream
    # sampling off: tokens are counted on every response, not only on sampled ones
    with run_daemon(settings_for(url, sampling={"rate": 0.0})) as d:
        d.call(d.daemon.upstream.check())  # the model list, as the poll at startup reads it
        yield up, d


def test_json_usage_is_counted_for_unsampled_responses(daemon) -> None:
    up, d = daemon
    via = _client(d.proxy_url)
    r = via.chat.completions.create(model=MODEL, messages=MSGS)
    c = via.completions.create(model=MODEL, prompt="The sea")
    assert r.usage is not None and c.usage is not None
    assert _tokens(d, "input", "usage") == r.usage.prompt_tokens
    assert _tokens(d, "output", "usage") == r.usage.completion_tokens
    assert _tokens(d, "output", "usage", operation="text_completion") == c.usage.completion_tokens
    assert _tokens(d, "output", "usage", stat="count") == 1
    assert d.value("tunewatch_operation_duration_seconds_count",
                   _labels(error_type="")) == 1
    assert d.value("tunewatch_samples_total", {"route": "/v1/chat/completions"}) == 0
    # no streams: no per-token latency
    assert d.value("tunewatch_time_to_first_token_seconds_count", _labels()) == 0


def test_stream_with_include_usage_takes_the_usage_chunk(daemon) -> None:
    _, d = daemon
    chunks = list(_client(d.proxy_url).chat.completions.create(
        model=MODEL, messages=MSGS, stream=True, stream_options={"include_usage": True}))
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 1
    assert d.wait_for(lambda: _tokens(d, "output", "usage") == usage.completion_tokens)
    assert _tokens(d, "input", "usage") == usage.prompt_tokens
    assert _tokens(d, "output", "estimate", stat="count") == 0
    assert d.value("tunewatch_time_to_first_token_seconds_count", _labels()) == 1
    assert d.value("tunewatch_time_per_output_token_seconds_count", _labels()) == 1


def test_stream_without_usage_is_estimated_from_the_deltas(daemon) -> None:
    up, d = daemon
    pieces = [c.choices[0].delta.content for c in _client(d.proxy_url).chat.completions.create(
        model=MODEL, messages=MSGS, stream=True, extra_headers={"x-test-delay": "0.02"})
        if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 3
    # the SDK stops at [DONE]; the accounting happens as the upstream's body ends, just after
    assert d.wait_for(lambda: _tokens(d, "output", "estimate") == len(pieces))
    assert _tokens(d, "input", "estimate", stat="count") == 0  # input is not estimated
    assert _tokens(d, "output", "usage", stat="count") == 0
    ttft = d.value("tunewatch_time_to_first_token_seconds_sum", _labels())
    tpot = d.value("tunewatch_time_per_output_token_seconds_sum", _labels())
    duration = d.value("tunewatch_operation_duration_seconds_sum", _labels(error_type=""))
    # 20 ms between chunks upstream: each token after the first took about that long
    assert 0 < ttft < duration
    assert 0.015 < tpot < 0.2
    assert tpot == pytest.approx((duration - ttft) / (len(pieces) - 1), rel=0.05)


def test_adapters_carry_their_base_model_and_unlisted_names_are_other(upstream) -> None:
    up, url = upstream
    up.model = "tw-safe"
    up.models_body = {"object": "list", "data": [
        {"id": "gemma-3-270m", "object": "model", "root": "/models/gemma", "parent": None},
        {"id": "tw-safe", "object": "model", "root": "/adapters/tw-safe",
         "parent": "gemma-3-270m"}]}
    with run_daemon(settings_for(url)) as d:
        d.call(d.daemon.upstream.check())
        via = _client(d.proxy_url)
        via.chat.completions.create(model="tw-safe", messages=MSGS)
        assert _tokens(d, "output", "usage", stat="count", model="tw-safe",
                       base="gemma-3-270m") == 1
        # a request model the upstream does not list is client text: never a label value
        up.model = "My private question?"
        via.chat.completions.create(model="My private question?", messages=MSGS)
        assert _tokens(d, "output", "usage", stat="count", model="other") == 1
        ours = [line for line in httpx.get(d.admin_url + "/metrics").text.splitlines()
                if line.startswith(FAMILIES)]
        assert ours and not [line for line in ours if "My private question" in line]


def test_model_labels_are_bounded_before_a_model_list_is_known(upstream) -> None:
    up, url = upstream
    up.models_body = {"object": "list", "data": []}  # a server that lists no models
    with run_daemon(settings_for(url, metrics={"max_label_values": 2})) as d:
        via = _client(d.proxy_url)
        for name in ("a", "b", "c", "d"):
            up.model = name
            via.chat.completions.create(model=name, messages=MSGS)
        assert [_tokens(d, "output", "usage", stat="count", model=m) for m in "ab"] == [1, 1]
        assert _tokens(d, "output", "usage", stat="count", model="other") == 2


def test_errors_are_in_the_operation_duration_with_their_type(upstream) -> None:
    up, url = upstream
    dead = f"http://127.0.0.1:{free_port()}"
    with run_daemon(settings_for(url)) as d, run_daemon(settings_for(dead)) as gone:
        r = httpx.post(d.proxy_url + "/v1/chat/completions", content=b"not json")
        assert r.status_code == 400
        assert d.value("tunewatch_operation_duration_seconds_count",
                       _labels("unknown", error_type="400")) == 1
        r = httpx.post(gone.proxy_url + "/v1/completions", json={"model": "m", "prompt": "x"})
        assert r.status_code == 502
        assert gone.value("tunewatch_operation_duration_seconds_count", _labels(
            "m", operation="text_completion", error_type="upstream_unreachable")) == 1
        # other routes are not generations
        httpx.get(d.proxy_url + "/v1/models")
        assert d.value("tunewatch_operation_duration_seconds_count",
                       _labels("unknown", operation="other", error_type="")) == 0


def test_a_failing_scanner_fails_open(daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    up, d = daemon

    def boom(self: UsageScanner, chunk: bytes) -> None:
        raise RuntimeError("scanner bug")

    monkeypatch.setattr(UsageScanner, "feed", boom)
    via = _client(d.proxy_url)
    a = [c.model_dump() for c in via.chat.completions.create(model=MODEL, messages=MSGS,
                                                             stream=True)]
    b = via.chat.completions.create(model=MODEL, messages=MSGS)
    assert len(a) > 3 and b.choices[0].message.content
    assert d.wait_for(lambda: d.value("tunewatch_monitor_errors_total", {"stage": "usage"}) == 2)
    # the request itself is still accounted, only without tokens
    assert d.value("tunewatch_operation_duration_seconds_count", _labels(error_type="")) == 2
    assert _tokens(d, "output", "usage", stat="count") == 0


def test_token_usage_off_records_nothing(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url, metrics={"token_usage": False})) as d:
        _client(d.proxy_url).chat.completions.create(model=MODEL, messages=MSGS)
        assert d.value("tunewatch_operation_duration_seconds_count", _labels(error_type="")) == 0
        assert d.value("tunewatch_requests_total", {"route": "/v1/chat/completions",
                                                    "method": "POST", "status_class": "2xx"}) == 1


def test_genai_names_are_opt_in_and_carry_the_same_values(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        _client(d.proxy_url).chat.completions.create(model=MODEL, messages=MSGS)
        assert "gen_ai_client_token_usage" not in httpx.get(d.admin_url + "/metrics").text
    with run_daemon(settings_for(url, metrics={"genai_names": True})) as d:
        d.call(d.daemon.upstream.check())
        via = _client(d.proxy_url)
        r = via.chat.completions.create(model=MODEL, messages=MSGS)
        list(via.chat.completions.create(model=MODEL, messages=MSGS, stream=True))
        assert r.usage is not None
        assert d.wait_for(lambda: d.value("tunewatch_time_to_first_token_seconds_count",
                                          _labels()) == 1)
        common = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
                  "gen_ai_request_model": MODEL, "gen_ai_response_model": MODEL,
                  "tunewatch_base_model": MODEL}
        assert d.value("gen_ai_client_token_usage_sum", {
            **common, "gen_ai_token_type": "output", "tunewatch_token_source": "usage"}
        ) == r.usage.completion_tokens == _tokens(d, "output", "usage")
        assert d.value("gen_ai_client_operation_duration_seconds_count",
                       {**common, "error_type": ""}) == 2
        for name in ("gen_ai_server_time_to_first_token_seconds",
                     "gen_ai_server_time_per_output_token_seconds"):
            assert d.value(name + "_count", common) == 1
            assert d.value(name + "_bucket", {**common, "le": "+Inf"}) == 1
        text = httpx.get(d.admin_url + "/metrics").text
        assert 'gen_ai_server_time_to_first_token_seconds_bucket{' in text
        assert '# TYPE gen_ai_client_token_usage histogram' in text
