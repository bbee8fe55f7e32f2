"""Raw sockets on loopback for what HTTP clients will not send (dot segments, ``OPTIONS *``,
HTTP/1.0, slow or huge headers, ``Expect: 100-continue``) and upstreams that break the rules."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``data`` to 127.0.0.1:``port`` and read until the server closes (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_all(s, timeout=timeout)


def read_all(s: socket.socket, *, timeout: float = 10.0) -> bytes:
    """Read until EOF, a reset, or ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    out = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def read_head(s: socket.socket, *, timeout: float = 10.0) -> bytes:
    """Read up to the end of one response head (``\\r\\n\\r\\n``)."""
    s.settimeout(timeout)
    out = b""
    while b"\r\n\r\n" not in out:
        chunk = s.recv(1)
        if not chunk:
            break
        out += chunk
    return out


def status_of(response: bytes) -> int:
    """The status code of the first response in ``response`` (0 when there is none)."""
    parts = response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def head_and_body(response: bytes) -> tuple[dict[bytes, bytes], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


Handler = Callable[[socket.socket, bytes], None]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def raw_upstream(handler: Handler) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server calling ``handler(conn, head)`` after each request head it reads; yields
    its URL and the heads received."""
    heads: list[bytes] = []

    class _H(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            head = read_head(conn, timeout=10)
            if not head:
                return
            heads.append(head)
            try:
                handler(conn, head)
            except OSError:
                pass

    server = _Server(("127.0.0.1", 0), _H)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", heads
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def recv_exactly(conn: socket.socket, n: int, *, timeout: float = 10.0) -> bytes:
    conn.settimeout(timeout)
    out = b""
    while len(out) < n:
        chunk = conn.recv(min(65536, n - len(out)))
        if not chunk:
            break
        out += chunk
    return out


def json_reply(conn: socket.socket, body: bytes, status: bytes = b"200 OK") -> None:
    conn.sendall(b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
                 + body)
