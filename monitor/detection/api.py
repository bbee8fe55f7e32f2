"""Admin routes of the detector host: ``GET /v1/detectors`` and ``POST /v1/detectors/reset``.

Both cover every hosted detector: the traffic analyzers' and the probes' sequential tests.
``GET /v1/detectors`` says, for a test inside an evidence ledger, which epoch (deployment
fingerprint) its state covers, the distinct units admitted, the repeats refused and the coverage
of the category.
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
                 summary="Reset one detector (?name=) or all after a review; a sequential "
                 "test inside an evidence ledger is acknowledged (its counted units stay "
                 "counted) unless ?forget=true")
    def reset_detectors(name: str | None = None, forget: bool = False) -> dict[str, Any]:
        try:
            return {"reset": host.reset(name, forget=forget)}
        except KeyError:
            raise HTTPException(404, f"no detector named {name!r}") from None

    return router
