"""The upstream's health, polled: ``GET {upstream}/v1/models`` for readiness, and its model list as
a deployment-fingerprint component (``upstream_models``), and, parsed by
:func:`~monitor.governance.adapters.parse_vllm_models`, the served models with each LoRA
adapter's base (``observe_served``: the model labels of the token metrics).

With a :class:`ServerReports` receiver (the governance loop's adapter state) the poll also hands
over what the server says about the models it serves: the ``/v1/models`` body (vLLM lists its
LoRA modules there with their parent) and, where the server has them, llama.cpp's ``GET /props``
and ``GET /lora-adapters``. A server that answers ``/props`` with 404 (vLLM, TGI, llama-cpp-python)
is not asked again. A body the receiver cannot parse is counted (``on_error``: a monitor error,
stage ``fingerprint``) and otherwise ignored: it never stops the poll.

The poll carries the signed probe marker, so it is never sampled when it goes through a sidecar
that shares the secret. Credentials in the upstream URL (``http://user:pass@host``) are sent as
Basic auth and kept out of the URL that httpx logs. The clock and the callbacks are injected.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from monitor.governance.adapters import AdapterParseError, ServerModels, parse_vllm_models
from monitor.untrusted import safe_token, split_credentials

log = logging.getLogger("tunewatch.upstream")


@dataclass
class UpstreamHealth:
    ok: bool | None = None
    last_check: float | None = None
    error: str | None = None
    models: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "last_check": self.last_check, "error": self.error}


class ServerReports(Protocol):
    """Receives what the model server reports about the models it serves; raises ``ValueError``
    for a body it cannot parse."""

    def models(self, body: Any) -> object: ...

    def llamacpp(self, props: Any, lora_adapters: Any | None) -> object: ...


# statuses meaning "this server has no such route"
_NO_ROUTE = frozenset({404, 405, 501})


class UpstreamMonitor:
    """Checks the upstream once (:meth:`check`) or every ``interval_s`` (:meth:`run`)."""

    def __init__(self, *, url: str, probe_header: str, interval_s: float,
                 observe_models: Callable[[str], object], on_error: Callable[[], None],
                 sign: Callable[[str], str] = lambda run_id: run_id,
                 observe_served: Callable[[ServerModels], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 reports: ServerReports | None = None) -> None:
        self._base, self._auth = split_credentials(url.rstrip("/"))
        self._url = self._base + "/v1/models"
        self._probe_header = probe_header
        self._sign = sign
        self._interval_s = interval_s
        self._observe_models = observe_models
        self._on_error = on_error
        self._observe_served = observe_served
        self._clock = clock
        self._reports = reports
        self._llamacpp: bool | None = None  # None: not known yet whether it has /props
        self.health = UpstreamHealth()

    async def check(self) -> bool:
        """GET {upstream}/v1/models: readiness, plus the model list as a fingerprint."""
        health = self.health
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False, auth=self._auth) as client:
                r = await client.get(self._url,
                                     headers={self._probe_header: self._sign("health")})
                health.ok = r.status_code < 500
                health.error = None if health.ok else f"HTTP {r.status_code}"
                if r.status_code == 200:
                    try:
                        body = r.json()
                        ids = sorted(i for m in body.get("data", [])
                                     if (i := safe_token(str(m.get("id")))) is not None)
                    except Exception:  # a model list we cannot read is no fingerprint
                        body, ids = None, []
                    if ids and self._observe_served is not None:
                        try:
                            self._observe_served(parse_vllm_models(body))
                        except AdapterParseError:
                            log.warning("the upstream's /v1/models is not in the OpenAI shape; "
                                        "model labels stay bounded by count only")
                    health.models = ids[:50]
                    if ids:
                        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
                        self._observe_models(digest)
                    reports = self._reports
                    if reports is not None:
                        self._report("/v1/models", lambda: reports.models(body))
                        await self._poll_llamacpp(client)
        except httpx.HTTPError as exc:
            health.ok = False
            health.error = type(exc).__name__
        health.last_check = self._clock()
        return bool(health.ok)

    async def _poll_llamacpp(self, client: httpx.AsyncClient) -> None:
        """llama.cpp's ``/props`` and ``/lora-adapters``, unless the server showed it has none."""
        if self._llamacpp is False or self._reports is None:
            return
        reports = self._reports
        headers = {self._probe_header: self._sign("health")}
        props = await client.get(self._base + "/props", headers=headers)
        if props.status_code in _NO_ROUTE:
            self._llamacpp = False
            return
        if props.status_code != 200:
            return
        self._llamacpp = True
        lora = await client.get(self._base + "/lora-adapters", headers=headers)
        if lora.status_code != 200 and lora.status_code not in _NO_ROUTE:
            return
        self._report("/props", lambda: reports.llamacpp(
            props.json(), lora.json() if lora.status_code == 200 else None))

    def _report(self, what: str, hand_over: Callable[[], object]) -> None:
        """Hand a body to the receiver; a body it cannot parse is a counted monitor error."""
        try:
            hand_over()
        except ValueError as exc:  # the receiver's parse error (names a field), invalid JSON
            self._on_error()
            log.warning("cannot read the upstream's %s: %s", what, str(exc)[:200])

    async def run(self) -> None:
        """Check now, then every ``interval_s`` (only once when it is 0)."""
        while True:
            try:
                await self.check()
            except Exception:
                self._on_error()
                log.exception("upstream poll failed")
            if self._interval_s <= 0:
                return
            await asyncio.sleep(self._interval_s)
