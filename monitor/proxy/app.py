"""The hot path: a pure-ASGI reverse proxy in front of an OpenAI-compatible server.

Every method and path is forwarded; status, headers (minus hop-by-hop) and body pass through byte
for byte, streams chunk by chunk. Sampling is a copy of bytes already in hand, handed to a bounded
queue after the response has been sent; any exception in it is counted and swallowed (fail open).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from monitor.metrics.labels import status_class
from monitor.metrics.proxy import ProxyMetrics
from monitor.metrics.sampling import SamplingMetrics
from monitor.proxy.routes import HOP_BY_HOP, KNOWN_METHODS, connection_tokens, route_template
from monitor.proxy.sampler import Sample, SampleQueue, SamplingPolicy
from monitor.proxy.tokens import ResponseObserver, TokenAccounting
from monitor.proxy.upstream import (
    UpstreamClient,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
)

log = logging.getLogger("tunewatch.proxy")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

SMALL_BODY = 256 * 1024
OVERHEAD_HEADER = b"x-tunewatch-overhead-ms"
SSE_DONE = b"data: [DONE]"


class ResponseAborted(Exception):
    """Raised after the response started to make the server drop the client connection."""


@dataclass(slots=True)
class _Flow:
    """Per-request bookkeeping shared with the disconnect watcher."""

    task: asyncio.Task[Any] | None = None
    finishing: bool = False
    client_gone: bool = False
    capture_overflow: bool = False
    watcher: asyncio.Task[None] | None = None


class ProxyApp:
    """ASGI application forwarding everything to ``upstream_url``."""

    def __init__(
        self,
        *,
        upstream_url: str,
        client: UpstreamClient,
        metrics: ProxyMetrics,
        sampling: SamplingMetrics,
        policy: SamplingPolicy,
        queue: SampleQueue,
        request_id_header: str = "x-request-id",
        probe_header: str = "x-tunewatch-probe",
        max_capture_bytes: int = 2 * 1024 * 1024,
        tokens: TokenAccounting | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.client = client
        self.metrics = metrics
        self.sampling = sampling
        self.policy = policy
        self.queue = queue
        self._rid = request_id_header.lower().encode("latin-1")
        self._probe = probe_header.lower().encode("latin-1")
        self._max_capture = max_capture_bytes
        self.tokens = tokens
        self._clock = clock
        self._wall = wall_clock
        self._children: dict[str, tuple[Any, Any, Any]] = {}
        self._request_counters: dict[tuple[str, str, int], Any] = {}

    def _route_metrics(self, route: str) -> tuple[Any, Any, Any]:
        children = self._children.get(route)
        if children is None:
            m = self.metrics
            children = (
                m.request_duration.labels(route=route),
                m.overhead.labels(route=route),
                m.ttfb.labels(route=route),
            )
            self._children[route] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    # ------------------------------------------------------------------------------ request
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = self._clock()
        started_at = self._wall()
        method: str = scope["method"]
        path: str = scope["path"]
        route = route_template(path)
        raw_path: bytes = scope.get("raw_path") or path.encode("utf-8")
        query: bytes = scope.get("query_string", b"")
        url = self.upstream_url + raw_path.decode("latin-1")
        if query:
            url += "?" + query.decode("latin-1")

        headers: list[tuple[str, str]] = []
        content_length: int | None = None
        request_id: str | None = None
        is_probe = False
        hop = connection_tokens(scope["headers"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    content_length = None
            elif name == self._rid:
                request_id = value.decode("latin-1")
            elif name == self._probe:
                is_probe = True
            sname = name.decode("latin-1")
            if sname not in HOP_BY_HOP and name not in hop:
                headers.append((sname, value.decode("latin-1")))

        sampled = False
        if not is_probe:
            try:
                sampled = self.policy.decide(route, request_id)
            except Exception:
                self.metrics.monitor_error("sample")
        capture_req: bytearray | None = bytearray() if sampled else None

        flow = _Flow(task=asyncio.current_task())
        body: bytes | AsyncIterator[bytes]
        streamed_upload = content_length is None or content_length > SMALL_BODY
        if not streamed_upload:
            try:
                body = await self._read_body(receive)
            except _ClientGone:
                self.metrics.client_disconnects.labels(route=route).inc()
                return
            if capture_req is not None:
                capture_req += body
            self.metrics.request_bytes.inc(len(body))
        else:
            body = self._stream_body(receive, capture_req, flow)

        self.metrics.in_flight.inc()
        if not streamed_upload:
            flow.watcher = asyncio.ensure_future(self._watch_disconnect(receive, flow))
        method_label = method if method in KNOWN_METHODS else "other"
        state = _Exchange(route=route, method=method_label, t0=t0, started_at=started_at,
                          request_id=request_id or "", request_capture=capture_req,
                          sampled=sampled, flow=flow,
                          request_body=body if isinstance(body, bytes) else None)
        try:
            await self._exchange(url, method, headers, body, send, state, sampled, flow)
        except asyncio.CancelledError:
            task = flow.task
            if flow.client_gone and task is not None:
                task.uncancel()
                if state.tail.rstrip().endswith(SSE_DONE):
                    # The client had the whole stream (up to [DONE]) and hung up before the
                    # upstream closed it: a complete exchange, not an abandoned one.
                    flow.client_gone = False
                    if state.capture is not None:
                        state.response_body = bytes(state.capture)
                        state.sample_ok = True
                else:
                    self.metrics.client_disconnects.labels(route=route).inc()
                    state.status = state.status or 499
            else:
                raise
        finally:
            if flow.watcher is not None:
                flow.watcher.cancel()
            self.metrics.in_flight.dec()
            self._bookkeep(state)
        if state.abort:
            raise ResponseAborted(state.abort)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _stream_body(
        self, receive: Receive, capture: bytearray | None, flow: _Flow
    ) -> AsyncIterator[bytes]:
        limit = self._max_capture
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                flow.client_gone = True
                raise _ClientGone
            chunk = message.get("body", b"")
            if chunk:
                self.metrics.request_bytes.inc(len(chunk))
                if capture is not None and not flow.capture_overflow:
                    if len(capture) + len(chunk) <= limit:
                        capture += chunk
                    else:
                        capture.clear()
                        flow.capture_overflow = True
                        self.sampling.samples_dropped.labels(reason="too_large").inc()
                yield chunk
            if not message.get("more_body", False):
                break
        flow.watcher = asyncio.ensure_future(self._watch_disconnect(receive, flow))

    async def _watch_disconnect(self, receive: Receive, flow: _Flow) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not flow.finishing and flow.task is not None and not flow.task.done():
                    flow.client_gone = True
                    flow.task.cancel()
                return

    # ----------------------------------------------------------------------------- response
    async def _exchange(
        self,
        url: str,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes],
        send: Send,
        state: _Exchange,
        sampled: bool,
        flow: _Flow,
    ) -> None:
        t_sent = self._clock()
        state.pre = t_sent - state.t0
        try:
            resp = await self.client.send(method, url, headers, body)
        except UpstreamError as exc:
            t_hdr = self._clock()
            state.upstream = t_hdr - t_sent
            if flow.client_gone:
                raise asyncio.CancelledError from None
            self.metrics.upstream_errors.labels(kind=exc.kind).inc()
            status = 504 if isinstance(exc, UpstreamTimeout) else 502
            etype = "upstream_timeout" if status == 504 else "upstream_unreachable"
            if not isinstance(exc, (UpstreamConnectError, UpstreamTimeout)):
                etype = "upstream_error"
            await self._send_error(send, state, status, etype, str(exc), t_hdr)
            return
        except _ClientGone:
            flow.client_gone = True
            raise asyncio.CancelledError from None
        try:
            await self._relay(resp, send, state, sampled, t_sent, flow)
        finally:
            await resp.aclose()

    async def _relay(
        self,
        resp: UpstreamResponse,
        send: Send,
        state: _Exchange,
        sampled: bool,
        t_sent: float,
        flow: _Flow,
    ) -> None:
        t_hdr = self._clock()
        state.upstream = t_hdr - t_sent
        state.status = resp.status
        if resp.status >= 500:
            self.metrics.upstream_errors.labels(kind="http_5xx").inc()
        out: list[tuple[bytes, bytes]] = []
        streaming = False
        expected: int | None = None
        hop = connection_tokens(resp.headers)
        for name, value in resp.headers:
            lname = name.lower()
            if lname.decode("latin-1") in HOP_BY_HOP or lname in hop:
                continue
            if lname == b"content-length" and value.isdigit():
                expected = int(value)
            elif lname == b"content-type":
                state.content_type = value.decode("latin-1")
                streaming = value.startswith(b"text/event-stream")
            elif lname == b"content-encoding":
                state.content_encoding = value.decode("latin-1")
            out.append((lname, value))
        state.streaming = streaming
        observer = self._observe_tokens(state)
        overhead = state.pre + (self._clock() - t_hdr)
        state.overhead = overhead
        out.append((OVERHEAD_HEADER, f"{overhead * 1000:.3f}".encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": out})
        capture: bytearray | None = bytearray() if sampled else None
        state.capture = capture
        limit = self._max_capture
        n = 0
        last: bytes = b""
        try:
            async for chunk in resp.chunks():
                if not chunk:
                    continue
                if n == 0:
                    state.ttfb = self._clock() - state.t0
                n += len(chunk)
                state.tail = chunk[-32:]
                if capture is not None:
                    if len(capture) + len(chunk) <= limit:
                        capture += chunk
                    else:
                        capture = state.capture = None
                        self.sampling.samples_dropped.labels(reason="too_large").inc()
                if observer is not None:
                    observer.feed(chunk)
                if expected is not None and n >= expected:
                    last = chunk  # sent below, after the accounting
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except UpstreamError as exc:
            self.metrics.upstream_errors.labels(kind=exc.kind).inc()
            state.abort = str(exc)
            state.response_bytes = n
            return
        state.response_bytes = n
        flow.finishing = True
        if capture is not None:
            state.response_body = bytes(capture)
            state.sample_ok = True
        # Metrics and the sample are in place before the client has the last byte (with a
        # Content-Length the client is done as soon as it has that many bytes), so anything that
        # observes a finished response also observes its accounting.
        self._bookkeep(state)
        await send({"type": "http.response.body", "body": last, "more_body": False})

    async def _send_error(
        self, send: Send, state: _Exchange, status: int, etype: str, message: str, t_hdr: float
    ) -> None:
        payload = json.dumps(
            {"error": {"message": message, "type": etype, "code": status, "source": "tunewatch"}}
        ).encode()
        state.status = status
        state.error = etype
        overhead = state.pre + (self._clock() - t_hdr)
        state.overhead = overhead
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (OVERHEAD_HEADER, f"{overhead * 1000:.3f}".encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        self._bookkeep(state)
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    # -------------------------------------------------------------------------- bookkeeping
    def _bookkeep(self, state: _Exchange) -> None:
        if state.booked:
            return
        state.booked = True
        self._finish(state)
        flow = state.flow
        if (
            state.sampled
            and state.sample_ok
            and flow is not None
            and not flow.client_gone
            and not flow.capture_overflow
        ):
            self._offer(state)

    def _finish(self, state: _Exchange) -> None:
        try:
            duration = self._clock() - state.t0
            state.duration = duration
            hist_duration, hist_overhead, hist_ttfb = self._route_metrics(state.route)
            key = (state.route, state.method, state.status)
            counter = self._request_counters.get(key)
            if counter is None:
                counter = self.metrics.requests.labels(
                    route=state.route, method=state.method, status_class=status_class(state.status)
                )
                if len(self._request_counters) < 4096:
                    self._request_counters[key] = counter
            counter.inc()
            hist_duration.observe(duration)
            if state.overhead is not None:
                hist_overhead.observe(state.overhead)
            if state.streaming and state.ttfb is not None:
                hist_ttfb.observe(state.ttfb)
            if state.response_bytes:
                self.metrics.response_bytes.inc(state.response_bytes)
            if self.tokens is not None:
                self._account_tokens(self.tokens, state)
        except Exception:
            self.metrics.monitor_error("capture")

    # ------------------------------------------------------------------------------- tokens
    def _observe_tokens(self, state: _Exchange) -> ResponseObserver | None:
        tokens = self.tokens
        if tokens is None:
            return None
        observer = tokens.observe(state.route, state.method, state.request_body, state.streaming)
        state.observer = observer
        return observer

    @staticmethod
    def _account_tokens(tokens: TokenAccounting, state: _Exchange) -> None:
        """Tokens and per-token latency of a generation request, with its outcome."""
        observer = state.observer
        if observer is None and state.error is None:
            return  # not a generation route, or it was not observed
        flow = state.flow
        if state.error is not None:
            error_type = state.error
        elif state.abort is not None:
            error_type = "stream_cut"
        elif flow is not None and flow.client_gone:
            error_type = "client_disconnect"
        elif state.status >= 400:
            error_type = str(state.status) if state.status <= 599 else "other"
        else:
            error_type = ""
        if observer is not None:
            tokens.finish(observer, error_type=error_type, duration=state.duration, t0=state.t0)
        else:
            tokens.failed_before_response(state.route, state.method, state.request_body,
                                          error_type=error_type, duration=state.duration)

    def _offer(self, state: _Exchange) -> None:
        try:
            if state.request_capture is None:
                return
            sample = Sample(
                request_id=state.request_id,
                route=state.route,
                method=state.method,
                status=state.status,
                request_body=bytes(state.request_capture),
                response_body=state.response_body,
                response_content_type=state.content_type,
                response_content_encoding=state.content_encoding,
                started_at=state.started_at,
                duration_s=state.duration,
                upstream_s=state.upstream,
                ttfb_s=state.ttfb,
                error=state.error,
            )
            if self.queue.offer(sample):
                self.sampling.samples.labels(route=state.route).inc()
        except Exception:
            self.metrics.monitor_error("sample")


class _ClientGone(Exception):
    pass


@dataclass(slots=True)
class _Exchange:
    route: str
    method: str
    t0: float
    status: int = 0
    pre: float = 0.0
    upstream: float = 0.0
    overhead: float | None = None
    ttfb: float | None = None
    duration: float = 0.0
    streaming: bool = False
    content_type: str | None = None
    content_encoding: str | None = None
    response_body: bytes = b""
    response_bytes: int = 0
    sample_ok: bool = False
    abort: str | None = None
    error: str | None = None
    started_at: float = 0.0
    request_id: str = ""
    request_capture: bytearray | None = None
    sampled: bool = False
    flow: _Flow | None = None
    booked: bool = False
    capture: bytearray | None = None
    tail: bytes = b""
    request_body: bytes | None = None
    observer: ResponseObserver | None = None
