"""Token and per-token latency accounting of every generation response, on the hot path.

:meth:`TokenAccounting.observe` starts a :class:`ResponseObserver` when a response to a generation
route (chat, completions, embeddings, responses) starts; the proxy feeds it each relayed chunk and
calls :meth:`TokenAccounting.finish` once, with the outcome, just before the last byte goes out.
The observer scans bytes as they pass (:class:`~monitor.proxy.usage.UsageScanner`); it never holds
the body. Everything here fails open: an exception stops this response's accounting and is
counted in ``tunewatch_monitor_errors_total{stage="usage"}``.

What is recorded (``monitor/metrics/tokens.py``):

* tokens: the response's ``usage`` (JSON bodies, and streams whose client asked for
  ``stream_options.include_usage``), ``source="usage"``; else, for streams, output tokens as one
  per streamed delta, ``source="estimate"`` (input tokens are not estimated);
* operation duration, every generation request, with ``error_type`` (empty on success);
* for successful streams: time to first token (request receipt to the first piece of output
  relayed) and time per output token, ``(duration - ttft) / (output tokens - 1)``.

The request's ``model`` is read from request bodies the proxy already holds whole (up to 256 KiB);
larger, streamed uploads have ``request_model="unknown"``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from monitor.metrics.tokens import TokenMetrics
from monitor.proxy.catalog import ModelLabels
from monitor.proxy.usage import UsageScanner

log = logging.getLogger("tunewatch.proxy")

# Route template -> gen_ai.operation.name (OpenTelemetry semconv well-known values; the Responses
# API has no value of its own there and is a chat-style generation).
OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/v1/embeddings": "embeddings",
    "/v1/responses": "chat",
}
_REQUEST_MODEL = re.compile(rb'"model"\s{0,4}:\s{0,4}"([^"\\]{1,128})"')
_CHILD_LIMIT = 4096


class ResponseObserver:
    """One response's scan; created by :meth:`TokenAccounting.observe`."""

    __slots__ = ("_errors", "operation", "request_model", "scanner", "streaming")

    def __init__(self, operation: str, request_model: str | None, scanner: UsageScanner,
                 streaming: bool, errors: Callable[[], None]) -> None:
        self.operation = operation
        self.request_model = request_model
        self.scanner: UsageScanner | None = scanner
        self.streaming = streaming
        self._errors = errors

    def feed(self, chunk: bytes) -> None:
        scanner = self.scanner
        if scanner is None:
            return
        try:
            scanner.feed(chunk)
        except Exception:  # fail open: stop scanning this response
            self.scanner = None
            self._errors()


class TokenAccounting:
    """Starts observers and turns what they saw into observations, with bounded labels."""

    def __init__(self, *, metrics: TokenMetrics, labels: ModelLabels,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.metrics = metrics
        self.labels = labels
        self._clock = clock
        self._children: dict[tuple[Any, ...], Any] = {}
        self._count_error = self.count_error

    def count_error(self) -> None:
        self.metrics.monitor_error("usage")

    def observe(self, route: str, method: str, request_body: bytes | None,
                streaming: bool) -> ResponseObserver | None:
        """An observer for a generation response, or ``None`` for any other route."""
        operation = OPERATIONS.get(route)
        if operation is None or method != "POST":
            return None
        try:
            request_model = None
            if request_body:
                m = _REQUEST_MODEL.search(request_body, 0, 4096)
                if m is None and len(request_body) > 4096:
                    m = _REQUEST_MODEL.search(request_body)
                if m is not None:
                    request_model = m.group(1).decode("utf-8", "replace")
            return ResponseObserver(operation, request_model,
                                    UsageScanner(streaming=streaming, clock=self._clock),
                                    streaming, self._count_error)
        except Exception:
            self.count_error()
            return None

    def failed_before_response(self, route: str, method: str, request_body: bytes | None,
                               *, error_type: str, duration: float) -> None:
        """A generation request that got no response (upstream unreachable, timeout, ...)."""
        obs = self.observe(route, method, request_body, False)
        if obs is not None:
            self.finish(obs, error_type=error_type, duration=duration, t0=0.0)

    def finish(self, obs: ResponseObserver, *, error_type: str, duration: float,
               t0: float) -> None:
        """Record what ``obs`` saw. ``t0`` is the request's receipt (``clock`` time)."""
        try:
            self._finish(obs, error_type, duration, t0)
        except Exception:
            self.count_error()

    def _finish(self, obs: ResponseObserver, error_type: str, duration: float,
                t0: float) -> None:
        scanner = obs.scanner
        response_model = scanner.model if scanner is not None else None
        request_model, model, base = self.labels.resolve(obs.request_model, response_model)
        key = (obs.operation, request_model, model, base)
        m = self.metrics
        self._child(m.operation_duration, (*key, error_type)).observe(duration)
        if scanner is None:
            return
        output: int | None = None
        usage = scanner.usage
        if usage is not None:
            prompt, output = usage
            if prompt is not None:
                self._child(m.tokens, (*key, "input", "usage")).observe(prompt)
            if output is not None:
                self._child(m.tokens, (*key, "output", "usage")).observe(output)
        elif obs.streaming and scanner.deltas:
            output = scanner.deltas
            self._child(m.tokens, (*key, "output", "estimate")).observe(output)
        first = scanner.first_delta_at
        if obs.streaming and not error_type and first is not None:
            ttft = first - t0
            self._child(m.ttft, key).observe(ttft)
            if output is not None and output > 1 and duration > ttft:
                self._child(m.tpot, key).observe((duration - ttft) / (output - 1))

    def _child(self, family: Any, values: tuple[str, ...]) -> Any:
        key = (id(family), values)
        child = self._children.get(key)
        if child is None:
            child = family.labels(*values)
            if len(self._children) < _CHILD_LIMIT:
                self._children[key] = child
        return child
