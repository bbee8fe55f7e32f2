"""Run the probe suite (or a rotating subset) against the live upstream on a schedule.

Each run: select the next subset, send it with the probe header (so the proxy does not sample it),
score, judge against the baseline, write ``probe_runs``/``probe_attempts`` rows (outcomes only, no
raw text) and update the metrics. A run that fails (target unreachable, every attempt errored,
an exception) is counted as ``tunewatch_probe_runs_total{status="failed"}`` and does not advance
``tunewatch_probe_last_success_timestamp_seconds``, so "probes are stale" is an alert on
``time() - last_success``. Overlapping runs are skipped (``status="skipped"``).

Refusal verdicts of the disallowed and obfuscated categories feed one Bernoulli CUSUM per category
(:class:`detectors.cusum.BernoulliCusum`, in-control rate = the baseline's refusal rate, drop of
``min_effect_size``), hosted by the daemon's detector host as ``refusal_rate/probe/<category>``
(exported, resettable through ``POST /v1/detectors/reset``, alarms to the triggers like every
hosted detector). Their state is saved in ``probe_state`` with every run and restored at start,
so evidence accumulates across runs and restarts. The rotation offset of the subset persists too.
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
from monitor.probes.baseline import Baseline, check_suite, load_baseline
from monitor.probes.config import ProbeSettings
from monitor.probes.evaluate import Evaluation, evaluate
from monitor.probes.runner import ProbeRunner, new_run_id
from monitor.probes.scoring import ScoredRun, score_run
from monitor.probes.store import ROTATION_OFFSET, ProbeStore, cusum_key
from monitor.probes.suite import REFUSAL_CATEGORIES, Probe, Suite, resolve_suite
from monitor.store import Store

log = logging.getLogger(__name__)

def cusum_name(category: str) -> str:
    """Name of a category's probe refusal CUSUM in the detector host."""
    return f"refusal_rate/probe/{category}"


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
        baseline: Baseline | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sign: Callable[[str], str] | None = None,
    ) -> None:
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
        self.suite = suite or resolve_suite(settings.suite)
        if baseline is None and settings.baseline is not None:
            baseline = load_baseline(Path(settings.baseline))
        if baseline is not None:
            check_suite(baseline, self.suite, file=str(settings.baseline or "baseline"))
        self.baseline = baseline
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[ProbeRunResult], Any]] = []
        self._scheduler: Any = None
        self._groups = self._unit_groups()
        self._cusums: dict[str, str] = {}  # category -> hosted detector name
        if baseline is not None:
            self._cusums = self._host_cusums(baseline)
        self._export_baseline()
        self._restore_last_runs()

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
        probes, next_offset = self._select()
        runner = ProbeRunner(base_url=self.target_base_url,
                             settings=self.settings.runner_settings(), run_id=run_id,
                             transport=self._transport, sign=self._sign)
        output = await runner.run(probes)
        if output.attempts and all(a.error is not None for a in output.attempts):
            kinds = sorted({a.error or "" for a in output.attempts})
            raise ProbeRunFailed(f"every probe attempt failed ({', '.join(kinds)})")
        if self._classifier is None:
            self._classifier = await asyncio.to_thread(self._load_classifier,
                                                       self.settings.classifier)
        scored = await asyncio.to_thread(score_run, self.suite, output.attempts, self._classifier)
        s = self.settings
        evaluation = evaluate(scored, self.baseline, alpha=s.alpha,
                              min_effect_size=s.min_effect_size,
                              max_unscoreable_increase=s.max_unscoreable_increase)
        states = self._update_cusums(scored)
        ended = self._clock()
        self._record_success(run_id, started, ended, scored, evaluation, next_offset, states)
        self._export(scored, evaluation)
        return ProbeRunResult(run_id, "ok", started, ended, evaluation=evaluation, cusum=states)

    # -- subsets -------------------------------------------------------------------------------
    def _unit_groups(self) -> list[list[Probe]]:
        groups: list[list[Probe]] = []
        pairs: dict[str, list[Probe]] = {}
        for p in self.suite.probes:
            if p.pair:
                if p.pair not in pairs:
                    pairs[p.pair] = []
                    groups.append(pairs[p.pair])
                pairs[p.pair].append(p)
            else:
                groups.append([p])
        return groups

    def _select(self) -> tuple[list[Probe], int]:
        n = len(self._groups)
        size = self.settings.subset_size
        if not size or size >= n:
            return [p for g in self._groups for p in g], 0
        offset = int(self.runs.get_state(ROTATION_OFFSET) or 0) % n
        chosen = [self._groups[(offset + i) % n] for i in range(size)]
        return [p for g in chosen for p in g], (offset + size) % n

    # -- CUSUM ---------------------------------------------------------------------------------
    def _host_cusums(self, baseline: Baseline) -> dict[str, str]:
        from detectors.cusum import BernoulliCusum

        out = {}
        for cat in REFUSAL_CATEGORIES:
            rates = baseline.categories.get(cat)
            if rates is None or rates.passed + rates.failed == 0:
                continue
            p0 = min(0.98, max(0.02, rates.passed / (rates.passed + rates.failed)))
            p1 = max(p0 - self.settings.min_effect_size, p0 / 2)
            det = BernoulliCusum(p0=p0, p1=p1, arl0=self.settings.cusum_arl0,
                                 reference_id=f"{baseline.run_id}/{cat}")
            name = cusum_name(cat)
            # restored from probe_state by the host (another baseline or configuration: the
            # host logs it and the CUSUM starts afresh)
            self.host.add_refusal_rate(name, det, source="probe", category=cat,
                                       baseline_rate=rates.passed / (rates.passed + rates.failed),
                                       slot=self.runs.slot(cusum_key(cat)))
            out[cat] = name
        return out

    def _update_cusums(self, scored: ScoredRun) -> dict[str, DetectorState]:
        # one observation per probe (repeats collapsed): refused (pass) = True, complied = False
        verdicts: dict[str, list[bool]] = {}
        for (cat, _key), outcome in scored.unit_outcomes().items():
            if cat in self._cusums and outcome != "unscoreable":
                verdicts.setdefault(cat, []).append(outcome == "pass")
        states: dict[str, DetectorState] = {}
        for cat, name in self._cusums.items():
            xs = verdicts.get(cat)
            states[cat] = self.host.update_many(name, xs) if xs else self.host.state(name)
        return states

    def cusum_states(self) -> dict[str, DetectorState]:
        """Category -> state of its probe refusal CUSUM."""
        return {cat: self.host.state(name) for cat, name in self._cusums.items()}

    # -- storage ---------------------------------------------------------------------------------
    def _record_failure(self, run_id: str, started: float, ended: float, error: str) -> None:
        self.runs.record_failure(run_id=run_id, started=started, ended=ended,
                                 suite_name=self.suite.name, suite_hash=self.suite.hash,
                                 baseline_run_id=self.baseline.run_id if self.baseline else None,
                                 error=error)

    def _record_success(self, run_id: str, started: float, ended: float, scored: ScoredRun,
                        ev: Evaluation, next_offset: int, cusum: dict[str, DetectorState]
                        ) -> None:
        summary = {
            cat: {
                "passed": t.passed, "failed": t.failed, "unscoreable": t.unscoreable,
                "errors": t.errors,
                **({"baseline_failed": c.baseline_failed, "baseline_n": c.baseline_n,
                    "p_value": c.p_value, "p_adjusted": c.p_adjusted, "regression": c.regression}
                   if (c := ev.comparisons.get(cat)) else {}),
                "inconclusive": cat in ev.inconclusive,
                **({"cusum": st.as_dict()} if (st := cusum.get(cat)) is not None else {}),
            }
            for cat, t in ev.tallies.items()
        }
        self.runs.record_success(
            run_id=run_id, started=started, ended=ended, suite_name=self.suite.name,
            suite_hash=self.suite.hash,
            baseline_run_id=self.baseline.run_id if self.baseline else None,
            regressions=ev.regressions, summary=summary, attempts=scored.attempts,
            rotation_offset=next_offset,
            # the CUSUM states with the run, in its transaction
            state={cusum_key(cat): self.host.state_dict(name) for cat, name in self._cusums.items()})

    # -- metrics ---------------------------------------------------------------------------------
    def _export_baseline(self) -> None:
        if self.baseline is None:
            return
        for cat, r in self.baseline.categories.items():
            scored = r.passed + r.failed
            if scored:
                self.metrics.probe_baseline_failure_rate.labels(
                    category=self.metrics.category(cat)).set(r.failed / scored)

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
