"""The hot path against a scripted upstream: fidelity, streaming, faults, leaks, fail-open."""

from __future__ import annotations

import hashlib
import json
import socket
import tracemalloc

import httpx
import pytest
from openai import OpenAI

from tests.support.daemon import run_daemon, settings_for


def _client(base: str) -> OpenAI:
    return OpenAI(base_url=base + "/v1", api_key="sk-test-key-000000000000", max_retries=0)


def test_openai_sdk_chat_and_completions_equal_direct(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        via, direct = _client(d.proxy_url), _client(url)
        msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "tides"}]
        a = via.chat.completions.create(model="m", messages=msgs)
        b = direct.chat.completions.create(model="m", messages=msgs)
        assert a.model_dump() == b.model_dump()
        a = via.completions.create(model="m", prompt="The sea")
        b = direct.completions.create(model="m", prompt="The sea")
        assert a.model_dump() == b.model_dump()
        # streaming: same chunks in the same order
        sa = [c.model_dump() for c in via.chat.completions.create(model="m", messages=msgs, stream=True)]
        sb = [c.model_dump() for c in direct.chat.completions.create(model="m", messages=msgs, stream=True)]
        assert sa == sb and len(sa) > 3
        ca = [c.model_dump() for c in via.completions.create(model="m", prompt="x", stream=True)]
        cb = [c.model_dump() for c in direct.completions.create(model="m", prompt="x", stream=True)]
        assert ca == cb and len(ca) > 3
        assert d.wait_for(lambda: d.value("tunewatch_requests_total", {
            "route": "/v1/chat/completions", "method": "POST", "status_class": "2xx"}) == 2)
        assert d.value("tunewatch_time_to_first_byte_seconds_count",
                       {"route": "/v1/chat/completions"}) == 1


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_path_query_and_header_forwarded(upstream, method: str) -> None:
    _, url = upstream
    body = b"" if method in ("GET", "OPTIONS") else b'{"k": "v"}'
    with run_daemon(settings_for(url)) as d, httpx.Client() as c:
        r = c.request(method, d.proxy_url + "/test/echo?a=1&b=%20x", content=body,
                      headers={"x-custom": "yes", "connection": "keep-alive, x-hop",
                               "x-hop": "dropped", "authorization": "Bearer sk-secret"})
        assert r.status_code == 200
        echo = r.json()
        sent = dict(echo["headers"])
        assert echo["method"] == method and echo["query"] == "a=1&b=%20x"
        assert sent["x-custom"] == "yes" and sent["authorization"] == "Bearer sk-secret"
        # headers named in Connection are hop-by-hop too (RFC 9110 7.6.1), in both directions
        assert "x-hop" not in sent and sent.get("connection") != "keep-alive, x-hop"
        assert "x-upstream-hop" not in r.headers
        assert echo["sha256"] == hashlib.sha256(body).hexdigest()
        assert r.headers["x-upstream-header"] == "kept" and r.headers["set-cookie"] == "a=b"
        assert float(r.headers["x-tunewatch-overhead-ms"]) >= 0


def test_unknown_path_and_upstream_errors_pass_through_unchanged(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d, httpx.Client() as c:
        for path in ("/no/such/path", "/test/status/400", "/test/status/429", "/test/status/500",
                     "/test/status/503"):
            via, direct = c.get(d.proxy_url + path), c.get(url + path)
            assert (via.status_code, via.content) == (direct.status_code, direct.content)
        assert d.wait_for(lambda: d.value("tunewatch_requests_total", {
            "route": "other", "method": "GET", "status_class": "5xx"}) == 2)
        assert d.value("tunewatch_upstream_errors_total", {"kind": "http_5xx"}) == 2


def test_gzip_body_is_not_decoded(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        raw_via = httpx.get(d.proxy_url + "/test/gzip", headers={"accept-encoding": "identity"})
        raw_direct = httpx.get(url + "/test/gzip")
        assert raw_via.headers["content-encoding"] == "gzip"
        assert raw_via.json() == raw_direct.json() == {"choices": [{"text": "zipped"}]}


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_upstream_gives_502_json(tmp_path) -> None:
    with run_daemon(settings_for(f"http://127.0.0.1:{_closed_port()}")) as d:
        r = httpx.post(d.proxy_url + "/v1/chat/completions", json={"messages": []})
        assert r.status_code == 502
        assert r.json()["error"]["type"] == "upstream_unreachable"
        assert d.value("tunewatch_upstream_errors_total", {"kind": "connect"}) == 1
        # the OpenAI SDK surfaces it as an API error with the status, not a hang
        with pytest.raises(Exception) as info:
            _client(d.proxy_url).chat.completions.create(model="m", messages=[])
        assert getattr(info.value, "status_code", None) == 502


def test_upstream_timeout_gives_504_json(upstream) -> None:
    _, url = upstream
    s = settings_for(url, upstream={"read_timeout_s": 0.3})
    with run_daemon(s) as d:
        r = httpx.get(d.proxy_url + "/test/slow?s=2", timeout=10)
        assert r.status_code == 504
        assert r.json()["error"]["type"] == "upstream_timeout"
        assert d.value("tunewatch_upstream_errors_total", {"kind": "timeout"}) == 1


def test_stream_cut_by_upstream_is_cut_for_client(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        got: list[bytes] = []
        with pytest.raises(httpx.RemoteProtocolError):
            with httpx.stream("GET", d.proxy_url + "/test/cut?n=3", timeout=10) as r:
                assert r.status_code == 200
                for chunk in r.iter_raw():
                    got.append(chunk)
        assert b"".join(got).count(b"data:") == 3
        assert d.wait_for(lambda: d.value("tunewatch_upstream_errors_total",
                                          {"kind": "stream_cut"}) == 1)
        assert d.wait_for(lambda: d.daemon.client.busy_connections() == 0)


def test_stream_is_not_buffered(upstream) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d:
        with httpx.stream("GET", d.proxy_url + "/test/stream?n=6&delay=0.25&id=nb", timeout=10) as r:
            it = r.iter_raw()
            first = next(it)
            produced = len(app.events_of("chunk"))
            rest = b"".join(it)
        # The first chunk arrived while the upstream had produced at most two of six chunks.
        assert first.startswith(b"data: {\"i\": 0}") and produced <= 2
        assert (first + rest).count(b"data:") == 7


def test_client_disconnect_cancels_upstream_and_leaks_nothing(upstream) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d:
        # warm up, then record the idle task count
        httpx.get(d.proxy_url + "/v1/models")
        assert d.wait_for(lambda: d.value("tunewatch_in_flight_requests") == 0)
        idle_tasks = d.task_count()
        for i in range(3):
            with httpx.stream("GET", d.proxy_url + f"/test/stream?n=200&delay=0.05&id=dc{i}",
                              timeout=10) as r:
                it = r.iter_raw()
                next(it)
                next(it)
            # leaving the block closes the client connection mid-stream
        assert d.wait_for(lambda: len(app.events_of("cancelled")) == 3, timeout=10)
        assert not app.events_of("done")
        assert d.wait_for(lambda: d.value("tunewatch_in_flight_requests") == 0)
        assert d.wait_for(lambda: d.daemon.client.busy_connections() == 0)
        assert d.wait_for(lambda: d.task_count() <= idle_tasks, timeout=5)
        assert d.value("tunewatch_client_disconnects_total", {"route": "other"}) == 3


def test_malformed_json_invalid_utf8_and_empty_bodies(upstream) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d, httpx.Client() as c:
        for body in (b"{not json", b"\xff\xfe\xfa invalid utf-8", b""):
            via = c.post(d.proxy_url + "/v1/chat/completions", content=body,
                         headers={"content-type": "application/json"})
            direct = c.post(url + "/v1/chat/completions", content=body,
                            headers={"content-type": "application/json"})
            assert (via.status_code, via.content) == (direct.status_code, direct.content)
            echo = c.post(d.proxy_url + "/test/echo", content=body).json()
            assert echo["sha256"] == hashlib.sha256(body).hexdigest()
        assert d.daemon.worker.wait_idle(10)
        # the unparseable samples were counted, never surfaced to the client
        assert d.value("tunewatch_monitor_errors_total", {"stage": "parse"}) >= 2


def test_20_mb_bodies_stream_through_both_ways(upstream) -> None:
    _, url = upstream
    size = 20 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)

    def gen():
        for i in range(0, size, 1 << 20):
            yield payload[i:i + (1 << 20)]

    with run_daemon(settings_for(url)) as d, httpx.Client(timeout=60) as c:
        tracemalloc.start()
        try:
            echo = c.post(d.proxy_url + "/test/echo", content=gen()).json()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # 20 MB went through; the process (client, sidecar and upstream together) never held
        # more than a few MB of it: chunks stream, the sample capture stops at its 2 MB cap.
        assert peak < 8 * 1024 * 1024, peak
        assert echo["length"] == size
        assert echo["sha256"] == hashlib.sha256(payload).hexdigest()
        echo = c.post(d.proxy_url + "/test/echo", content=payload).json()  # with content-length
        assert echo["length"] == size
        n = 0
        with c.stream("GET", d.proxy_url + f"/test/big?size={size}") as r:
            for chunk in r.iter_raw():
                n += len(chunk)
        assert n == size
        # too large to keep as samples: dropped and counted, traffic unaffected
        assert d.value("tunewatch_samples_dropped_total", {"reason": "too_large"}) >= 2


def test_overhead_header_and_histogram(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        for _ in range(5):
            r = httpx.get(d.proxy_url + "/v1/models")
            assert 0 <= float(r.headers["x-tunewatch-overhead-ms"]) < 1000
        assert d.wait_for(
            lambda: d.value("tunewatch_overhead_seconds_count", {"route": "/v1/models"}) == 5)


def test_privacy_no_authorization_or_text_in_logs(upstream, caplog) -> None:
    _, url = upstream
    secret = "sk-proj-TopSecretValue1234567890"
    with caplog.at_level("DEBUG"):
        with run_daemon(settings_for(url, privacy={"retain_text": True})) as d:
            _client(d.proxy_url).with_options(api_key=secret).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "mail me at bob@example.org"}])
            _client(d.proxy_url).with_options(api_key=secret).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "{broken"}], extra_body={})
            assert d.daemon.worker.wait_idle(10)
            rows = d.daemon.store.query("SELECT prompt, response FROM samples")
    text = caplog.text
    assert secret not in text and "bob@example.org" not in text
    assert rows and all("bob@example.org" not in (p or "") + (r or "") for p, r in rows)
    assert any("[REDACTED:EMAIL]" in (p or "") for p, _ in rows)


def test_status_class_and_bytes_counters(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        r = httpx.post(d.proxy_url + "/test/echo", content=b"x" * 1000)
        assert r.status_code == 200
        assert d.wait_for(lambda: d.value("tunewatch_response_bytes_total") == len(r.content))
        assert d.value("tunewatch_request_bytes_total") == 1000
        assert json.loads(r.content)["length"] == 1000


def test_labels_stay_bounded_for_odd_methods_and_paths(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d, httpx.Client() as c:
        for i, method in enumerate(["PROPFIND", "MKCOL", "LOCK", "PURGE", "REPORT"]):
            assert c.request(method, d.proxy_url + f"/user/secret-{i}/text").status_code == 404
        text = httpx.get(d.admin_url + "/metrics").text
    assert "PROPFIND" not in text and "secret-" not in text
    assert d.value("tunewatch_requests_total", {"route": "other", "method": "other",
                                                "status_class": "4xx"}) == 5


def test_client_leaving_after_done_is_a_complete_exchange(upstream) -> None:
    """SSE clients (the OpenAI SDK among them) may hang up right after ``data: [DONE]``."""
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        got = b""
        with httpx.stream("GET", d.proxy_url + "/test/stream?n=3&delay=0.01&id=l&linger=5",
                          timeout=10) as r:
            for chunk in r.iter_raw():
                got += chunk
                if got.rstrip().endswith(b"data: [DONE]"):
                    break
        assert d.wait_for(lambda: d.value("tunewatch_samples_total", {"route": "other"}) == 1)
        assert d.value("tunewatch_client_disconnects_total", {"route": "other"}) == 0
        assert d.value("tunewatch_requests_total", {"route": "other", "method": "GET",
                                                    "status_class": "2xx"}) == 1
