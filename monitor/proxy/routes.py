"""HTTP semantics the proxy needs, kept apart from the hot path: which headers are hop-by-hop
(RFC 9110 7.6.1), the request path as the upstream will route it, and the bounded route and
method label values of the metrics."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)


# Request headers the proxy answers itself and never forwards: ``Expect: 100-continue`` is
# answered by the proxy's own server when the body is first read; forwarded, it made the upstream
# client wait for a 100 that servers which ignore Expect never send.
REQUEST_ONLY = frozenset({b"expect"})

# Percent-encoded unreserved characters (RFC 3986 2.3): the same as the characters themselves,
# so ``%2e%2e`` is a dot segment like ``..`` (6.2.2.2); the upstream's client decodes them.
_UNRESERVED_ESCAPE = re.compile(rb"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


def forward_path(raw_path: bytes) -> bytes | None:
    """The path the upstream will route, from the request target's raw path: escaped unreserved
    characters decoded and dot segments removed (RFC 3986 5.2.4). The proxy forwards exactly
    this and labels what it forwards, so ``/v1/x/../chat/completions`` is analysed as chat.
    ``None`` for a target that is not an absolute path (``OPTIONS *``).

    >>> forward_path(b"/v1/x/../chat/completions"), forward_path(b"/v1/./a/%2E%2e/models")
    (b'/v1/chat/completions', b'/v1/models')
    >>> forward_path(b"/a/b/.."), forward_path(b"/../../etc"), forward_path(b"*")
    (b'/a/', b'/etc', None)
    """
    if not raw_path.startswith(b"/"):
        return None
    path = _UNRESERVED_ESCAPE.sub(lambda m: bytes.fromhex(m.group(1).decode()), raw_path)
    if b"." not in path:
        return path
    out: list[bytes] = []
    segments = path.split(b"/")[1:]
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == b"..":
            if out:
                out.pop()
            if last:
                out.append(b"")
        elif seg == b".":
            if last:
                out.append(b"")
        else:
            out.append(seg)
    return b"/" + b"/".join(out)


def decoded_path(path: bytes) -> str:
    """A forwarded path as routes see it (percent-decoded, like the ASGI ``path``)."""
    return unquote_to_bytes(path).decode("utf-8", "replace")


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Names listed in ``Connection`` headers, lower-cased: hop-by-hop too (RFC 9110 7.6.1).

    >>> sorted(connection_tokens([(b"Connection", b"keep-alive, X-Hop"), (b"x-hop", b"1")]))
    [b'keep-alive', b'x-hop']
    """
    return frozenset(
        t.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for t in value.split(b",")
        if t.strip()
    )


KNOWN_ROUTES = frozenset(
    {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/responses",
        "/v1/moderations",
        "/v1/rerank",
        "/v1/tokenize",
        "/v1/detokenize",
        "/health",
        "/v1/health",
    }
)
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def route_template(path: str) -> str:
    """Collapse a request path to a bounded label value.

    >>> route_template("/v1/chat/completions"), route_template("/v1/models/gemma-3")
    ('/v1/chat/completions', '/v1/models/{model}')
    >>> route_template("/secret/user/text")
    'other'
    """
    if path in KNOWN_ROUTES:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    return "other"
