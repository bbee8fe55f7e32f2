"""The admin port: health checks, Prometheus exposition and the JSON status API.

The proxy port serves only the forwarded API; everything about Tunewatch itself lives here.
``/healthz``, ``/readyz`` and ``/metrics`` are open (probes and scrapers); ``/v1/*`` needs the bearer
token when one is configured. The app is built once, from the routers the components contribute
(detectors, triggers, probes), each guarded by the same :func:`bearer_guard`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from monitor import __version__


def bearer_guard(token: str | None) -> Callable[..., None]:
    scheme = HTTPBearer(auto_error=False, description="Admin API token (admin.token)")

    def check(creds: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        if token is None:
            return
        if creds is None or not hmac.compare_digest(creds.credentials.encode(), token.encode()):
            raise HTTPException(
                status_code=401,
                detail="missing or invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def create_admin_app(
    *,
    registry: CollectorRegistry,
    guard: Callable[..., None],
    readiness: Callable[[], tuple[bool, dict[str, Any]]],
    status: Callable[[], dict[str, Any]],
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    app = FastAPI(
        title="Tunewatch admin API",
        version=__version__,
        description="Health, metrics and status of the Tunewatch sidecar.",
    )

    @app.get("/healthz", tags=["health"], summary="Liveness: the process serves requests")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness with per-component details")
    def readyz() -> JSONResponse:
        ready, details = readiness()
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "components": details},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["metrics"], summary="Prometheus exposition")
    def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(content=encoder(registry), media_type=content_type)

    @app.get("/v1/status", tags=["status"], dependencies=[Depends(guard)])
    def get_status() -> dict[str, Any]:
        return status()

    for router in routers:
        app.include_router(router)
    return app
