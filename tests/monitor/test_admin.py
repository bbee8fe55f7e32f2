"""Admin port: health, readiness, metrics exposition (checked by promtool), auth, OpenAPI."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.support.binaries import require_binary
from tests.support.daemon import run_daemon, settings_for


def test_health_ready_status_and_openapi(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        assert httpx.get(d.admin_url + "/healthz").json() == {"status": "ok"}
        d.call(d.daemon.upstream.check())
        r = httpx.get(d.admin_url + "/readyz")
        assert r.status_code == 200 and r.json()["components"]["upstream"]["ok"] is True
        status = httpx.get(d.admin_url + "/v1/status").json()
        assert status["upstream"]["models"] == ["scripted-model-v1"]
        spec = httpx.get(d.admin_url + "/openapi.json").json()
        assert {"/healthz", "/readyz", "/metrics", "/v1/status"} <= set(spec["paths"])
        # the proxy port does not serve the admin endpoints: they go upstream
        assert httpx.get(d.proxy_url + "/metrics").status_code == 404


def test_not_ready_when_upstream_down() -> None:
    s = settings_for("http://127.0.0.1:9")
    with run_daemon(s) as d:
        d.call(d.daemon.upstream.check())
        r = httpx.get(d.admin_url + "/readyz")
        assert r.status_code == 503 and r.json()["components"]["upstream"]["ok"] is False
        assert httpx.get(d.admin_url + "/healthz").status_code == 200


def test_bearer_token_required_when_configured(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url, admin={"token": "s3cret-token"})) as d:
        assert httpx.get(d.admin_url + "/v1/status").status_code == 401
        bad = httpx.get(d.admin_url + "/v1/status", headers={"authorization": "Bearer nope"})
        assert bad.status_code == 401
        ok = httpx.get(d.admin_url + "/v1/status", headers={"authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        # scrapers and kubelet probes need no token
        assert httpx.get(d.admin_url + "/metrics").status_code == 200
        assert httpx.get(d.admin_url + "/healthz").status_code == 200


@pytest.mark.prometheus
def test_exposition_passes_promtool_check_metrics(upstream) -> None:
    promtool = require_binary("promtool")
    _, url = upstream
    with run_daemon(settings_for(url)) as d, httpx.Client() as c:
        c.post(d.proxy_url + "/v1/chat/completions",
               json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True})
        c.get(d.proxy_url + "/test/status/503")
        assert d.daemon.worker.wait_idle(10)
        text = httpx.get(d.admin_url + "/metrics").text
    assert "tunewatch_requests_total" in text and "tunewatch_build_info" in text
    proc = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert proc.stdout.decode().strip() == "" and proc.stderr.decode().strip() == ""
