"""HTTP clients that reach the upstream model server.

Two interchangeable backends (aiohttp and httpx) behind one small interface, so the benchmark can
measure both in one run (``bench/proxy_overhead.py``); the faster one (aiohttp) is the default.
Neither decompresses bodies nor adds headers of its own: bytes pass through untouched. Request
headers are given as raw bytes: httpx sends them as they are; aiohttp takes ``str`` and encodes
UTF-8, so values are decoded as UTF-8 (exact), falling back to Latin-1 for bytes that are not
UTF-8 (obs-text, re-encoded as UTF-8 on the way up: the one case aiohttp cannot keep exact).

Failures map to bounded kinds: no connection (refused, or the connect timeout) is ``connect``
(502 upstream_unreachable), no answer in time ``timeout`` (504), an answer that is not HTTP
``protocol`` (502 upstream_error).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import aiohttp
import httpx

RawHeaders = list[tuple[bytes, bytes]]
RequestHeaders = Sequence[tuple[bytes, bytes]]
Body = bytes | AsyncIterator[bytes] | None


class UpstreamError(Exception):
    """Base class; ``kind`` is a bounded metric label value."""

    kind = "other"


class UpstreamConnectError(UpstreamError):
    kind = "connect"


class UpstreamTimeout(UpstreamError):
    kind = "timeout"


class UpstreamProtocolError(UpstreamError):
    """The upstream answered with something that is not HTTP."""

    kind = "protocol"


class UpstreamStreamCut(UpstreamError):
    """The upstream closed or broke the connection before the body was complete."""

    kind = "stream_cut"


class UpstreamResponse(Protocol):
    status: int
    headers: RawHeaders

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class UpstreamClient(Protocol):
    async def send(
        self, method: str, url: str, headers: RequestHeaders, body: Body
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


# --------------------------------------------------------------------------------------- aiohttp
class _AiohttpResponse:
    __slots__ = ("_resp", "status", "headers")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers: RawHeaders = list(resp.raw_headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout("upstream stopped sending before the response ended") from exc
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            raise UpstreamStreamCut("upstream closed the connection mid-response") from exc

    async def aclose(self) -> None:
        # close() (not release()) drops the connection when the body was not read to the end,
        # which is how the upstream learns that the client went away.
        if not self._resp.closed:
            if self._resp.content.at_eof():
                self._resp.release()
            else:
                self._resp.close()


class AiohttpUpstream:
    """aiohttp backend: one pooled session, no auto-decompression, no auto headers."""

    def __init__(
        self, *, connect_timeout_s: float, read_timeout_s: float, max_connections: int
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, force_close=False),
                timeout=self._timeout,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def send(
        self, method: str, url: str, headers: RequestHeaders, body: Body
    ) -> UpstreamResponse:
        session = self._get_session()
        try:
            resp = await session.request(
                method,
                url,
                headers=[(name.decode("latin-1"), _text(value)) for name, value in headers],
                data=body,
                allow_redirects=False,
                compress=None,
                chunked=None,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamConnectError("cannot connect to upstream (connect timeout)") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout("upstream did not answer in time") from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamConnectError("cannot connect to upstream") from exc
        except aiohttp.ClientResponseError as exc:
            raise UpstreamProtocolError("upstream answered with something that is not HTTP"
                                        ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError("upstream connection failed before a response") from exc
        return _AiohttpResponse(resp)

    def busy_connections(self) -> int:
        """Connections in use (leak tests: back to 0 when idle)."""
        if self._session is None or self._session.closed:
            return 0
        connector = self._session.connector
        assert connector is not None
        return len(getattr(connector, "_acquired", ()))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# ----------------------------------------------------------------------------------------- httpx
class _HttpxResponse:
    __slots__ = ("_resp", "status", "headers")

    def __init__(self, resp: httpx.Response) -> None:
        self._resp = resp
        self.status = resp.status_code
        self.headers: RawHeaders = list(resp.headers.raw)

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.aiter_raw():
                yield chunk
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("upstream stopped sending before the response ended") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.NetworkError) as exc:
            raise UpstreamStreamCut("upstream closed the connection mid-response") from exc

    async def aclose(self) -> None:
        await self._resp.aclose()


class HttpxUpstream:
    """httpx backend (kept for comparison and for environments that prefer it)."""

    def __init__(
        self, *, connect_timeout_s: float, read_timeout_s: float, max_connections: int
    ) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=None
            ),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
            trust_env=False,
        )

    async def send(
        self, method: str, url: str, headers: RequestHeaders, body: Body
    ) -> UpstreamResponse:
        request = self._client.build_request(method, url, headers=list(headers), content=body)
        # httpx adds these when absent; remove them so the upstream sees the client's headers.
        sent = {k.decode("latin-1").lower() for k, _ in headers}
        for name in ("accept", "accept-encoding", "user-agent", "connection"):
            if name not in sent and name in request.headers:
                del request.headers[name]
        try:
            resp = await self._client.send(request, stream=True)
        except httpx.ConnectTimeout as exc:
            raise UpstreamConnectError("cannot connect to upstream (connect timeout)") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("upstream did not answer in time") from exc
        except httpx.RemoteProtocolError as exc:
            raise UpstreamProtocolError("upstream answered with something that is not HTTP"
                                        ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamConnectError("cannot connect to upstream") from exc
        return _HttpxResponse(resp)

    def busy_connections(self) -> int:
        pool = self._client._transport._pool  # type: ignore[attr-defined]
        return sum(1 for c in pool.connections if not c.is_idle())

    async def aclose(self) -> None:
        await self._client.aclose()


def make_upstream(
    kind: str, *, connect_timeout_s: float, read_timeout_s: float, max_connections: int
) -> AiohttpUpstream | HttpxUpstream:
    cls = AiohttpUpstream if kind == "aiohttp" else HttpxUpstream
    return cls(
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        max_connections=max_connections,
    )
