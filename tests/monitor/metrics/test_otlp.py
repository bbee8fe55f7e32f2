"""monitor/metrics/otlp.py: the GenAI instruments over OTLP/HTTP through the OpenTelemetry SDK,
received by an in-test OTLP/HTTP receiver on loopback (protobuf decoded with opentelemetry-proto),
from the real daemon under traffic from the scripted upstream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from openai import OpenAI
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from monitor.config import ConfigError, load_settings
from tests.support.daemon import run_daemon, settings_for
from tests.support.net import free_port

MODEL = "scripted-model-v1"


class Receiver:
    """Collects every ``POST /v1/metrics`` body; answers ``status`` (200 = accepted)."""

    def __init__(self) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.got = threading.Condition()


@contextmanager
def otlp_receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/v1/metrics" and rec.status == 200:
                req = ExportMetricsServiceRequest()
                req.ParseFromString(body)
                with rec.got:
                    rec.requests.append(req)
                    rec.headers.append({k.lower(): v for k, v in self.headers.items()})
                    rec.got.notify_all()
            self.send_response(rec.status if self.path == "/v1/metrics" else 404)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec, f"http://127.0.0.1:{server.server_address[1]}/v1/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _points(req: ExportMetricsServiceRequest) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, []).extend(m.histogram.data_points)
    return out


def _attrs(point: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in point.attributes}


def test_genai_instruments_reach_an_otlp_receiver(upstream) -> None:
    _, url = upstream
    with otlp_receiver() as (rec, endpoint):
        settings = settings_for(url, metrics={"otlp": {
            "endpoint": endpoint, "interval_s": 1, "headers": {"x-otlp-token": "t0k"}}})
        with run_daemon(settings) as d:
            d.call(d.daemon.upstream.check())
            via = OpenAI(base_url=d.proxy_url + "/v1", api_key="sk-test", max_retries=0)
            msgs = [{"role": "user", "content": "tides"}]
            r = via.chat.completions.create(model=MODEL, messages=msgs)
            list(via.chat.completions.create(model=MODEL, messages=msgs, stream=True))
            assert r.usage is not None
            assert d.wait_for(lambda: d.value("tunewatch_time_to_first_token_seconds_count", {
                "operation": "chat", "request_model": MODEL, "model": MODEL,
                "base_model": MODEL}) == 1)
            with rec.got:  # an export after the traffic: interval 1 s, bounded wait
                n = len(rec.requests)
                assert rec.got.wait_for(lambda: len(rec.requests) >= n + 2, timeout=15)
                last = rec.requests[-1]
                headers = rec.headers[-1]
            assert d.wait_for(lambda: d.value("tunewatch_otlp_exports_total",
                                              {"result": "ok"}) >= 2)
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-otlp-token"] == "t0k"
    resource = {kv.key: kv.value.string_value
                for kv in last.resource_metrics[0].resource.attributes}
    assert resource["service.name"] == "tunewatch"
    points = _points(last)
    assert set(points) == {"gen_ai.client.token.usage", "gen_ai.client.operation.duration",
                           "gen_ai.server.time_to_first_token",
                           "gen_ai.server.time_per_output_token"}
    usage = {(_attrs(p)["gen_ai.token.type"], _attrs(p)["tunewatch.token.source"]): p
             for p in points["gen_ai.client.token.usage"]}
    out = usage[("output", "usage")]
    assert out.sum == r.usage.completion_tokens and out.count == 1
    assert sum(out.bucket_counts) == out.count
    assert list(out.explicit_bounds)[:4] == [1, 4, 16, 64]
    assert not out.HasField("min") and not out.HasField("max")
    assert out.start_time_unix_nano < out.time_unix_nano
    assert _attrs(out) == {
        "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
        "gen_ai.request.model": MODEL, "gen_ai.response.model": MODEL,
        "tunewatch.base_model": MODEL, "gen_ai.token.type": "output",
        "tunewatch.token.source": "usage"}
    assert ("output", "estimate") in usage  # the stream without include_usage
    ttft = points["gen_ai.server.time_to_first_token"][0]
    assert ttft.count == 1 and list(ttft.explicit_bounds)[:3] == [0.001, 0.005, 0.01]
    duration = points["gen_ai.client.operation.duration"][0]
    assert duration.count == 2 and "error.type" not in _attrs(duration)
    assert list(duration.explicit_bounds)[-1] == 81.92


def test_a_collector_that_refuses_is_counted_and_traffic_is_unaffected(upstream) -> None:
    _, url = upstream
    with otlp_receiver() as (rec, endpoint):
        rec.status = 503
        settings = settings_for(url, metrics={"otlp": {"endpoint": endpoint, "interval_s": 1,
                                                       "timeout_s": 2}})
        with run_daemon(settings) as d:
            via = OpenAI(base_url=d.proxy_url + "/v1", api_key="sk-test", max_retries=0)
            r = via.chat.completions.create(model=MODEL,
                                            messages=[{"role": "user", "content": "x"}])
            assert r.choices[0].message.content
            assert d.wait_for(lambda: d.value("tunewatch_otlp_exports_total",
                                              {"result": "failed"}) >= 1, timeout=20)
            assert d.value("tunewatch_otlp_exports_total", {"result": "ok"}) == 0


def test_an_unreachable_collector_does_not_block_shutdown(upstream) -> None:
    _, url = upstream
    endpoint = f"http://127.0.0.1:{free_port()}/v1/metrics"
    with run_daemon(settings_for(url, metrics={"otlp": {"endpoint": endpoint,
                                                        "timeout_s": 1}})) as d:
        assert d.daemon.otlp is not None
    # the final export on stop failed and was counted; the daemon stopped
    assert d.value("tunewatch_otlp_exports_total", {"result": "failed"}) == 1


def test_a_bad_endpoint_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(None, environ={"TUNEWATCH_METRICS__OTLP__ENDPOINT": "collector:4318"})
    problem = e.value.problems[0]
    assert problem.key == "metrics.otlp.endpoint" and "http://" in problem.message
