"""monitor/proxy/health.py: readiness from GET /v1/models and the model list as a fingerprint."""

from __future__ import annotations

import hashlib

from monitor.proxy.health import UpstreamMonitor
from tests.support.net import free_port


def monitor(url: str, seen: list[str], errors: list[int]) -> UpstreamMonitor:
    return UpstreamMonitor(url=url, probe_header="x-tunewatch-probe", interval_s=0,
                           observe_models=seen.append, on_error=lambda: errors.append(1),
                           clock=lambda: 42.0)


async def test_a_healthy_upstream_reports_its_models(upstream) -> None:
    app, url = upstream
    seen: list[str] = []
    m = monitor(url, seen, [])
    assert await m.check() is True
    assert m.health.as_dict() == {"ok": True, "last_check": 42.0, "error": None}
    assert m.health.models == ["scripted-model-v1"]
    assert seen == [hashlib.sha256(b"scripted-model-v1").hexdigest()[:16]]
    # the poll is marked like probe traffic: a sidecar in front never samples it
    assert app.requests[-1]["headers"]["x-tunewatch-probe"] == "health"


async def test_an_unreachable_upstream_is_not_ready() -> None:
    seen: list[str] = []
    m = monitor(f"http://127.0.0.1:{free_port()}", seen, [])
    assert await m.check() is False
    assert m.health.ok is False and m.health.error == "ConnectError" and seen == []


async def test_run_checks_once_when_polling_is_off(upstream) -> None:
    _, url = upstream
    errors: list[int] = []
    m = monitor(url, [], errors)
    await m.run()  # interval 0: one check, then return
    assert m.health.ok is True and errors == []


class Reports:
    """Records what the poller hands over; raises like a parser on a marked body."""

    def __init__(self) -> None:
        self.models_bodies: list[object] = []
        self.llamacpp_bodies: list[tuple[object, object]] = []

    def models(self, body: object) -> None:
        self.models_bodies.append(body)

    def llamacpp(self, props: object, lora_adapters: object) -> None:
        if isinstance(props, dict) and props.get("model_path") == 42:
            raise ValueError("model_path must be a non-empty string")
        self.llamacpp_bodies.append((props, lora_adapters))


def with_reports(url: str, reports: Reports, errors: list[int]) -> UpstreamMonitor:
    return UpstreamMonitor(url=url, probe_header="x-tunewatch-probe", interval_s=0,
                           observe_models=lambda _: None, on_error=lambda: errors.append(1),
                           clock=lambda: 42.0, reports=reports)


async def test_a_server_without_props_is_asked_once(upstream) -> None:
    app, url = upstream
    reports, errors = Reports(), []
    m = with_reports(url, reports, errors)
    await m.check()
    await m.check()
    assert [r["path"] for r in app.requests] == ["/v1/models", "/props", "/v1/models"]
    assert reports.models_bodies == [{"object": "list", "data": [
        {"id": "scripted-model-v1", "object": "model"}]}] * 2
    assert reports.llamacpp_bodies == [] and errors == []
    assert all(r["headers"]["x-tunewatch-probe"] == "health" for r in app.requests)


async def test_llamacpp_props_and_lora_adapters_are_handed_over(upstream) -> None:
    app, url = upstream
    app.props = {"model_path": "/models/gemma.gguf", "total_slots": 1}
    app.lora_adapters = [{"id": 0, "path": "/adapters/tw-safe.gguf", "scale": 1.0}]
    reports, errors = Reports(), []
    m = with_reports(url, reports, errors)
    await m.check()
    await m.check()
    assert reports.llamacpp_bodies == [(app.props, app.lora_adapters)] * 2
    app.lora_adapters = None  # a llama.cpp build without the route: props alone
    await m.check()
    assert reports.llamacpp_bodies[-1] == (app.props, None) and errors == []


async def test_a_body_the_receiver_cannot_parse_is_a_counted_error_not_a_crash(upstream) -> None:
    app, url = upstream
    app.props = {"model_path": 42}
    reports, errors = Reports(), []
    m = with_reports(url, reports, errors)
    assert await m.check() is True  # still healthy: readiness is about the model list
    assert errors == [1] and reports.llamacpp_bodies == []
