"""Admin routes of the detector host: ``GET /v1/detectors`` and ``POST /v1/detectors/reset``.

Both cover every hosted detector: the traffic analyzers' and the probe refusal CUSUMs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from monitor.detection.host import DetectorHost


def make_router(*, host: DetectorHost, guard: Callable[..., None]) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/detectors", tags=["detectors"], dependencies=[Depends(guard)],
                summary="State of every detector: statistic, threshold, drift, n")
    def detector_states() -> dict[str, Any]:
        return {"detectors": host.states()}

    @router.post("/v1/detectors/reset", tags=["detectors"], dependencies=[Depends(guard)],
                 summary="Reset one detector (?name=) or all after a review")
    def reset_detectors(name: str | None = None) -> dict[str, Any]:
        try:
            return {"reset": host.reset(name)}
        except KeyError:
            raise HTTPException(404, f"no detector named {name!r}") from None

    return router
