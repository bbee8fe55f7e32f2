"""Admin route of the probes: ``POST /v1/probes/run`` runs the suite now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from monitor.probes.scheduler import ProbeScheduler


def make_router(*, scheduler: ProbeScheduler, guard: Callable[..., None]) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/probes/run", tags=["probes"], dependencies=[Depends(guard)],
                 summary="Run the probe suite now and return the per-category result")
    async def run_probes_now() -> dict[str, Any]:
        if not scheduler.started:
            return {"status": "not started"}
        result = await scheduler.run_once()
        return {"run_id": result.run_id, "status": result.status, "error": result.error,
                "regressions": result.regressions,
                # which epoch (deployment fingerprint) the run's evidence went to, and the
                # pool's coverage of each category in it
                "epoch": result.epoch,
                "coverage": {c: cov.as_dict() for c, cov in result.coverage.items()},
                "alarms": sorted({*(c for c, st in result.cusum.items() if st.drift),
                                  *(f"{c} (paired)" for c, st in result.paired.items()
                                    if st.drift)})}

    return router
