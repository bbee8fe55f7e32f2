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
