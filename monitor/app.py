"""App factory: builds every component of the daemon from settings, with no module globals.

``create_app(settings, registry)`` returns a :class:`Daemon` holding the proxy ASGI app, the admin
FastAPI app and the background components; :meth:`Daemon.startup` / :meth:`Daemon.shutdown` start
and stop them. The clock and registry are injectable; side effects start only in ``startup``.
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
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from monitor import __version__
from monitor.admin import create_admin_app
from monitor.analysis.fingerprint import FingerprintTracker
from monitor.analysis.pipeline import Analyzer, Pipeline
from monitor.analysis.redaction import Redactor
from monitor.analysis.worker import AnalysisWorker
from monitor.config import Settings
from monitor.detection.host import DetectorHost
from monitor.metrics import Metrics
from monitor.metrics.detectors import DetectorCollector
from monitor.proxy.app import ProxyApp
from monitor.proxy.sampler import SampleQueue, SamplingPolicy
from monitor.proxy.upstream import AiohttpUpstream, HttpxUpstream, make_upstream
from monitor.store import Store

log = logging.getLogger("tunewatch.app")


@dataclass
class UpstreamHealth:
    ok: bool | None = None
    last_check: float | None = None
    error: str | None = None
    models: list[str] = field(default_factory=list)


@dataclass
class Daemon:
    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    store: Store
    queue: SampleQueue
    client: AiohttpUpstream | HttpxUpstream
    proxy_app: ProxyApp
    admin_app: FastAPI
    pipeline: Pipeline
    worker: AnalysisWorker
    fingerprint: FingerprintTracker
    host: DetectorHost
    clock: Callable[[], float] = time.time
    upstream_health: UpstreamHealth = field(default_factory=UpstreamHealth)
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    hooks_startup: list[Callable[[], Any]] = field(default_factory=list)
    hooks_shutdown: list[Callable[[], Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    proxy_url: str | None = None  # set by the server once the proxy socket is bound
    probes: Any = None  # ProbeScheduler when probes are enabled

    async def startup(self) -> None:
        if self.settings.analysis.enabled:
            self.worker.start()
        deployment = self.settings.deployment
        if deployment.output_filter_version:
            self.fingerprint.observe("output_filter", deployment.output_filter_version)
        if deployment.scope_version:
            self.fingerprint.observe("scope", deployment.scope_version)
        self.background.append(asyncio.ensure_future(self._poll_upstream()))
        for hook in self.hooks_startup:
            result = hook()
            if asyncio.iscoroutine(result):
                await result

    async def shutdown(self) -> None:
        for hook in reversed(self.hooks_shutdown):
            try:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("shutdown hook failed")
        for task in self.background:
            task.cancel()
        for task in self.background:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self.background.clear()
        await asyncio.to_thread(self.worker.stop)
        await self.client.aclose()
        self.store.close()

    async def check_upstream(self) -> bool:
        """GET {upstream}/v1/models: readiness, plus the model list as a fingerprint."""
        url = (self.settings.upstream.url or "") + "/v1/models"
        health = self.upstream_health
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
                r = await client.get(url, headers={self.settings.sampling.probe_header: "health"})
            health.ok = r.status_code < 500
            health.error = None if health.ok else f"HTTP {r.status_code}"
            if r.status_code == 200:
                try:
                    ids = sorted(str(m.get("id")) for m in r.json().get("data", []))
                except Exception:
                    ids = []
                health.models = ids[:50]
                if ids:
                    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
                    self.fingerprint.observe("upstream_models", digest)
        except httpx.HTTPError as exc:
            health.ok = False
            health.error = type(exc).__name__
        health.last_check = self.clock()
        return bool(health.ok)

    async def _poll_upstream(self) -> None:
        interval = self.settings.deployment.poll_models_interval_s
        while True:
            try:
                await self.check_upstream()
            except Exception:
                self.metrics.deployment.monitor_error("fingerprint")
                log.exception("upstream poll failed")
            if interval <= 0:
                return
            await asyncio.sleep(interval)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        h = self.upstream_health
        worker_ok = self.worker.alive or not self.settings.analysis.enabled
        details: dict[str, Any] = {
            "upstream": {"ok": h.ok, "last_check": h.last_check, "error": h.error},
            "analysis_worker": {
                "ok": worker_ok,
                "processed": self.worker.processed,
                "queue_depth": self.queue.qsize(),
                "stage_failures": dict(self.pipeline.stage_failures),
            },
            "analyzers": {a.name: a.status() for a in self.pipeline.analyzers},
        }
        for name, provider in self.extras.get("readiness", {}).items():
            details[name] = provider()
        # The proxy fails open: analysis problems are reported, but only the upstream and the
        # worker thread decide readiness.
        return bool(h.ok) and worker_ok, details

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {
            "version": __version__,
            "upstream": {"url": s.upstream.url, "client": s.upstream.client,
                         "models": self.upstream_health.models},
            "sampling": {"rate": s.sampling.rate, "routes": s.sampling.routes,
                         "queue_depth": self.queue.qsize(), "queue_size": s.sampling.queue_size},
            "analysis": {"processed": self.worker.processed, "embedder": s.analysis.embedder},
            "fingerprint": self.fingerprint.current(),
            "privacy": {"retain_text": s.privacy.retain_text},
        }


def create_app(
    settings: Settings,
    registry: CollectorRegistry,
    *,
    clock: Callable[[], float] = time.time,
    analyzers: list[Analyzer] | None = None,
) -> Daemon:
    if not settings.upstream.url:
        raise ValueError("upstream.url must be set before create_app (the CLI starts a local model)")
    metrics = Metrics(registry, max_label_values=settings.metrics.max_label_values)
    store = Store(settings.store.path)
    host = DetectorHost(clock=clock)
    registry.register(DetectorCollector(host))
    queue = SampleQueue(maxsize=settings.sampling.queue_size, metrics=metrics.sampling)
    policy = SamplingPolicy(rate=settings.sampling.rate, routes=settings.sampling.routes)
    up = settings.upstream
    client = make_upstream(
        up.client,
        connect_timeout_s=up.connect_timeout_s,
        read_timeout_s=up.read_timeout_s,
        max_connections=up.max_connections,
    )
    proxy = ProxyApp(
        upstream_url=up.url or "",
        client=client,
        metrics=metrics.proxy,
        sampling=metrics.sampling,
        policy=policy,
        queue=queue,
        request_id_header=settings.sampling.request_id_header,
        probe_header=settings.sampling.probe_header,
        max_capture_bytes=settings.proxy.max_capture_bytes,
    )
    fingerprint = FingerprintTracker(metrics=metrics.deployment, store=store, clock=clock)
    if analyzers is None:
        from monitor.analysis.analyzers import build_analyzers

        analyzers = build_analyzers(settings, metrics=metrics.analysis, store=store, host=host,
                                    clock=clock)
    pipeline = Pipeline(
        metrics=metrics.analysis,
        store=store,
        fingerprint=fingerprint,
        redactor=Redactor(),
        retain_text=settings.privacy.retain_text,
        max_retained_chars=settings.privacy.max_retained_chars,
        analyzers=analyzers,
        clock=clock,
    )

    retention_s = settings.store.retention_days * 86400.0

    def checkpoint() -> None:
        """Periodic housekeeping on the worker thread: save detector states, then delete samples
        older than ``store.retention_days``."""
        host.checkpoint()
        pruned = pipeline.prune(older_than_s=retention_s)
        if pruned:
            log.info("pruned %d samples older than %g days", pruned, settings.store.retention_days)

    worker = AnalysisWorker(
        queue=queue,
        pipeline=pipeline,
        metrics=metrics.analysis,
        batch_size=settings.analysis.batch_size,
        checkpoint=checkpoint,
        checkpoint_interval_s=settings.analysis.checkpoint_interval_s,
    )
    daemon = Daemon(
        settings=settings,
        registry=registry,
        metrics=metrics,
        store=store,
        queue=queue,
        client=client,
        proxy_app=proxy,
        admin_app=FastAPI(),  # replaced below (needs the daemon's callbacks)
        pipeline=pipeline,
        worker=worker,
        fingerprint=fingerprint,
        host=host,
        clock=clock,
    )
    daemon.admin_app = create_admin_app(
        registry=registry,
        token=settings.admin.resolved_token(),
        readiness=daemon.readiness,
        status=daemon.status,
    )
    _install_detector_api(daemon)
    from monitor.triggers.install import install as install_triggers

    install_triggers(daemon)
    if settings.probes.enabled:
        _install_probes(daemon)
    return daemon


def _install_detector_api(daemon: Daemon) -> None:
    """``GET /v1/detectors`` (states) and ``POST /v1/detectors/reset`` (after a review), over
    every hosted detector."""
    from monitor.detection.api import make_router

    daemon.admin_app.include_router(make_router(host=daemon.host,
                                                guard=daemon.admin_app.state.guard))


def _install_probes(daemon: Daemon) -> None:
    """Scheduled probes through this sidecar (marked, so production sampling skips them)."""
    from fastapi import Depends

    from monitor.probes.scheduler import ProbeScheduler

    analysis = daemon.settings.analysis

    def load_classifier(kind: str) -> Any:
        # the same embedding cache and device as the traffic analysis
        from detectors.refusal import load_classifier as load

        cache = analysis.static_cache_dir() if kind == "static" else None
        return load(kind, cache_dir=cache, device=analysis.device)  # type: ignore[arg-type]

    def start() -> None:
        target = (daemon.proxy_url or daemon.settings.upstream.url or "") + "/v1"
        daemon.probes = ProbeScheduler(
            settings=daemon.settings.probes,
            metrics=daemon.metrics.probes,
            store=daemon.store,
            host=daemon.host,
            target_base_url=target,
            clock=daemon.clock,
            classifier_loader=load_classifier,
        )
        triggers = daemon.extras.get("triggers")
        if triggers is not None:
            daemon.probes.add_result_listener(triggers.on_probe_result)
        daemon.probes.start()

    def stop() -> None:
        if daemon.probes is not None:
            daemon.probes.shutdown()

    daemon.hooks_startup.append(start)
    daemon.hooks_shutdown.append(stop)
    guard = daemon.admin_app.state.guard

    @daemon.admin_app.post("/v1/probes/run", tags=["probes"], dependencies=[Depends(guard)],
                           summary="Run the probe suite now and return the per-category result")
    async def run_probes_now() -> dict[str, Any]:
        if daemon.probes is None:
            return {"status": "not started"}
        result = await daemon.probes.run_once()
        return {"run_id": result.run_id, "status": result.status, "error": result.error,
                "regressions": result.regressions}
