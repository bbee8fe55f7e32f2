"""Runs the proxy and admin apps as two uvicorn servers in one event loop.

Sockets are bound before the servers start, so port 0 works and the bound addresses are known
up front (tests and the CLI print them). Both servers speak HTTP through
:mod:`monitor.proxy.protocol` (header size limit, header timeout, HTTP/1.0 framing); refusals on
the proxy port are counted in ``tunewatch_requests_rejected_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from monitor.app import Daemon
from monitor.config import split_hostport
from monitor.proxy.app import ResponseAborted
from monitor.proxy.protocol import Reject, guarded_protocol

log = logging.getLogger("tunewatch.server")


class _QuietAborts(logging.Filter):
    """Drop uvicorn's traceback for responses the proxy aborts on purpose (upstream cut)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ResponseAborted)


# uvicorn logs its lifecycle once per server; with two servers in one process every line came
# twice and said nothing about which port. serve() logs one line of its own instead.
_LIFECYCLE = ("Started server process", "Finished server process", "Shutting down",
              "Waiting for application", "Application startup", "Application shutdown",
              "Uvicorn running on")


class _OneLifecycleLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(_LIFECYCLE))


class _Server(uvicorn.Server):
    """uvicorn server whose signals are handled by :func:`serve` for both servers at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(listen: str) -> socket.socket:
    host, port = split_hostport(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class Bound:
    proxy: socket.socket
    admin: socket.socket

    @property
    def proxy_url(self) -> str:
        return "http://" + address(self.proxy)

    @property
    def admin_url(self) -> str:
        return "http://" + address(self.admin)


def _config(app: Any, daemon: Daemon, on_reject: Reject | None = None) -> uvicorn.Config:
    proxy = daemon.settings.proxy
    return uvicorn.Config(
        app,
        http=guarded_protocol(max_header_bytes=proxy.max_header_bytes,
                              header_timeout_s=proxy.header_timeout_s, on_reject=on_reject),
        lifespan="off",
        log_level=daemon.settings.log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,
        log_config=None,
    )


async def serve(
    daemon: Daemon,
    bound: Bound,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[Bound], Awaitable[None] | None] | None = None,
    install_signal_handlers: bool = False,
) -> None:
    """Serve until ``stop`` is set (or SIGINT/SIGTERM when handlers are installed)."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    for f in (_QuietAborts(), _OneLifecycleLog()):
        if not any(type(g) is type(f) for g in uvicorn_log.filters):
            uvicorn_log.addFilter(f)
    proxy_server = _Server(_config(daemon.proxy_app, daemon, daemon.metrics.proxy.reject))
    admin_server = _Server(_config(daemon.admin_app, daemon))
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    urls = (bound.proxy_url, bound.admin_url)  # the sockets are closed once the servers stop
    await daemon.startup(proxy_url=urls[0])
    tasks = [
        asyncio.ensure_future(proxy_server.serve(sockets=[bound.proxy])),
        asyncio.ensure_future(admin_server.serve(sockets=[bound.admin])),
    ]
    try:
        while not (proxy_server.started and admin_server.started):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        if proxy_server.started and admin_server.started:
            log.info("serving: proxy %s, admin %s (pid %d)", urls[0], urls[1], os.getpid())
        if on_ready is not None and proxy_server.started and admin_server.started:
            result = on_ready(bound)
            if asyncio.iscoroutine(result):
                await result
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    finally:
        proxy_server.should_exit = True
        admin_server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await daemon.shutdown()
        log.info("stopped: proxy %s, admin %s", *urls)
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            raise t.exception()  # type: ignore[misc]
