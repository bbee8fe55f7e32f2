"""HTTP semantics the proxy needs, kept apart from the hot path: which headers are hop-by-hop
(RFC 9110 7.6.1), and the bounded route and method label values of the metrics."""

from __future__ import annotations

from collections.abc import Iterable

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
