"""Admin-port routes of the triggers: the Alertmanager receiver and the ticket API.

``POST /v1/alertmanager`` takes Alertmanager's webhook payload (version 4). It requires a bearer
token (``triggers.alertmanager_token``, else ``admin.token``; with neither it answers 503). A
malformed payload gets 400 with a reason that names the fields at fault; the log line and the reason
never contain the payload's contents. Each notification is counted in
``tunewatch_alertmanager_notifications_total{result}`` (accepted, rejected, unauthorized).

``POST /v1/triggers/{id}/ack`` closes a ticket. An optional JSON body names the disposition it is
acknowledged with, ``{"disposition": "DR-2026-015"}`` (or a record number), or records one first,
``{"disposition": {<a disposition, as for POST /v1/dispositions>}}``. The answer is the ticket with
a ``message`` (what the governance check said); 409 with that message when the check refuses the
ack (``governance.ack_disposition: require``), 400 naming the fields of a bad body.
``GET /v1/triggers/{id}/pack?format=html|md`` is the ticket's evidence pack.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.metrics.triggers import TriggerMetrics
from monitor.triggers.model import Ticket
from monitor.triggers.service import AckRefused, TriggerService

log = logging.getLogger("tunewatch.triggers.alertmanager")
MAX_BODY_BYTES = 1 << 20
MAX_ACK_BODY_BYTES = 256 * 1024
PackFormat = Literal["html", "md"]
# (ticket, format) -> the rendered evidence pack
TicketPackRenderer = Callable[[Ticket, PackFormat], str]
# (disposition body, ticket) -> the stored record's number; raises ValueError (with
# ``problems``, a list naming each field at fault) when the body is not a valid disposition
InlineDisposition = Callable[[dict[str, Any], Ticket], int]


class _AM(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AmAlert(_AM):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str = ""


class AmPayload(_AM):
    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    groupKey: str
    truncatedAlerts: int = Field(0, ge=0)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AmAlert] = Field(min_length=1, max_length=1000)


def _reason(exc: ValidationError) -> str:
    """Field locations and error kinds only; never the submitted values."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def make_router(*, service: TriggerService, metrics: TriggerMetrics, alertmanager_token: str | None,
                guard: Callable[..., None], render_pack: TicketPackRenderer | None = None,
                record_disposition: InlineDisposition | None = None) -> APIRouter:
    """``guard``: the admin API's bearer-token dependency (``/v1/triggers``); ``render_pack`` and
    ``record_disposition`` come from the governance loop (absent: no pack route, no inline
    dispositions)."""
    router = APIRouter()
    admin = guard

    def reject(status: int, reason: str, result: str = "rejected") -> JSONResponse:
        metrics.alertmanager_notifications.labels(result=result).inc()
        log.warning("alertmanager notification rejected (%d): %s", status, reason)
        return JSONResponse({"error": reason}, status_code=status)

    @router.post("/v1/alertmanager", tags=["triggers"],
                 summary="Alertmanager webhook receiver (bearer token required)")
    async def alertmanager(request: Request) -> JSONResponse:
        if alertmanager_token is None:
            return reject(503, "receiver disabled: set triggers.alertmanager_token or admin.token",
                          "unauthorized")
        auth = request.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), alertmanager_token.encode()):
            resp = reject(401, "missing or invalid bearer token", "unauthorized")
            resp.headers["WWW-Authenticate"] = "Bearer"
            return resp
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return reject(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            return reject(400, "body is not valid JSON")
        if not isinstance(data, dict):
            return reject(400, "body must be a JSON object (Alertmanager webhook payload)")
        try:
            payload = AmPayload.model_validate(data)
        except ValidationError as exc:
            return reject(400, f"not an Alertmanager v4 webhook payload: {_reason(exc)}")
        try:
            # raised off the event loop: evidence and the outbox write touch SQLite
            result = await asyncio.to_thread(service.on_alerts,
                                             [a.model_dump() for a in payload.alerts])
        except Exception:
            metrics.monitor_error("alertmanager")
            log.exception("alertmanager notification could not be recorded")
            return JSONResponse({"error": "could not record the notification; retry"},
                                status_code=503)
        metrics.alertmanager_notifications.labels(result="accepted").inc()
        return JSONResponse(result)

    @router.get("/v1/triggers", tags=["triggers"], dependencies=[Depends(admin)],
                summary="Tickets (state: open, acked or all)")
    def list_triggers(state: Literal["open", "acked", "all"] = "open") -> list[dict[str, Any]]:
        return [t.summary() for t in service.outbox.tickets(state=state)]

    @router.post("/v1/triggers/{ticket_id}/ack", tags=["triggers"], dependencies=[Depends(admin)],
                 summary="Acknowledge (close) a ticket, optionally with the disposition that "
                 "answers it")
    async def ack(ticket_id: str, request: Request) -> JSONResponse:
        try:
            tid = parse_ticket_id(ticket_id)
        except KeyError as exc:
            raise HTTPException(404, str(exc).strip("'")) from None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_ACK_BODY_BYTES:
                return JSONResponse({"error": f"body larger than {MAX_ACK_BODY_BYTES} bytes"},
                                    status_code=413)
        named: Any = None
        if body.strip():
            try:
                data = json.loads(bytes(body))
            except (ValueError, UnicodeDecodeError):
                return JSONResponse({"error": "body is not valid JSON"}, status_code=400)
            if not isinstance(data, dict) or set(data) - {"disposition"}:
                return JSONResponse({"error": "body must be a JSON object with at most the key "
                                     "`disposition`"}, status_code=400)
            named = data.get("disposition")
        if isinstance(named, bool) or not isinstance(named, str | int | dict | None):
            return JSONResponse({"error": "disposition must be a reference (e.g. DR-2026-015), a "
                                 "record number or a disposition object"}, status_code=400)
        return await asyncio.to_thread(_ack, tid, named)

    def _ack(tid: int, named: Any) -> JSONResponse:
        ticket = service.outbox.get(tid)
        if ticket is None:
            return JSONResponse({"error": f"no ticket TW-{tid}"}, status_code=404)
        if isinstance(named, dict):
            if record_disposition is None:
                return JSONResponse({"error": "this daemon records no dispositions"},
                                    status_code=404)
            try:
                named = record_disposition(named, ticket)
            except ValueError as exc:
                return JSONResponse({"error": "invalid disposition",
                                     "problems": list(getattr(exc, "problems", [str(exc)]))},
                                    status_code=400)
        try:
            outcome = service.ack(tid, by="api",
                                  disposition=None if named is None else str(named))
        except KeyError as exc:
            return JSONResponse({"error": str(exc).strip("'")}, status_code=404)
        except AckRefused as exc:
            return JSONResponse({"error": "acknowledgement refused", "message": str(exc)},
                                status_code=409)
        except ValueError as exc:
            return JSONResponse({"error": str(exc), "message": str(exc)}, status_code=409)
        return JSONResponse({**outcome.ticket.summary(), "message": outcome.message})

    if render_pack is not None:
        renderer = render_pack

        @router.get("/v1/triggers/{ticket_id}/pack", tags=["triggers"],
                    dependencies=[Depends(admin)], response_class=Response,
                    summary="The ticket's evidence pack (HTML or Markdown)")
        def pack(ticket_id: str, format: PackFormat = Query("html")) -> Response:
            try:
                ticket = service.outbox.get(parse_ticket_id(ticket_id))
            except KeyError as exc:
                raise HTTPException(404, str(exc).strip("'")) from None
            if ticket is None:
                raise HTTPException(404, f"no ticket {ticket_id.strip()[:16]}")
            text = renderer(ticket, format)
            if format == "html":
                return HTMLResponse(text)
            return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")

    return router


def parse_ticket_id(value: str) -> int:
    """``'TW-3'`` or ``'3'`` -> 3.

    >>> parse_ticket_id("TW-12"), parse_ticket_id("7")
    (12, 7)
    """
    v = value.strip().upper().removeprefix("TW-")
    if not v.isdigit():
        raise KeyError(f"{value!r} is not a ticket id (expected TW-<n> or <n>)")
    return int(v)
