"""The deployment fingerprint: changes counted once, values persisted across restarts."""

from __future__ import annotations

import httpx

from tests.support.daemon import run_daemon, settings_for

CHAT = {"model": "m", "messages": [{"role": "system", "content": "You are Tess."},
                                   {"role": "user", "content": "hello"}]}


def test_fingerprint_change_counted_once(upstream, tmp_path) -> None:
    app, url = upstream
    s = settings_for(url, tmp_path)
    with run_daemon(s) as d, httpx.Client() as c:
        c.post(d.proxy_url + "/v1/chat/completions", json=CHAT)
        d.daemon.worker.wait_idle(10)
        changed = dict(CHAT, messages=[{"role": "system", "content": "You are Tess v2."},
                                       {"role": "user", "content": "hello"}])
        for _ in range(3):
            c.post(d.proxy_url + "/v1/chat/completions", json=changed)
        d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_deployment_changes_total", {"component": "system_prompt"}) == 1
        assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
        app.model = "scripted-model-v2"
        c.post(d.proxy_url + "/v1/chat/completions", json=changed)
        d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 1
        assert d.value("tunewatch_deployment_info", {"component": "model",
                                                     "value": "scripted-model-v2"}) == 1
    # a restart on the same store does not count the current values as changes
    with run_daemon(s) as d2, httpx.Client() as c:
        c.post(d2.proxy_url + "/v1/chat/completions", json=changed)
        d2.daemon.worker.wait_idle(10)
        assert d2.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
        # ...but the time of the last real change survives the restart (alerts stay firing)
        assert d2.value("tunewatch_deployment_last_change_timestamp_seconds",
                        {"component": "model"}) > 0
