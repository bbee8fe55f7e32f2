"""The hot path: a pure-ASGI reverse proxy in front of an OpenAI-compatible server.

Every method and path is forwarded; status, headers (minus hop-by-hop) and body pass through byte
for byte, streams chunk by chunk. Sampling is a copy of bytes already in hand, handed to a bounded
queue after the response has been sent; any exception in it is counted and swallowed (fail open).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.metrics.labels import status_class
from monitor.metrics.proxy import ProxyMetrics
from monitor.metrics.sampling import SamplingMetrics
from monitor.proxy.marker import ProbeMarker
from monitor.proxy.routes import (
    HOP_BY_HOP,
    KNOWN_METHODS,
    REQUEST_ONLY,
    connection_tokens,
    decoded_path,
    forward_path,
    route_template,
)
from monitor.proxy.sampler import Sample, SampleQueue, SamplingPolicy
from monitor.proxy.tokens import ResponseObserver, TokenAccounting
from monitor.proxy.upstream import (
    UpstreamClient,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
)
from monitor.untrusted import split_credentials

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
    upload_watch: asyncio.Task[None] | None = None
    uploading: bool = False
    upload_progress: float = 0.0
    upload_waiting: str = "client"  # who the upload waits on: "client" or "upstream"
    upload_stalled: str | None = None  # set to upload_waiting when the upload is given up


@dataclass(slots=True)
class _RequestHead:
    """The request headers, read once: what is forwarded, and what the proxy needs."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_length: int | None = None
    chunked: bool = False
    request_id: str | None = None
    is_probe: bool = False
    encoding: str | None = None

    @property
    def has_body(self) -> bool:
        """HTTP/1.1: a request has a body only with Content-Length or Transfer-Encoding."""
        return self.chunked or self.content_length is not None


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
        marker: ProbeMarker | None = None,
        max_capture_bytes: int = 2 * 1024 * 1024,
        max_in_flight: int = 0,
        retry_after_s: int = 1,
        upload_stall_s: float = 300.0,
        tokens: TokenAccounting | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        bare, credentials = split_credentials(upstream_url.rstrip("/"))
        self.upstream_url = bare
        # credentials in upstream.url: sent as Basic auth when the client sends no Authorization
        self._basic = (None if credentials is None else b"Basic " + base64.b64encode(
            ":".join(credentials).encode("utf-8")))
        self.client = client
        self.metrics = metrics
        self.sampling = sampling
        self.policy = policy
        self.queue = queue
        self._rid = request_id_header.lower().encode("latin-1")
        self._probe = probe_header.lower().encode("latin-1")
        self._marker = marker or ProbeMarker.random()
        self._max_capture = max_capture_bytes
        self._max_in_flight = max_in_flight
        self._retry_after_s = retry_after_s
        self._upload_stall_s = upload_stall_s
        self._active = 0
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
        """Admission: past ``max_in_flight`` requests at once, shed (503 + Retry-After) rather
        than queue without bound in front of the upstream's connection pool."""
        if self._max_in_flight and self._active >= self._max_in_flight:
            await self._shed(scope, send)
            return
        self._active += 1
        try:
            await self._proxy(scope, receive, send)
        finally:
            self._active -= 1

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = self._clock()
        started_at = self._wall()
        method: str = scope["method"]
        method_label = method if method in KNOWN_METHODS else "other"
        target = forward_path(scope.get("raw_path") or scope["path"].encode("utf-8"))
        if target is None:  # OPTIONS * and other targets that are not a path
            self.metrics.reject("bad_target")
            self._count_answered("other", method_label, 400)
            await self._reply(send, 400, "invalid_request_error",
                              "the request target is not a path")
            return
        route = route_template(decoded_path(target))
        query: bytes = scope.get("query_string", b"")
        url = self.upstream_url + target.decode("latin-1")
        if query:
            url += "?" + query.decode("latin-1")

        head = self._request_head(scope["headers"])
        headers = head.headers
        content_length = head.content_length
        request_id = head.request_id

        sampled = False
        if not head.is_probe:
            try:
                sampled = self.policy.decide(route, request_id)
            except Exception:
                self.metrics.monitor_error("sample")
        capture_req: bytearray | None = bytearray() if sampled else None

        flow = _Flow(task=asyncio.current_task())
        body: bytes | AsyncIterator[bytes] | None = None
        streamed_upload = head.has_body and (content_length is None or content_length > SMALL_BODY)
        if not head.has_body:
            pass  # no Content-Length and no Transfer-Encoding: no body (not sent chunked)
        elif not streamed_upload:
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
            flow.uploading, flow.upload_progress = True, self._clock()
            flow.upload_watch = asyncio.ensure_future(self._watch_upload(flow))

        self.metrics.in_flight.inc()
        if not streamed_upload:
            flow.watcher = asyncio.ensure_future(self._watch_disconnect(receive, flow))
        state = _Exchange(route=route, method=method_label, t0=t0, started_at=started_at,
                          request_id=request_id or "", request_capture=capture_req,
                          sampled=sampled, flow=flow, request_encoding=head.encoding,
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
            elif flow.upload_stalled is not None and task is not None:
                task.uncancel()
                await self._upload_stalled(send, state, flow.upload_stalled)
            else:
                raise
        finally:
            for helper in (flow.watcher, flow.upload_watch):
                if helper is not None:
                    helper.cancel()
            self.metrics.in_flight.dec()
            self._bookkeep(state)
        if state.abort:
            raise ResponseAborted(state.abort)

    def _request_head(self, raw: list[tuple[bytes, bytes]]) -> _RequestHead:
        """What the proxy needs from the request headers, and the headers it forwards: not the
        hop-by-hop ones (and those named in Connection), not Expect, not an unverified probe
        marker (stripped and counted: the request is sampled like any other)."""
        head = _RequestHead()
        hop = connection_tokens(raw)
        for name, value in raw:
            if name == b"content-length":
                try:
                    head.content_length = int(value)
                except ValueError:
                    head.content_length = None
            elif name == b"transfer-encoding":
                head.chunked = True
            elif name == self._rid:
                head.request_id = value.decode("latin-1")
            elif name == self._probe:
                if not self._marker.verify(value):
                    self.sampling.probe_markers_invalid.inc()
                    continue
                head.is_probe = True
            elif name == b"content-encoding":
                head.encoding = value.decode("latin-1")
            if name in REQUEST_ONLY or name in hop or name.decode("latin-1") in HOP_BY_HOP:
                continue
            head.headers.append((name, value))
        if self._basic is not None and not any(n == b"authorization" for n, _ in head.headers):
            head.headers.append((b"authorization", self._basic))
        return head

    async def _shed(self, scope: Scope, send: Send) -> None:
        self.metrics.reject("overload")
        target = forward_path(scope.get("raw_path") or b"")
        route = route_template(decoded_path(target)) if target is not None else "other"
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        self._count_answered(route, method, 503)
        await self._reply(send, 503, "overloaded",
                          f"the sidecar is serving its limit of {self._max_in_flight} requests "
                          "(proxy.max_in_flight); retry later",
                          [(b"retry-after", str(self._retry_after_s).encode())])

    def _count_answered(self, route: str, method: str, status: int) -> None:
        """A request the sidecar answered itself still counts in tunewatch_requests_total."""
        try:
            self.metrics.requests.labels(route=route, method=method,
                                         status_class=status_class(status)).inc()
        except Exception:
            self.metrics.monitor_error("capture")

    async def _reply(self, send: Send, status: int, etype: str, message: str,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
        payload = json.dumps(
            {"error": {"message": message, "type": etype, "code": status, "source": "tunewatch"}}
        ).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode()), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _watch_upload(self, flow: _Flow) -> None:
        """A streamed upload that makes no progress for ``upload_stall_s`` (the upstream stopped
        reading it, or the client stopped sending it) is given up: the request task is cancelled,
        which frees the client's and the upstream's connections."""
        stall = self._upload_stall_s
        while flow.uploading:
            await asyncio.sleep(min(stall / 4, 1.0))
            idle = self._clock() - flow.upload_progress
            if flow.uploading and idle >= stall and not flow.client_gone:
                flow.upload_stalled = flow.upload_waiting
                if flow.task is not None and not flow.task.done():
                    flow.task.cancel()
                return

    async def _upload_stalled(self, send: Send, state: _Exchange, waiting_on: str) -> None:
        if state.status:  # the response had started: all that is left is to cut it
            state.abort = "request body stalled"
            return
        t = self._clock()
        if waiting_on == "upstream":
            self.metrics.upstream_errors.labels(kind="timeout").inc()
            await self._send_error(send, state, 504, "upstream_timeout",
                                   "upstream stopped reading the request body", t)
        else:
            self.metrics.reject("body_timeout")
            await self._send_error(send, state, 408, "request_timeout",
                                   "the request body stopped arriving", t)

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
            flow.upload_waiting = "client"
            message = await receive()
            flow.upload_progress = self._clock()
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
                flow.upload_waiting = "upstream"
                yield chunk
                flow.upload_progress = self._clock()
            if not message.get("more_body", False):
                break
        flow.uploading = False
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
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes] | None,
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
                request_content_encoding=state.request_encoding,
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
    request_encoding: str | None = None
    request_body: bytes | None = None
    observer: ResponseObserver | None = None
