"""monitor/proxy/upstream.py: both clients against the scripted upstream on loopback — bytes and
headers untouched, failures mapped to bounded kinds, connections released."""

from __future__ import annotations

import gzip
import json

import pytest

from monitor.proxy.upstream import (
    AiohttpUpstream,
    HttpxUpstream,
    UpstreamConnectError,
    UpstreamStreamCut,
    UpstreamTimeout,
    make_upstream,
)
from tests.support.net import free_port

KINDS = ["aiohttp", "httpx"]


def client(kind: str, *, read_timeout_s: float = 5.0) -> AiohttpUpstream | HttpxUpstream:
    return make_upstream(kind, connect_timeout_s=2, read_timeout_s=read_timeout_s,
                         max_connections=8)


async def body(resp: object) -> bytes:
    return b"".join([c async for c in resp.chunks()])  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
async def test_headers_and_body_pass_untouched(kind: str, upstream) -> None:
    _, url = upstream
    up = client(kind)
    try:
        resp = await up.send("POST", url + "/test/echo?x=1", [(b"x-custom", b"yes")], b"12345")
        echo = json.loads(await body(resp))
        await resp.aclose()
        sent = {k.lower() for k, _ in echo["headers"]}
        # the client adds no headers of its own (no user-agent, accept, accept-encoding)
        assert {"user-agent", "accept-encoding", "accept"}.isdisjoint(sent)
        assert dict(echo["headers"])["x-custom"] == "yes"
        assert echo["length"] == 5 and echo["query"] == "x=1"
        assert (b"x-upstream-header", b"kept") in [(k.lower(), v) for k, v in resp.headers]
        assert up.busy_connections() == 0  # released after a complete body
    finally:
        await up.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_bodies_are_not_decompressed(kind: str, upstream) -> None:
    _, url = upstream
    up = client(kind)
    try:
        resp = await up.send("GET", url + "/test/gzip", [], None)
        raw = await body(resp)
        await resp.aclose()
        assert json.loads(gzip.decompress(raw)) == {"choices": [{"text": "zipped"}]}
    finally:
        await up.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_unreachable_upstream_is_a_connect_error(kind: str) -> None:
    up = client(kind)
    try:
        with pytest.raises(UpstreamConnectError) as exc:
            await up.send("GET", f"http://127.0.0.1:{free_port()}/v1/models", [], None)
        assert exc.value.kind == "connect"
    finally:
        await up.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_upstream_is_a_timeout(kind: str, upstream) -> None:
    _, url = upstream
    up = client(kind, read_timeout_s=0.3)
    try:
        with pytest.raises(UpstreamTimeout) as exc:
            resp = await up.send("GET", url + "/test/slow?s=3", [], None)
            await body(resp)
        assert exc.value.kind == "timeout"
    finally:
        await up.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cut_stream_is_a_stream_cut(kind: str, upstream) -> None:
    _, url = upstream
    up = client(kind)
    try:
        resp = await up.send("GET", url + "/test/cut?n=3", [], None)
        assert resp.status == 200
        with pytest.raises(UpstreamStreamCut) as exc:
            await body(resp)
        assert exc.value.kind == "stream_cut"
        await resp.aclose()
        assert up.busy_connections() == 0
    finally:
        await up.aclose()


def test_make_upstream_picks_the_backend() -> None:
    assert isinstance(client("aiohttp"), AiohttpUpstream)
    assert isinstance(client("httpx"), HttpxUpstream)
