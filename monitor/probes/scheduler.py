"""Run the probes against the live upstream on a schedule.

Each run: select the probes (fresh pool units of the epoch, or the rotating suite:
:mod:`~monitor.probes.selection`), send them with the probe header (so the proxy does not sample
them), score, judge against the baseline, write ``probe_runs``/``probe_attempts`` rows (outcomes
only, no raw text) and update the metrics. A run that fails (target unreachable, every attempt
errored, an exception) is counted as ``tunewatch_probe_runs_total{status="failed"}``, draws
nothing and does not advance ``tunewatch_probe_last_success_timestamp_seconds``, so "probes are
stale" is an alert on ``time() - last_success``. Overlapping runs are skipped
(``status="skipped"``), as is a run with nothing left to draw.

**Epochs.** The epoch of a run is the deployment fingerprint (``deployment.epoch_components`` of
:meth:`FingerprintTracker.current`, hashed; the daemon hands the scheduler an ``epoch``
callable): fresh draws and the sequential tests' evidence are per epoch, and a new fingerprint
starts a new one.

**Sequential tests** (:mod:`~monitor.probes.evidence`): per refusal-scored category, a test
against the baseline (``refusal_rate/probe/<category>``) and, with ``probes.base_url``, a paired
test against the base model (``paired/probe/<category>``; the same fresh probes go to the base,
:mod:`~monitor.probes.base_model`), each inside an evidence ledger that admits an outcome once per
(unit, epoch), hosted by the daemon's detector host (exported, resettable through
``POST /v1/detectors/reset``, alarms to the triggers like every hosted detector). Their states are
saved in ``probe_state`` with every run and restored at start, so evidence accumulates across
runs and restarts without counting a re-sent unit twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from detectors.base import DetectorState
from monitor.detection.host import DetectorHost
from monitor.detection.judge import RefusalJudge, load_refusal_judge
from monitor.metrics.probes import ProbeMetrics
from monitor.probes.base_model import BaseComparison
from monitor.probes.baseline import Baseline, check_suite, load_baseline
from monitor.probes.config import ProbeSettings
from monitor.probes.evaluate import Evaluation, evaluate
from monitor.probes.evidence import Fed, ProbeEvidence, cusum_name, paired_name
from monitor.probes.pool.loader import load_pool
from monitor.probes.pool.model import Pool
from monitor.probes.pool.sampler import epoch_key
from monitor.probes.runner import ProbeRunner, new_run_id
from monitor.probes.scoring import ScoredRun, score_run
from monitor.probes.selection import CategoryCoverage, ProbeSelector, Selection
from monitor.probes.store import ProbeStore
from monitor.probes.suite import Suite, resolve_suite
from monitor.store import Store

log = logging.getLogger(__name__)

__all__ = ["ProbeRunFailed", "ProbeRunResult", "ProbeScheduler", "cusum_name", "paired_name"]


class ProbeRunFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class ProbeRunResult:
    run_id: str
    status: str  # ok | failed | skipped
    started_at: float
    ended_at: float
    evaluation: Evaluation | None = None
    error: str | None = None
    cusum: dict[str, DetectorState] = field(default_factory=dict)  # category -> state
    paired: dict[str, DetectorState] = field(default_factory=dict)  # category -> state
    epoch: str | None = None
    coverage: dict[str, CategoryCoverage] = field(default_factory=dict)

    @property
    def regressions(self) -> list[str]:
        return self.evaluation.regressions if self.evaluation else []


class ProbeScheduler:
    def __init__(
        self,
        *,
        settings: ProbeSettings,
        metrics: ProbeMetrics,
        store: Store,
        host: DetectorHost,
        target_base_url: str | None = None,
        clock: Callable[[], float] = time.time,
        classifier: RefusalJudge | None = None,
        classifier_loader: Callable[[str], RefusalJudge] = load_refusal_judge,
        suite: Suite | None = None,
        pool: Pool | None = None,
        baseline: Baseline | None = None,
        epoch: Callable[[], str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sign: Callable[[str], str] | None = None,
        base_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``pool``: the probe pool (default: built from ``probes.pool`` when enabled);
        ``epoch``: the current evidence epoch (the daemon's: the hashed
        ``deployment.epoch_components`` of the fingerprint; default: one epoch); ``transport`` /
        ``base_transport``: httpx transports of the target and the base endpoint (tests)."""
        self.settings = settings
        self._sign = sign  # signs the probe marker of each request (the daemon's ProbeMarker)
        self.metrics = metrics
        self.runs = ProbeStore(store)
        self.host = host
        self.target_base_url = target_base_url.rstrip("/") if target_base_url else None
        self._clock = clock
        self._classifier = classifier
        self._load_classifier = classifier_loader
        self._transport = transport
        self._epoch: Callable[[], str] = epoch or (lambda: epoch_key({}))
        if pool is None and settings.pool.enabled and suite is None:
            pool = load_pool(settings.pool)
        self.pool = pool
        self.suite = suite or (pool.suite() if pool is not None else resolve_suite(settings.suite))
        if baseline is None and settings.baseline is not None:
            baseline = load_baseline(Path(settings.baseline))
        if baseline is not None:
            check_suite(baseline, self.suite, file=str(settings.baseline or "baseline"))
        self.baseline = baseline
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[ProbeRunResult], Any]] = []
        self._scheduler: Any = None
        self.selector = ProbeSelector(settings=settings, runs=self.runs, suite=self.suite,
                                      store=store, pool=pool, clock=clock)
        self.base = (BaseComparison(settings=settings, runs=self.runs, suite=self.suite,
                                    transport=base_transport, clock=clock)
                     if settings.base_url else None)
        self.evidence = ProbeEvidence(host=host, settings=settings, baseline=baseline,
                                      units=self.selector.units_per_category(),
                                      slot=self.runs.slot,
                                      base_label=self.base.label if self.base else None)
        self._export_baseline()
        self._export_pool(self.epoch())
        self._restore_last_runs()

    def epoch(self) -> str:
        """The current evidence epoch (a deployment fingerprint key)."""
        return self._epoch()

    def _restore_last_runs(self) -> None:
        """Re-export the last run times so a restart does not look like stale probes."""
        last_run, last_ok = self.runs.last_run_times()
        if last_run is not None:
            self.metrics.probe_last_run.set(last_run)
        if last_ok is not None:
            self.metrics.probe_last_success.set(last_ok)

    # -- scheduling ------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._scheduler is not None

    def start(self, *, target_base_url: str | None = None) -> None:
        """Start the apscheduler job (call from inside the running event loop); the probes go to
        ``target_base_url`` (the sidecar's own proxy URL + /v1, when given)."""
        if target_base_url is not None:
            self.target_base_url = target_base_url.rstrip("/")
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        s = self.settings
        if s.cron:
            trigger: Any = CronTrigger.from_crontab(s.cron)
            first = None
        else:
            trigger = IntervalTrigger(seconds=s.interval_seconds or 3600.0)
            first = datetime.now(UTC) + timedelta(seconds=s.first_run_delay_s)
        sched = AsyncIOScheduler(timezone=UTC)
        sched.add_job(self._job, trigger, id="tunewatch-probes", max_instances=1, coalesce=True,
                      misfire_grace_time=60, **({"next_run_time": first} if first else {}))
        sched.add_listener(lambda _e: self.metrics.probe_runs.labels(status="skipped").inc(),
                           EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        sched.start()
        self._scheduler = sched

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def _job(self) -> None:
        await self.run_once()

    # -- one run -----------------------------------------------------------------------------
    async def run_once(self) -> ProbeRunResult:
        m = self.metrics
        if self._lock.locked():
            m.probe_runs.labels(status="skipped").inc()
            now = self._clock()
            return ProbeRunResult(run_id="", status="skipped", started_at=now, ended_at=now)
        async with self._lock:
            run_id = new_run_id()
            started = self._clock()
            try:
                result = await self._run(run_id, started)
            except Exception as e:
                ended = self._clock()
                m.monitor_error("probe")
                msg = f"{type(e).__name__}: {e}"[:500]
                log.warning("probe run %s failed: %s", run_id, msg)
                try:
                    self._record_failure(run_id, started, ended, msg)
                except Exception:
                    m.monitor_error("store")
                result = ProbeRunResult(run_id, "failed", started, ended, error=msg)
            m.probe_runs.labels(status=result.status).inc()
            m.probe_last_run.set(result.ended_at)
            m.probe_run_duration.set(result.ended_at - result.started_at)
            if result.status == "ok":
                m.probe_last_success.set(result.ended_at)
            for listener in list(self._listeners):
                try:
                    listener(result)
                except Exception:
                    m.monitor_error("trigger")
                    log.exception("probe result listener failed")
            return result

    def add_result_listener(self, listener: Callable[[ProbeRunResult], Any]) -> None:
        """Call ``listener(result)`` after every run (triggers use it for regressions)."""
        self._listeners.append(listener)

    async def _run(self, run_id: str, started: float) -> ProbeRunResult:
        if self.target_base_url is None:
            raise ProbeRunFailed("no target: start() the scheduler with the sidecar's URL first")
        sel = self.selector.select(self.epoch())
        if not sel.probes:
            self._export_pool(sel.epoch)
            return ProbeRunResult(run_id, "skipped", started, self._clock(), epoch=sel.epoch,
                                  error="nothing left to draw in this epoch (the probe pool is "
                                  "exhausted and probes.pool.when_exhausted is stop)",
                                  coverage=self.selector.coverage(sel.epoch))
        runner = ProbeRunner(base_url=self.target_base_url,
                             settings=self.settings.runner_settings(), run_id=run_id,
                             transport=self._transport, sign=self._sign)
        output = await runner.run(sel.probes)
        if output.attempts and all(a.error is not None for a in output.attempts):
            kinds = sorted({a.error or "" for a in output.attempts})
            raise ProbeRunFailed(f"every probe attempt failed ({', '.join(kinds)})")
        if self._classifier is None:
            self._classifier = await asyncio.to_thread(self._load_classifier,
                                                       self.settings.classifier)
        scored = await asyncio.to_thread(score_run, self.suite, output.attempts, self._classifier)
        base = await self._base_verdicts(sel, run_id)
        s = self.settings
        evaluation = evaluate(scored, self.baseline, alpha=s.alpha,
                              min_effect_size=s.min_effect_size,
                              max_unscoreable_increase=s.max_unscoreable_increase)
        fed = self.evidence.feed(epoch=sel.epoch, tuned=scored.unit_outcomes(), base=base)
        ended = self._clock()
        self._record_success(run_id, started, ended, scored, evaluation, sel, fed)
        self.selector.record(sel, run_id=run_id)
        self._export(scored, evaluation)
        self._export_pool(sel.epoch)
        return ProbeRunResult(run_id, "ok", started, ended, evaluation=evaluation,
                              cusum=fed.unpaired, paired=fed.paired, epoch=sel.epoch,
                              coverage=self.selector.coverage(sel.epoch))

    async def _base_verdicts(self, sel: Selection, run_id: str
                             ) -> dict[tuple[str, str], bool] | None:
        """The base model's verdicts on this run's units; a failing base endpoint costs the
        paired evidence of this run only (counted as a ``probe_base`` monitor error)."""
        if self.base is None:
            return None
        assert self._classifier is not None
        before = self.base.requests
        try:
            return await self.base.verdicts(sel.probes, run_id=run_id,
                                            classifier=self._classifier)
        except Exception as e:
            self.metrics.monitor_error("probe_base")
            log.warning("base model run %s failed: %s", run_id, type(e).__name__)
            return None
        finally:
            self.metrics.base_requests.inc(self.base.requests - before)

    # -- sequential tests ------------------------------------------------------------------
    def cusum_states(self) -> dict[str, DetectorState]:
        """Category -> state of its probe refusal CUSUM (against the baseline)."""
        return {cat: self.host.state(name) for cat, name in self.evidence.unpaired.items()}

    def paired_states(self) -> dict[str, DetectorState]:
        """Category -> state of its paired test (against the base model)."""
        return {cat: self.host.state(name) for cat, name in self.evidence.paired.items()}

    # -- storage ---------------------------------------------------------------------------------
    def _record_failure(self, run_id: str, started: float, ended: float, error: str) -> None:
        self.runs.record_failure(run_id=run_id, started=started, ended=ended,
                                 suite_name=self.suite.name, suite_hash=self.suite.hash,
                                 baseline_run_id=self.baseline.run_id if self.baseline else None,
                                 error=error)

    def _record_success(self, run_id: str, started: float, ended: float, scored: ScoredRun,
                        ev: Evaluation, sel: Selection, fed: Fed) -> None:
        coverage = self.selector.coverage(sel.epoch, pending=sel)
        summary = {
            cat: {
                "passed": t.passed, "failed": t.failed, "unscoreable": t.unscoreable,
                "errors": t.errors,
                **({"baseline_failed": c.baseline_failed, "baseline_n": c.baseline_n,
                    "p_value": c.p_value, "p_adjusted": c.p_adjusted, "regression": c.regression}
                   if (c := ev.comparisons.get(cat)) else {}),
                "inconclusive": cat in ev.inconclusive,
                **({"cusum": st.as_dict()} if (st := fed.unpaired.get(cat)) is not None else {}),
                # which epoch the evidence covers, and how much of the category it has seen
                "epoch": sel.epoch,
                **({"coverage": cv.as_dict()} if (cv := coverage.get(cat)) else {}),
                **self.evidence.summary(cat),
            }
            for cat, t in ev.tallies.items()
        }
        self.runs.record_success(
            run_id=run_id, started=started, ended=ended, suite_name=self.suite.name,
            suite_hash=self.suite.hash,
            baseline_run_id=self.baseline.run_id if self.baseline else None,
            regressions=ev.regressions, summary=summary, attempts=scored.attempts,
            rotation_offset=sel.next_offset,
            # the sequential tests' states with the run, in its transaction
            state=self.evidence.state_dicts())

    # -- metrics ---------------------------------------------------------------------------------
    def _export_baseline(self) -> None:
        if self.baseline is None:
            return
        for cat, r in self.baseline.categories.items():
            scored = r.passed + r.failed
            if scored:
                self.metrics.probe_baseline_failure_rate.labels(
                    category=self.metrics.category(cat)).set(r.failed / scored)

    def _export_pool(self, epoch: str) -> None:
        m = self.metrics
        for cat, cov in self.selector.coverage(epoch).items():
            label = m.category(cat)
            m.pool_units.labels(category=label).set(cov.total)
            m.pool_drawn.labels(category=label).set(cov.drawn)
            m.pool_exhausted.labels(category=label).set(int(cov.exhausted))

    def _export(self, scored: ScoredRun, ev: Evaluation) -> None:
        m = self.metrics
        for sa in scored.attempts:
            cat = m.category(sa.attempt.category)
            m.probe_attempts.labels(category=cat, outcome=sa.outcome).inc()
            if sa.verdict is not None:
                m.verdicts.inc(sa.attempt.category, sa.verdict)
            if sa.detail.startswith("canary:") and sa.outcome == "fail":
                m.probe_canary_leaks.labels(category=cat).inc()
        for name, t in ev.tallies.items():
            cat = m.category(name)
            if t.scored:
                m.probe_failure_rate.labels(category=cat).set(t.failed / t.scored)
            c = ev.comparisons.get(name)
            if c is not None:
                if c.baseline_n:
                    m.probe_baseline_failure_rate.labels(category=cat).set(c.baseline_rate)
                m.probe_regression_pvalue.labels(category=cat).set(c.p_adjusted)
                m.probe_regression_detected.labels(category=cat).set(int(c.regression))
