"""The proxy port against requests and upstreams that break the rules (issue 13: findings 5, 6
and 7, the overload limit, and the Low items of the proxy). Each test reproduces one finding."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.daemon import RunningDaemon, run_daemon, settings_for
from tests.support.rawhttp import (
    content_length,
    exchange,
    head_and_body,
    json_reply,
    raw_upstream,
    read_all,
    read_head,
    recv_exactly,
    status_of,
)

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


def _port(d: RunningDaemon) -> int:
    return int(urlsplit(d.proxy_url).port or 0)


# the daemon's own upstream polls (model list, llama.cpp's /props) run beside the test traffic
_POLLS = frozenset({"/v1/models", "/props", "/lora-adapters"})


def _last_forwarded(app) -> dict:
    """The last request the upstream got from a client through the proxy (not a daemon poll)."""
    return [r for r in app.requests if r["path"] not in _POLLS][-1]


def _post(path: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n" + extra
            + b"\r\n" + body)


# --- finding 5: routing bypass and the probe marker ----------------------------------------------

@pytest.mark.parametrize("path", [b"/v1/x/../chat/completions", b"/v1/./chat/completions",
                                  b"/v1/x/%2e%2E/chat/completions"])
def test_dot_segments_are_resolved_before_routing(upstream, path: bytes) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d:
        r = exchange(_port(d), _post(path, json.dumps(CHAT).encode()))
        assert status_of(r) == 200
        # what the upstream routed is what the proxy labelled and analysed
        assert _last_forwarded(app)["path"] == "/v1/chat/completions"
        assert d.wait_for(lambda: d.value("tunewatch_samples_total",
                                          {"route": "/v1/chat/completions"}) == 1)
        assert d.value("tunewatch_requests_total", {"route": "/v1/chat/completions",
                                                    "method": "POST", "status_class": "2xx"}) == 1


def test_a_client_cannot_switch_sampling_off_with_the_probe_header(upstream) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d, httpx.Client() as c:
        for forged in ("1", "pr-1-abc", "pr-1.1700000000.00", "x" * 200):
            r = c.post(d.proxy_url + "/v1/chat/completions", json=CHAT,
                       headers={"x-tunewatch-probe": forged})
            assert r.status_code == 200
            assert "x-tunewatch-probe" not in _last_forwarded(app)["headers"]  # stripped
        assert d.wait_for(lambda: d.value("tunewatch_samples_total",
                                          {"route": "/v1/chat/completions"}) == 4)
        assert d.value("tunewatch_probe_markers_invalid_total") == 4
        # a marker this daemon signed is honoured: not sampled
        marker = d.daemon.probe_marker.sign("pr-run-1")
        r = c.post(d.proxy_url + "/v1/chat/completions", json=CHAT,
                   headers={"x-tunewatch-probe": marker})
        assert r.status_code == 200 and d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_samples_total", {"route": "/v1/chat/completions"}) == 4
        assert d.value("tunewatch_probe_markers_invalid_total") == 4


def test_a_probe_marker_verifies_only_with_its_secret_and_within_its_age() -> None:
    from monitor.proxy.marker import ProbeMarker

    now = [1_000_000.0]
    m = ProbeMarker(secret=b"k" * 32, max_age_s=300, clock=lambda: now[0])
    value = m.sign("pr-1-abc")
    assert m.verify(value.encode()) and value.startswith("pr-1-abc.")
    assert not ProbeMarker(secret=b"j" * 32, clock=lambda: now[0]).verify(value.encode())
    assert not m.verify(value.replace("pr-1-abc", "pr-1-abd").encode())
    now[0] += 301
    assert not m.verify(value.encode())
    assert not m.verify(b"\xff\xfe") and not m.verify(b"") and not m.verify(b"a.b.c")


# --- finding 6: Expect: 100-continue and uploads the upstream does not read ---------------------

def _ignores_expect(conn: socket.socket, head: bytes) -> None:
    """Never sends 100 Continue: reads the body the way most servers do, then answers."""
    body = recv_exactly(conn, content_length(head))
    json_reply(conn, json.dumps({"length": len(body),
                                 "expect": b"expect:" in head.lower()}).encode())


@pytest.mark.parametrize("size", [1000, 300 * 1024])  # read whole / streamed upload
def test_expect_100_continue_with_an_upstream_that_ignores_it(tmp_path, size: int) -> None:
    with raw_upstream(_ignores_expect) as (url, _):
        s = settings_for(url, upstream={"read_timeout_s": 3})
        with run_daemon(s) as d, socket.create_connection(("127.0.0.1", _port(d))) as c:
            c.sendall(b"POST /upload HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                      b"content-length: " + str(size).encode() + b"\r\nconnection: close\r\n\r\n")
            assert status_of(read_head(c, timeout=5)) == 100
            started = time.monotonic()
            c.sendall(b"a" * size)
            r = read_all(c, timeout=10)
            assert status_of(r) == 200, r[:200]
            assert time.monotonic() - started < 3  # not the read timeout
            assert json.loads(head_and_body(r)[1]) == {"length": size, "expect": False}


def _never_reads(conn: socket.socket, head: bytes) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(8)


def test_an_upload_the_upstream_stops_reading_is_given_up_after_the_read_timeout() -> None:
    size = 20 * 1024 * 1024
    with raw_upstream(_never_reads) as (url, _):
        s = settings_for(url, upstream={"read_timeout_s": 1})
        with run_daemon(s) as d:
            # the client waits: 504 once the upload made no progress for the read timeout
            with socket.create_connection(("127.0.0.1", _port(d))) as c:
                c.sendall(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: "
                          + str(size).encode() + b"\r\nconnection: close\r\n\r\n")

                def upload() -> None:
                    try:
                        c.sendall(b"b" * size)
                    except OSError:  # the proxy gave up and closed
                        pass

                sender = threading.Thread(target=upload, daemon=True)
                sender.start()
                r = read_all(c, timeout=8)
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                sender.join(10)
            # (the 504 can be lost to the reset of a close with request bytes unread)
            assert r == b"" or status_of(r) == 504, r[:200]
            assert d.wait_for(lambda: d.value("tunewatch_requests_total", {
                "route": "other", "method": "POST", "status_class": "5xx"}) == 1)
            assert d.value("tunewatch_upstream_errors_total", {"kind": "timeout"}) == 1
            # the client goes away mid-upload: fd and upstream connection are released
            with socket.create_connection(("127.0.0.1", _port(d))) as c:
                c.sendall(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: "
                          + str(size).encode() + b"\r\n\r\n" + b"c" * 1_000_000)
            d.wait_for(lambda: d.value("tunewatch_in_flight_requests") == 0
                       and d.daemon.client.busy_connections() == 0, timeout=6,
                       what="the stalled upload to be released")


# --- finding 7: header size and header timeout ----------------------------------------------------

def test_oversized_headers_are_refused_with_431(upstream) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d:
        big = b"GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n"
        r = exchange(_port(d), big)
        assert status_of(r) == 431
        assert not any("x-big" in q["headers"] for q in app.requests)  # never forwarded
        many = b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 100) for i in range(700))
        r = exchange(_port(d), b"GET /v1/models HTTP/1.1\r\nhost: x\r\n" + many + b"\r\n")
        assert status_of(r) == 431
        ok = b"GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-fine: " + b"a" * 60_000
        assert status_of(exchange(_port(d), ok + b"\r\n\r\n")) == 200
        assert d.value("tunewatch_requests_rejected_total", {"reason": "header_too_large"}) == 2
        # the admin port has the same limit
        admin = int(urlsplit(d.admin_url).port or 0)
        assert status_of(exchange(admin, big)) == 431


def test_slow_headers_are_cut_with_408(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url, proxy={"header_timeout_s": 0.5})) as d:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", _port(d))) as c:
            c.sendall(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n")  # ... and nothing more
            r = read_all(c, timeout=5)
        assert status_of(r) == 408 and time.monotonic() - started < 3
        # a connection that never sends a byte is closed too, without an answer
        with socket.create_connection(("127.0.0.1", _port(d))) as c:
            assert read_all(c, timeout=5) == b""
        assert time.monotonic() - started < 5
        assert d.value("tunewatch_requests_rejected_total", {"reason": "header_timeout"}) == 1


# --- overload -----------------------------------------------------------------------------------

def test_over_the_in_flight_limit_requests_are_shed_with_503(upstream) -> None:
    _, url = upstream
    s = settings_for(url, proxy={"max_in_flight": 2, "retry_after_s": 3})
    with run_daemon(s) as d:
        results: list[int] = []

        def slow() -> None:
            results.append(httpx.get(d.proxy_url + "/test/slow?s=1.5", timeout=10).status_code)

        threads = [threading.Thread(target=slow) for _ in range(2)]
        for t in threads:
            t.start()
        d.wait_for(lambda: d.value("tunewatch_in_flight_requests") == 2)
        r = httpx.post(d.proxy_url + "/v1/chat/completions", json=CHAT, timeout=10)
        assert r.status_code == 503 and r.headers["retry-after"] == "3"
        assert r.json()["error"]["type"] == "overloaded"
        for t in threads:
            t.join(10)
        assert results == [200, 200]
        assert httpx.get(d.proxy_url + "/v1/models").status_code == 200
        assert d.value("tunewatch_requests_rejected_total", {"reason": "overload"}) == 1
        assert d.value("tunewatch_requests_total", {"route": "/v1/chat/completions",
                                                    "method": "POST", "status_class": "5xx"}) == 1


# --- Low ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
def test_non_ascii_header_bytes_pass_unchanged(upstream, client: str) -> None:
    _, url = upstream
    with run_daemon(settings_for(url, upstream={"client": client})) as d, httpx.Client() as c:
        headers = {"x-name": b"caf\xc3\xa9 \xe2\x82\xac"}
        via = dict(c.get(d.proxy_url + "/test/echo", headers=headers).json()["headers"])
        direct = dict(c.get(url + "/test/echo", headers=headers).json()["headers"])
        assert via["x-name"] == direct["x-name"] == b"caf\xc3\xa9 \xe2\x82\xac".decode("latin-1")


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_a_request_without_a_body_is_not_sent_chunked(upstream, method: str) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d:
        r = httpx.request(method, d.proxy_url + "/test/echo")
        assert r.status_code == 200
        sent = _last_forwarded(app)["headers"]
        assert "transfer-encoding" not in sent and sent.get("content-length", "0") == "0"


def test_a_connect_timeout_is_502_upstream_unreachable() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # a full accept queue: further connection attempts hang
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(f)
    try:
        s = settings_for(f"http://127.0.0.1:{port}", upstream={"connect_timeout_s": 0.5})
        with run_daemon(s) as d:
            r = httpx.get(d.proxy_url + "/v1/models", timeout=10)
            assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_unreachable"
            assert d.value("tunewatch_upstream_errors_total", {"kind": "connect"}) >= 1
            assert d.value("tunewatch_upstream_errors_total", {"kind": "timeout"}) == 0
    finally:
        for f in fillers:
            f.close()
        listener.close()


def test_an_http_1_0_client_gets_a_close_delimited_stream(upstream) -> None:
    _, url = upstream
    with run_daemon(settings_for(url)) as d:
        r = exchange(_port(d), b"GET /test/stream?n=3&delay=0.01 HTTP/1.0\r\n\r\n")
        headers, body = head_and_body(r)
        assert status_of(r) == 200 and b"transfer-encoding" not in headers
        assert body == b"".join(b'data: {"i": %d}\n\n' % i for i in range(3)) + b"data: [DONE]\n\n"
        # a response with a length keeps it
        r = exchange(_port(d), b"GET /v1/models HTTP/1.0\r\n\r\n")
        headers, body = head_and_body(r)
        assert int(headers[b"content-length"]) == len(body) and json.loads(body)["data"]


def test_options_star_is_400(upstream) -> None:
    app, url = upstream
    with run_daemon(settings_for(url)) as d:
        r = exchange(_port(d), b"OPTIONS * HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        assert status_of(r) == 400
        assert all(q["path"] in _POLLS for q in app.requests)  # only the daemon's polls
        assert json.loads(head_and_body(r)[1])["error"]["type"] == "invalid_request_error"


def test_a_garbage_upstream_reply_is_upstream_error() -> None:
    def garbage(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"SURPRISE, NOT HTTP\r\n\r\n")

    with raw_upstream(garbage) as (url, _):
        with run_daemon(settings_for(url)) as d:
            r = httpx.get(d.proxy_url + "/v1/models", timeout=10)
            assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
            assert b"SURPRISE" not in r.content
            assert d.value("tunewatch_upstream_errors_total", {"kind": "protocol"}) == 1
