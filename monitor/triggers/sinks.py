"""Ticket sinks: generic webhook (HMAC-signed), Slack-compatible webhook, local directory.

Every sink receives outbox items (``opened`` / ``updated`` / ``closed`` events of a ticket) and
raises :class:`DeliveryError` when the item must be retried. Repeated delivery of the same item is
harmless: the webhook carries ``Idempotency-Key``; the directory sink writes files named by that key
atomically (temporary file + rename); issue trackers (see :mod:`monitor.triggers.trackers`) look
for what they already created. The Slack webhook has no idempotency support: at-least-once there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import httpx

from monitor.triggers.config import DirectorySink, SlackSink, WebhookSink
from monitor.triggers.outbox import OutboxItem
from monitor.triggers.render import disposition_line, render_markdown

SIGNATURE_HEADER = "X-Tunewatch-Signature"


class DeliveryError(RuntimeError):
    """A delivery attempt failed; the item stays in the outbox. The message never holds content."""


class RefStore(Protocol):
    def get_ref(self, trigger_id: int, sink: str) -> str | None: ...

    def set_ref(self, trigger_id: int, sink: str, ref: str) -> None: ...


class Sink(Protocol):
    name: str

    async def deliver(self, item: OutboxItem, refs: RefStore) -> None: ...

    async def aclose(self) -> None: ...


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>`` HMAC of the raw request body.

    >>> sign("k", b"{}")
    'sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check(resp: httpx.Response, what: str) -> None:
    if resp.status_code >= 300:
        raise DeliveryError(f"{what}: HTTP {resp.status_code}")


async def _post(client: httpx.AsyncClient, url: str, what: str, **kw: Any) -> httpx.Response:
    try:
        resp = await client.post(url, **kw)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}") from None
    _check(resp, what)
    return resp


class WebhookSinkImpl:
    """POST the outbox payload as JSON, signed with HMAC-SHA256 when a secret is configured."""

    def __init__(self, *, settings: WebhookSink, name: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self._url = settings.url
        self._secret = settings.resolved_secret()
        self._client = httpx.AsyncClient(timeout=settings.timeout_s, transport=transport,
                                         trust_env=False)

    async def deliver(self, item: OutboxItem, refs: RefStore) -> None:
        body = json.dumps(item.payload, sort_keys=True).encode()
        headers = {"content-type": "application/json", "Idempotency-Key": item.idempotency_key,
                   "X-Tunewatch-Event": item.event}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        await _post(self._client, self._url, "webhook", content=body, headers=headers)

    async def aclose(self) -> None:
        await self._client.aclose()


class SlackSinkImpl:
    """Slack-compatible incoming webhook: ``{"text": ...}`` with mrkdwn."""

    def __init__(self, *, settings: SlackSink, name: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self._url = settings.url
        self._client = httpx.AsyncClient(timeout=settings.timeout_s, transport=transport,
                                         trust_env=False)

    async def deliver(self, item: OutboxItem, refs: RefStore) -> None:
        t = item.payload["ticket"]
        verb = {"opened": "opened", "updated": "updated", "closed": "closed"}[item.event]
        ev = item.payload.get("evidence", {})
        severity = t.get("severity", "warning")
        lines = [("*CRITICAL* " if severity == "critical" else "")
                 + f"*[{t['id']}] {t['title']}* ({verb})",
                 f"type `{t['type']}` · severity {severity} · owner {t['owner']} · "
                 f"fired {t['fire_count']}x"]
        changed = ev.get("what_changed") or {}
        if changed:
            lines.append("changed: " + ", ".join(f"{k}: {v}" for k, v in changed.items()))
        for link in (ev.get("links") or {}).values():
            lines.append(link)
        decision = disposition_line(item.payload)
        if decision is not None:
            lines.append(decision)
        await _post(self._client, self._url, "slack", json={"text": "\n".join(lines)})

    async def aclose(self) -> None:
        await self._client.aclose()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class DirectorySinkImpl:
    """``<dir>/events/<idempotency key>.json`` per event, ``<dir>/<TW-n>.md`` and ``.json`` with
    the ticket's latest state. Rewriting a file with the same content is a no-op, so redelivery is
    harmless."""

    def __init__(self, *, settings: DirectorySink, name: str) -> None:
        self.name = name
        self.root = Path(settings.path)

    async def deliver(self, item: OutboxItem, refs: RefStore) -> None:
        t = item.payload["ticket"]
        try:
            safe_key = item.idempotency_key.replace(":", "_")
            atomic_write(self.root / "events" / f"{safe_key}.json",
                         json.dumps(item.payload, sort_keys=True, indent=2).encode())
            atomic_write(self.root / f"{t['id']}.json",
                         json.dumps(item.payload, sort_keys=True, indent=2).encode())
            atomic_write(self.root / f"{t['id']}.md", render_markdown(item.payload).encode())
        except OSError as exc:
            raise DeliveryError(f"directory: {type(exc).__name__} ({exc.errno})") from None

    async def aclose(self) -> None:
        return None
