"""The upstream's health, polled: ``GET {upstream}/v1/models`` for readiness, and its model list as
a deployment-fingerprint component (``upstream_models``), and, parsed by
:func:`~monitor.governance.adapters.parse_vllm_models`, the served models with each LoRA
adapter's base (``observe_served``: the model labels of the token metrics).

The poll carries the probe header, so it is never sampled when it goes through a sidecar. The
clock and the fingerprint callback are injected.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from monitor.governance.adapters import AdapterParseError, ServerModels, parse_vllm_models

log = logging.getLogger("tunewatch.upstream")


@dataclass
class UpstreamHealth:
    ok: bool | None = None
    last_check: float | None = None
    error: str | None = None
    models: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "last_check": self.last_check, "error": self.error}


class UpstreamMonitor:
    """Checks the upstream once (:meth:`check`) or every ``interval_s`` (:meth:`run`)."""

    def __init__(self, *, url: str, probe_header: str, interval_s: float,
                 observe_models: Callable[[str], object], on_error: Callable[[], None],
                 observe_served: Callable[[ServerModels], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._url = url.rstrip("/") + "/v1/models"
        self._probe_header = probe_header
        self._interval_s = interval_s
        self._observe_models = observe_models
        self._on_error = on_error
        self._observe_served = observe_served
        self._clock = clock
        self.health = UpstreamHealth()

    async def check(self) -> bool:
        """GET {upstream}/v1/models: readiness, plus the model list as a fingerprint."""
        health = self.health
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
                r = await client.get(self._url, headers={self._probe_header: "health"})
            health.ok = r.status_code < 500
            health.error = None if health.ok else f"HTTP {r.status_code}"
            if r.status_code == 200:
                try:
                    body = r.json()
                    ids = sorted(str(m.get("id")) for m in body.get("data", []))
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
        except httpx.HTTPError as exc:
            health.ok = False
            health.error = type(exc).__name__
        health.last_check = self._clock()
        return bool(health.ok)

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
