"""Wire the trigger service into a :class:`monitor.app.Daemon` (called at the end of create_app).

Adds: the fingerprint listener, the detector-host alarm listener, the admin routes (``/v1/alertmanager``, ``/v1/triggers``), the
delivery and alarm-poll loops (startup/shutdown hooks), the ``triggers`` readiness details, and
``daemon.extras["triggers"]`` (the service, for the probe scheduler: call
``service.on_probe_result(result)`` after each run). If the daemon already holds a probe scheduler
in ``daemon.extras["probe_scheduler"]`` exposing ``add_result_listener``, it is wired here.
"""

from __future__ import annotations

import logging
from typing import Any

from monitor.triggers.api import make_router
from monitor.triggers.config import TriggerSettings
from monitor.triggers.service import TriggerService

log = logging.getLogger("tunewatch.triggers")


def install(daemon: Any, *, settings: TriggerSettings | None = None,
            **service_kwargs: Any) -> TriggerService | None:
    """``settings`` defaults to ``daemon.settings.triggers`` (or the defaults when absent).
    Idempotent: a daemon that already has the service keeps it."""
    existing = daemon.extras.get("triggers")
    if isinstance(existing, TriggerService):
        return existing
    if settings is None:
        settings = getattr(daemon.settings, "triggers", None) or TriggerSettings()
    if not settings.enabled:
        return None
    service = TriggerService(
        settings=settings,
        store=daemon.store,
        metrics=daemon.metrics.triggers,
        clock=daemon.clock,
        fingerprint_current=daemon.fingerprint.current,
        detectors=daemon.host.snapshot,
        **service_kwargs,
    )
    daemon.fingerprint.add_listener(service.on_fingerprint_change)
    daemon.host.subscribe(service.on_alarm)
    admin_token = daemon.settings.admin.resolved_token()
    daemon.admin_app.include_router(make_router(
        service=service, metrics=daemon.metrics.triggers,
        alertmanager_token=settings.resolved_alertmanager_token() or admin_token,
        admin_token=admin_token))
    daemon.hooks_startup.append(service.start)
    daemon.hooks_shutdown.append(service.stop)
    daemon.extras.setdefault("readiness", {})["triggers"] = service.readiness
    daemon.extras["triggers"] = service
    scheduler = daemon.extras.get("probe_scheduler")
    if scheduler is not None and hasattr(scheduler, "add_result_listener"):
        scheduler.add_result_listener(service.on_probe_result)
    return service
