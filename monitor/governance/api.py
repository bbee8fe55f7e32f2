"""Admin-API routes of the dispositions (every route needs the admin bearer token).

- ``POST /v1/dispositions`` — record one. The body is a disposition (see
  :class:`~monitor.governance.dispositions.DispositionInput`); ``"fingerprint": "current"`` (or no
  fingerprint) binds the fingerprint being served now. 201 with the stored record; 400 with
  ``{"error", "problems": ["field: message", ...]}`` naming every field at fault (never echoing
  values); 409 when ``current`` is asked for but nothing has been observed yet.
- ``GET /v1/dispositions?decision=&heads=&limit=`` — newest first.
- ``GET /v1/dispositions/current`` — the review state of the serving deployment.
- ``GET /v1/dispositions/{id or reference}`` — the record(s) and the fingerprint's history.
- ``GET /v1/dispositions/{id or reference}/pack?format=html|md`` — the evidence pack, when the
  daemon provides a renderer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import DECISIONS, Disposition, DispositionError
from monitor.governance.review import ReviewState

MAX_BODY_BYTES = 256 * 1024
PackFormat = Literal["html", "md"]
PackRenderer = Callable[[Disposition, PackFormat], str]


def _error(status: int, error: str, problems: list[str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status)


def make_router(*, dispositions: DispositionStore, auth: Callable[..., Any],
                current_fingerprint: Callable[[], Mapping[str, str]],
                review: ReviewState | None = None,
                render_pack: PackRenderer | None = None) -> APIRouter:
    """Routes for the admin app; ``auth`` is the admin token dependency (e.g. ``bearer_guard``)."""
    router = APIRouter(prefix="/v1/dispositions", tags=["governance"],
                       dependencies=[Depends(auth)])

    @router.post("", status_code=201, summary="Record a disposition (immutable; a new one for "
                 "the same fingerprint supersedes the previous)")
    async def record(request: Request) -> JSONResponse:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            return _error(400, "body is not valid JSON")
        if not isinstance(data, dict):
            return _error(400, "body must be a JSON object (a disposition)")
        if data.get("fingerprint", "current") == "current":
            serving = dict(current_fingerprint())
            if not serving:
                return _error(409, "no deployment fingerprint observed yet; pass `fingerprint` "
                              "explicitly, e.g. {\"model\": \"tw-safe\"}")
            data["fingerprint"] = serving
        try:
            stored = dispositions.record(data)
        except DispositionError as exc:
            return _error(400, "invalid disposition", exc.problems)
        return JSONResponse(stored.as_dict(), status_code=201)

    @router.get("", summary="Dispositions, newest first")
    def list_dispositions(
        decision: str | None = Query(None, description="approved, approved-with-conditions or "
                                     "rejected"),
        heads: bool = Query(False, description="only records nobody superseded"),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        if decision is not None and decision not in DECISIONS:
            raise HTTPException(400, f"decision must be one of {', '.join(DECISIONS)}")
        return [d.summary() | {"tickets": list(d.tickets)}
                for d in dispositions.list_records(decision=decision, heads_only=heads,
                                                   limit=limit)]

    @router.get("/current", summary="Review state of the serving deployment")
    def current() -> dict[str, Any]:
        if review is not None:
            return review.status_json()
        serving = dict(current_fingerprint())
        d = dispositions.current_for(serving)
        return {"serving": serving, "disposition": d.summary() if d else None}

    def resolve(key: str) -> list[Disposition]:
        found = dispositions.resolve(key)
        if not found:
            raise HTTPException(404, "no disposition with that id or reference")
        return found

    @router.get("/{key}", summary="A disposition by id or reference, with its history")
    def show(key: str) -> dict[str, Any]:
        found = resolve(key)
        latest = found[-1]
        return {"disposition": latest.as_dict(), "records": [d.as_dict() for d in found],
                "history": [d.summary() for d in dispositions.history(latest.fingerprint_id)]}

    @router.get("/{key}/pack", summary="The evidence pack of a disposition (HTML or Markdown)",
                response_class=Response)
    def pack(key: str, format: PackFormat = Query("html")) -> Response:
        if render_pack is None:
            raise HTTPException(404, "evidence packs are not available on this daemon")
        latest = resolve(key)[-1]
        text = render_pack(latest, format)
        if format == "html":
            return HTMLResponse(text)
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")

    return router
