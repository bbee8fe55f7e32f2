"""Strings from the wire never break a label, the store, a log line or JSON output, and the
request's ``model`` never defines the deployment (issue 13, findings 2 and 4)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from tests.support.daemon import RunningDaemon, run_daemon, settings_for
from tests.support.upstream import ScriptedUpstream, _json, run_upstream

SECRET_MODEL = "owner@corp-secret.example sk-proj-Ab3dEf6hIj9kLm2nOp5qRs"


class ModelUpstream(ScriptedUpstream):
    """Answers chat requests with ``status``; on 200 it echoes the request's ``model`` (as some
    servers do) unless ``own_model`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.own_model: str | None = None

    async def _completion(self, path: str, headers: dict[str, str], body: bytes,
                          send: Any) -> None:
        req = json.loads(body)
        if self.status != 200:
            await _json(send, self.status, {"error": {"message": "slow down", "type": "rate"}})
            return
        await _json(send, 200, {
            "id": "c", "object": "chat.completion", "created": 1,
            "model": self.own_model if self.own_model is not None else req.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}]})


def _chat(d: RunningDaemon, model_json: str) -> httpx.Response:
    body = ('{"model": ' + model_json + ', "messages": [{"role": "user", "content": "hi"}]}')
    return httpx.post(d.proxy_url + "/v1/chat/completions", content=body.encode(),
                      headers={"content-type": "application/json"}, timeout=10)


def _everything_answers(d: RunningDaemon) -> None:
    assert httpx.get(d.admin_url + "/v1/status", timeout=10).status_code == 200
    metrics = httpx.get(d.admin_url + "/metrics", timeout=10)
    assert metrics.status_code == 200, metrics.text[:200]


def test_a_lone_surrogate_model_on_an_error_reply_breaks_nothing(tmp_path) -> None:
    app = ModelUpstream()
    app.status = 429
    with run_upstream(app) as (_, url), run_daemon(settings_for(url, tmp_path)) as d:
        assert _chat(d, '"\\ud800"').status_code == 429
        assert _chat(d, '"gemma-2"').status_code == 429
        assert d.daemon.worker.wait_idle(10)
        _everything_answers(d)
        assert _chat(d, '"gemma-3"').status_code == 429
        assert d.daemon.worker.wait_idle(10)
        _everything_answers(d)
        # no sample of the batch was lost
        assert d.daemon.store.query("SELECT COUNT(*) FROM samples")[0][0] == 3


def test_a_lone_surrogate_model_in_the_upstream_answer_breaks_nothing(tmp_path) -> None:
    app = ModelUpstream()
    with run_upstream(app) as (_, url), run_daemon(settings_for(url, tmp_path)) as d:
        for model in ('"\\ud800"', '"a\\udfffb"', '"ctl\\u0000\\u001b[31m"', '"gemma"'):
            assert _chat(d, model).status_code == 200
        assert d.daemon.worker.wait_idle(10)
        _everything_answers(d)
        status = httpx.get(d.admin_url + "/v1/status", timeout=10).json()
        assert "\x1b" not in json.dumps(status, ensure_ascii=False)
        assert d.daemon.store.query("SELECT COUNT(*) FROM samples")[0][0] == 4


def test_the_request_model_never_reaches_store_labels_logs_or_tickets(tmp_path, caplog) -> None:
    app = ModelUpstream()
    app.status = 429
    triggers = {"enabled": True, "sinks": [{"type": "directory", "name": "files",
                                             "path": str(tmp_path / "tickets")}]}
    with caplog.at_level(logging.DEBUG), run_upstream(app) as (_, url):
        with run_daemon(settings_for(url, tmp_path, triggers=triggers)) as d:
            assert _chat(d, json.dumps("gemma-base")).status_code == 429
            for i in range(21):
                assert _chat(d, json.dumps(f"{SECRET_MODEL}-{i}")).status_code == 429
            assert d.daemon.worker.wait_idle(10)
            assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
            metrics = httpx.get(d.admin_url + "/metrics").text
            rows = d.daemon.store.query("SELECT model FROM samples")
            seen = d.daemon.fingerprint.history()
    assert len(rows) == 22 and all(m is None for (m,) in rows)  # only the upstream names it
    assert not [v for v in seen if v.component == "model"]
    assert "corp-secret" not in metrics and "corp-secret" not in caplog.text
    tickets = list((tmp_path / "tickets").rglob("*")) if (tmp_path / "tickets").exists() else []
    assert not [t for t in tickets if "corp-secret" in t.read_text(errors="replace")
                if t.is_file()]


def test_an_echoed_model_is_redacted_bounded_and_opens_no_ticket_per_name(tmp_path,
                                                                           caplog) -> None:
    """An upstream that echoes the request's model: only a name the upstream lists itself
    (GET /v1/models) is a deployment model; whatever is kept is redacted and bounded."""
    app = ModelUpstream()
    with caplog.at_level(logging.DEBUG), run_upstream(app) as (_, url):
        with run_daemon(settings_for(url, tmp_path)) as d:
            assert _chat(d, json.dumps(app.model)).status_code == 200
            for i in range(21):
                assert _chat(d, json.dumps(f"{SECRET_MODEL}-{i}" + "x" * 500)).status_code == 200
            assert d.daemon.worker.wait_idle(10)
            assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
            assert d.daemon.fingerprint.current()["model"] == app.model
            metrics = httpx.get(d.admin_url + "/metrics").text
            models = [m for (m,) in d.daemon.store.query("SELECT model FROM samples")]
    assert "corp-secret" not in metrics and "corp-secret" not in caplog.text
    assert models[0] == app.model
    for m in models[1:]:
        assert "corp-secret" not in m and "sk-proj" not in m and len(m) <= 128
        assert "[REDACTED:EMAIL]" in m


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "x" * 500, "\x00\x1b[2J"])
def test_fingerprint_values_are_made_safe_at_the_tracker(tmp_path, value: str) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from monitor.analysis.fingerprint import FingerprintTracker
    from monitor.metrics import Metrics
    from monitor.store import Store

    reg = CollectorRegistry()
    t = FingerprintTracker(metrics=Metrics(reg).deployment, store=Store(tmp_path / "f.db"))
    t.observe("model", "first")
    change = t.observe("model", value)
    assert change is not None and change.after.isprintable() and len(change.after) <= 256
    json.dumps(t.current(), ensure_ascii=False).encode("utf-8")
    generate_latest(reg).decode("utf-8")
    t.observe("model", "third")
    generate_latest(reg).decode("utf-8")
