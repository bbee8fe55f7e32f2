"""App factory: builds every component of the daemon from settings, with no module globals.

``create_app(settings, registry)`` returns a :class:`Daemon`: the proxy ASGI app, the admin FastAPI
app (built once, from the routers the components contribute) and the background components, each
typed; :meth:`Daemon.startup` / :meth:`Daemon.shutdown` start and stop them. The clock and registry
are injectable; side effects start only in ``startup``.

Wiring, one way: the proxy hands samples to the queue; the worker runs the pipeline and its
analyzers, which feed the detector host; the host's alarm events, the fingerprint's changes and the
probe runs are queued to the trigger service, which raises tickets on its own thread. The
governance loop (:mod:`monitor.governance.service`) hears every change of a current fingerprint
value, of the verified artefacts and of the adapters the upstream reports; its control-change and
artefact-mismatch events are queued to the trigger service the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from monitor import __version__
from monitor.admin import bearer_guard, create_admin_app
from monitor.analysis.analyzers import build_analyzers
from monitor.analysis.fingerprint import FingerprintTracker
from monitor.analysis.pipeline import Analyzer, Pipeline
from monitor.analysis.redaction import Redactor
from monitor.analysis.samples import SampleStore
from monitor.analysis.shadow import ShadowReplay
from monitor.analysis.worker import AnalysisWorker
from monitor.config import Settings
from monitor.detection import api as detection_api
from monitor.detection.host import DetectorHost
from monitor.detection.judge import judge_error, load_refusal_judge, traffic_judge_kind
from monitor.governance import api as governance_api
from monitor.governance.pack_sources import PackSources
from monitor.governance.service import Governance
from monitor.metrics import Metrics
from monitor.metrics.detectors import DetectorCollector
from monitor.metrics.genai import GenAICollector, GenAIView
from monitor.metrics.otlp import OtlpExporter, OtlpExportMetrics
from monitor.probes import api as probes_api
from monitor.probes.pool.loader import load_pool
from monitor.probes.pool.sampler import epoch_key
from monitor.probes.scheduler import ProbeScheduler
from monitor.proxy.app import ProxyApp
from monitor.proxy.catalog import ModelLabels
from monitor.proxy.health import UpstreamMonitor
from monitor.proxy.marker import ProbeMarker
from monitor.proxy.sampler import SampleQueue, SamplingPolicy
from monitor.proxy.tokens import TokenAccounting
from monitor.proxy.upstream import AiohttpUpstream, HttpxUpstream, make_upstream
from monitor.store import Store
from monitor.triggers import api as triggers_api
from monitor.triggers.evidence import EvidenceSources
from monitor.triggers.service import TriggerService
from monitor.untrusted import display_url

log = logging.getLogger("tunewatch.app")


@dataclass(frozen=True)
class Reports:
    """``/readyz`` and ``/v1/status``, read from the components they describe."""

    settings: Settings
    upstream: UpstreamMonitor
    queue: SampleQueue
    pipeline: Pipeline
    worker: AnalysisWorker
    fingerprint: FingerprintTracker
    triggers: TriggerService | None
    governance: Governance
    epoch: Callable[[], str] | None = None

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        h = self.upstream.health
        worker_ok = self.worker.alive or not self.settings.analysis.enabled
        details: dict[str, Any] = {
            "upstream": h.as_dict(),
            "analysis_worker": {
                "ok": worker_ok,
                "processed": self.worker.processed,
                "queue_depth": self.queue.qsize(),
                "stage_failures": dict(self.pipeline.stage_failures),
            },
            "analyzers": {a.name: a.status() for a in self.pipeline.analyzers},
        }
        if self.triggers is not None:
            details["triggers"] = self.triggers.readiness()
        # The proxy fails open: analysis problems are reported, but only the upstream and the
        # worker thread decide readiness.
        return bool(h.ok) and worker_ok, details

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {
            "version": __version__,
            "upstream": {"url": display_url(s.upstream.url), "client": s.upstream.client,
                         "models": self.upstream.health.models},
            "sampling": {"rate": s.sampling.rate, "routes": s.sampling.routes,
                         "queue_depth": self.queue.qsize(), "queue_size": s.sampling.queue_size},
            "analysis": {"processed": self.worker.processed, "embedder": s.analysis.embedder},
            "fingerprint": self.fingerprint.current(),
            **({"epoch": self.epoch()} if self.epoch is not None else {}),
            "privacy": {"retain_text": s.privacy.retain_text},
            "governance": self.governance.status_json(),
        }


@dataclass
class Daemon:
    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    store: Store
    host: DetectorHost
    queue: SampleQueue
    client: AiohttpUpstream | HttpxUpstream
    proxy_app: ProxyApp
    admin_app: FastAPI
    pipeline: Pipeline
    worker: AnalysisWorker
    fingerprint: FingerprintTracker
    upstream: UpstreamMonitor
    reports: Reports
    triggers: TriggerService | None
    probes: ProbeScheduler | None
    governance: Governance
    probe_marker: ProbeMarker
    shadow: ShadowReplay | None = None
    clock: Callable[[], float] = time.time
    otlp: OtlpExporter | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)

    async def startup(self, *, proxy_url: str | None = None) -> None:
        """Start the components; ``proxy_url`` (the bound proxy socket) is where the scheduled
        probes go, so they pass through this sidecar (marked, never sampled)."""
        if self.settings.analysis.enabled:
            self.worker.start()
        deployment = self.settings.deployment
        if deployment.output_filter_version:
            self.fingerprint.observe("output_filter", deployment.output_filter_version)
        if deployment.scope_version:
            self.fingerprint.observe("scope", deployment.scope_version)
        await self.governance.start()  # reports the serving fingerprint once, starts hashing
        self._background.append(asyncio.ensure_future(self.upstream.run()))
        if self.otlp is not None:
            self.otlp.start()
        if self.triggers is not None:
            await self.triggers.start()
        if self.probes is not None:
            target = proxy_url or self.settings.upstream.url or ""
            self.probes.start(target_base_url=target + "/v1")

    async def shutdown(self) -> None:
        """Stop in the reverse order of the data flow: probes, the upstream poll, the worker
        (it drains the queue and saves the detectors; what that raises is queued to the
        triggers), then the triggers (they act on what is queued before they stop)."""
        if self.probes is not None:
            self._quietly(self.probes.shutdown, "probes")
        for task in self._background:
            task.cancel()
        for task in self._background:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._background.clear()
        try:
            await self.governance.stop()
        except Exception:
            log.exception("stopping the governance loop failed")
        await asyncio.to_thread(self.worker.stop)
        if self.otlp is not None:
            await asyncio.to_thread(self._quietly, self.otlp.stop, "OTLP exporter")
        if self.shadow is not None:
            await asyncio.to_thread(self.shadow.stop)
        if self.triggers is not None:
            try:
                await self.triggers.stop()
            except Exception:
                log.exception("stopping the triggers failed")
        await self.client.aclose()
        self.store.close()

    @staticmethod
    def _quietly(stop: Callable[[], None], what: str) -> None:
        try:
            stop()
        except Exception:
            log.exception("stopping the %s failed", what)


def _set_judge_errors(host: DetectorHost, settings: Settings) -> None:
    """Refusal rates of each source are also reported corrected for the error of the judge that
    scores it (traffic: the analysis embedder's judge; probes: ``probes.classifier``)."""
    a = settings.analysis
    if a.refusal_classifier:
        host.set_judge_error("traffic", judge_error(traffic_judge_kind(a)))
    host.set_judge_error("probe", judge_error(settings.probes.classifier))


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
    _set_judge_errors(host, settings)
    registry.register(DetectorCollector(host))

    # -- the hot path ------------------------------------------------------------------------
    secret_file = settings.sampling.probe_secret_file
    marker = (ProbeMarker.from_file(secret_file, clock=clock) if secret_file is not None
              else ProbeMarker.random(clock=clock))  # signs this daemon's probes and polls
    queue = SampleQueue(maxsize=settings.sampling.queue_size, metrics=metrics.sampling)
    up = settings.upstream
    model_labels = ModelLabels(limit=settings.metrics.max_label_values)
    tokens = (TokenAccounting(metrics=metrics.tokens, labels=model_labels)
              if settings.metrics.token_usage else None)
    client = make_upstream(up.client, connect_timeout_s=up.connect_timeout_s,
                           read_timeout_s=up.read_timeout_s, max_connections=up.max_connections)
    proxy = ProxyApp(
        upstream_url=up.url or "",
        client=client,
        metrics=metrics.proxy,
        sampling=metrics.sampling,
        policy=SamplingPolicy(rate=settings.sampling.rate, routes=settings.sampling.routes),
        queue=queue,
        request_id_header=settings.sampling.request_id_header,
        probe_header=settings.sampling.probe_header,
        marker=marker,
        max_capture_bytes=settings.proxy.max_capture_bytes,
        max_in_flight=settings.proxy.max_in_flight,
        retry_after_s=settings.proxy.retry_after_s,
        upload_stall_s=up.read_timeout_s,
        tokens=tokens,
    )
    otlp = _genai_exports(settings, registry, metrics)

    # -- analysis ------------------------------------------------------------------------------
    fingerprint = FingerprintTracker(metrics=metrics.deployment, store=store, clock=clock)
    governance = Governance(settings=settings.governance,
                            artifacts=settings.deployment.artifacts,
                            model_parents=settings.deployment.model_parents, store=store,
                            fingerprint=fingerprint, clock=clock)
    for collector in governance.collectors():
        registry.register(collector)
    samples = SampleStore(store)
    upstream = UpstreamMonitor(  # its model list says which models are the deployment's
        url=up.url or "", probe_header=settings.sampling.probe_header, sign=marker.sign,
        interval_s=settings.deployment.poll_models_interval_s,
        observe_models=partial(fingerprint.observe, "upstream_models"),
        on_error=partial(metrics.deployment.monitor_error, "fingerprint"), clock=clock,
        observe_served=model_labels.update, reports=governance.adapters)
    # issue 11: the evidence epoch (a deployment-fingerprint key) and the probe pool, shared by
    # the probes (fresh draws) and the traffic categories (labelled units)
    epoch_components = tuple(settings.deployment.epoch_components)

    def epoch() -> str:
        return epoch_key(fingerprint.current(), keys=epoch_components)

    pool_mode = settings.probes.enabled and settings.probes.pool.enabled
    pool = (load_pool(settings.probes.pool)
            if pool_mode or settings.analysis.categories.enabled else None)
    if analyzers is None:
        analyzers = build_analyzers(settings, metrics=metrics.analysis, store=store, host=host,
                                    clock=clock, epoch=epoch, pool=pool)
    shadow = next((a for a in analyzers if isinstance(a, ShadowReplay)), None)
    pipeline = Pipeline(
        metrics=metrics.analysis,
        samples=samples,
        fingerprint=fingerprint,
        redactor=Redactor(),
        retain_text=settings.privacy.retain_text,
        max_retained_chars=settings.privacy.max_retained_chars,
        analyzers=analyzers,
        clock=clock,
        max_decoded_bytes=settings.analysis.max_decoded_bytes,
        deployment_models=lambda: upstream.health.models,
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
        checkpoint_every_samples=settings.analysis.checkpoint_every_samples,
    )

    # -- probes and triggers ---------------------------------------------------------------------
    probes = None
    if settings.probes.enabled:
        probes = ProbeScheduler(
            settings=settings.probes, metrics=metrics.probes, store=store, host=host, clock=clock,
            sign=marker.sign,
            # the same embedding cache and device as the traffic analysis
            classifier_loader=partial(load_refusal_judge, analysis=settings.analysis),
            pool=pool if pool_mode else None, epoch=epoch)
    triggers = None
    if settings.triggers.enabled:
        triggers = TriggerService(
            settings=settings.triggers, store=store, metrics=metrics.triggers, clock=clock,
            fingerprint=fingerprint,
            evidence=EvidenceSources(
                probe_run=probes.runs.latest_ok if probes is not None else None,
                transcripts=samples.recent_transcripts, detectors=host.snapshot),
            lineage=governance.lineage, ack_gate=governance.ack_gate())
        fingerprint.add_listener(triggers.notify)
        governance.raise_into(triggers.notify)
        host.subscribe(triggers.notify)
        if probes is not None:
            probes.add_result_listener(triggers.notify)

    # -- the admin app, once, from the components' routers ----------------------------------------
    admin_token = settings.admin.resolved_token()
    guard = bearer_guard(admin_token)
    packs = PackSources(settings=settings.governance, serving=governance.serving,
                        review_reason=lambda: governance.review.status().reason,
                        artifacts=governance.verifier.results, host=host,
                        probes=probes.runs if probes is not None else None,
                        dispositions=governance.dispositions, clock=clock)
    routers: list[APIRouter] = [
        detection_api.make_router(host=host, guard=guard),
        governance_api.make_router(dispositions=governance.dispositions, auth=guard,
                                   current_fingerprint=governance.serving,
                                   review=governance.review,
                                   render_pack=packs.render_disposition),
    ]
    if triggers is not None:
        routers.append(triggers_api.make_router(
            service=triggers, metrics=metrics.triggers, guard=guard,
            alertmanager_token=settings.triggers.resolved_alertmanager_token() or admin_token,
            render_pack=packs.render_ticket, record_disposition=governance.record_for_ticket))
    if probes is not None:
        routers.append(probes_api.make_router(scheduler=probes, guard=guard))
    reports = Reports(settings=settings, upstream=upstream, queue=queue, pipeline=pipeline,
                      worker=worker, fingerprint=fingerprint, triggers=triggers,
                      governance=governance, epoch=epoch)
    admin_app = create_admin_app(registry=registry, guard=guard, readiness=reports.readiness,
                                 status=reports.status, routers=routers)
    return Daemon(
        settings=settings, registry=registry, metrics=metrics, store=store, host=host,
        queue=queue, client=client, proxy_app=proxy, admin_app=admin_app, pipeline=pipeline,
        worker=worker, fingerprint=fingerprint, upstream=upstream, reports=reports,
        triggers=triggers, probes=probes, governance=governance, probe_marker=marker,
        shadow=shadow, clock=clock, otlp=otlp,
    )


def _genai_exports(settings: Settings, registry: CollectorRegistry,
                   metrics: Metrics) -> OtlpExporter | None:
    """The opt-in GenAI semantic-convention views of the token metrics: on ``/metrics``
    (``metrics.genai_names``) and over OTLP (``metrics.otlp.endpoint``)."""
    m = settings.metrics
    view = GenAIView(metrics.tokens, provider=m.genai_provider_name)
    if m.genai_names:
        registry.register(GenAICollector(view))
    if m.otlp.endpoint is None:
        return None
    return OtlpExporter(view=view, endpoint=m.otlp.endpoint, interval_s=m.otlp.interval_s,
                        timeout_s=m.otlp.timeout_s, headers=dict(m.otlp.headers),
                        service_name=m.otlp.service_name, metrics=OtlpExportMetrics(registry))
