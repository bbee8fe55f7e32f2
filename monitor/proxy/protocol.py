"""uvicorn's httptools protocol with the limits a proxy in front of a model server needs.

* **Header size**: a request line plus headers over ``max_header_bytes`` (64 KiB by default, like
  common proxies) is answered ``431`` and the connection closed; nothing is forwarded and no more
  of it is buffered.
* **Header timeout**: a request whose headers are not complete ``header_timeout_s`` after its
  first byte (or after the connection opened) is answered ``408`` and closed (slowloris); a
  connection that sent nothing is just closed. Between requests uvicorn's keep-alive timeout
  applies.
* **HTTP/1.0**: there is no chunked coding in HTTP/1.0, yet uvicorn frames a response without
  Content-Length as chunked; for an HTTP/1.0 request such a response is close-delimited instead.

``guarded_protocol(...)`` returns the class to pass as uvicorn's ``http``; ``on_reject(reason)``
counts each refusal (``header_too_large``, ``header_timeout``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

Reject = Callable[[str], None]

_REASONS = {431: b"Request Header Fields Too Large", 408: b"Request Timeout"}


class _HeaderTooLarge(Exception):
    pass


class _CloseDelimitedCycle(RequestResponseCycle):
    """An HTTP/1.0 exchange: a response without Content-Length ends when the connection closes."""

    _close_delimited = False

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            names = {name.lower() for name, _ in message.get("headers", [])}
            if b"content-length" not in names and self.scope["method"] != "HEAD":
                self._close_delimited = True
                self.keep_alive = False
                self.chunked_encoding = False
                self.expected_content_length = sys.maxsize
        elif (message["type"] == "http.response.body" and self._close_delimited
              and not message.get("more_body", False)):
            self.expected_content_length = len(message.get("body", b""))
        await super().send(message)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 65536
    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._in_head = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    @staticmethod
    def on_reject(reason: str) -> None:
        """Replaced per server by :func:`guarded_protocol`."""

    # -- connection and request boundaries ---------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._in_head = True
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        super().on_headers_complete()
        if self.scope.get("http_version") == "1.0" and self.cycle is not None:
            # uvicorn builds the cycle here; an HTTP/1.0 one frames responses by closing
            self.cycle.__class__ = _CloseDelimitedCycle

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeaderTooLarge) or self._refused:
                self._refuse(431, "header_too_large")
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    # -- limits ---------------------------------------------------------------------------------
    def _count(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.max_header_bytes:
            self._refused = True
            raise _HeaderTooLarge

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timeout)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self._in_head:  # part of a request arrived, not all of its headers
            self._refuse(408, "header_timeout")
        elif self.cycle is None:  # a connection that never sent a byte
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        self._refused = True
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        body = _REASONS[status] + b"\n"
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                             % (status, _REASONS[status], len(body), body))
        self.transport.close()
        try:
            self.on_reject(reason)
        except Exception:  # counting must never break the connection handling
            pass


def guarded_protocol(*, max_header_bytes: int, header_timeout_s: float,
                     on_reject: Reject | None = None) -> type[asyncio.Protocol]:
    """A protocol class for uvicorn's ``http`` setting, with these limits."""
    attrs: dict[str, Any] = {"max_header_bytes": max_header_bytes,
                             "header_timeout_s": header_timeout_s}
    if on_reject is not None:
        attrs["on_reject"] = staticmethod(on_reject)
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), attrs)
