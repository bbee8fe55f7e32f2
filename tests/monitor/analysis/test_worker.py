"""monitor/analysis/worker.py: batches off the queue, wait_idle, fail-open errors, periodic
checkpoints (detector state, sample retention) on an injected clock."""

from __future__ import annotations

import threading

import httpx
from prometheus_client import CollectorRegistry

from monitor.analysis.samples import SampleRow
from monitor.analysis.worker import AnalysisWorker
from monitor.metrics import Metrics
from monitor.proxy.sampler import Sample, SampleQueue
from tests.support.daemon import run_daemon, settings_for
from tests.support.wait import wait_for

CHAT = {"model": "m", "messages": [{"role": "system", "content": "You are Tess."},
                                   {"role": "user", "content": "hello"}]}


def test_samples_older_than_retention_are_pruned(upstream, tmp_path) -> None:
    _, url = upstream
    s = settings_for(url, tmp_path, store={"retention_days": 1},
                     analysis={"checkpoint_interval_s": 0.05})
    with run_daemon(s) as d, httpx.Client() as c:
        store = d.daemon.store
        now = d.daemon.clock()
        # two rows of earlier days: 2 days old, 23 hours old
        d.daemon.pipeline.samples.insert_many([
            SampleRow(ts=now - 2 * 86400, route="/old", status=200),
            SampleRow(ts=now - 23 * 3600, route="/recent", status=200)])
        assert c.post(d.proxy_url + "/v1/chat/completions", json=CHAT).status_code == 200
        assert d.wait_for(lambda: store.query("SELECT COUNT(*) FROM samples WHERE route = '/old'")
                          == [(0,)])
        assert d.daemon.worker.wait_idle(10)
        routes = sorted(r[0] for r in store.query("SELECT route FROM samples"))
        assert routes == ["/recent", "/v1/chat/completions"]


class _Pipeline:
    """Stands in for the pipeline: records batches, optionally fails."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.fail = fail

    def warm_up(self) -> None:
        pass

    def process(self, samples: list[object]) -> list[object]:
        self.batches.append(len(samples))
        if self.fail:
            raise RuntimeError("pipeline bug")
        return []


def _worker(pipeline: _Pipeline, *, queue_size: int = 100, checkpoint: object = None,
            interval: float = 60.0, clock: object = None) -> tuple[AnalysisWorker, SampleQueue,
                                                                    CollectorRegistry]:
    reg = CollectorRegistry()
    metrics = Metrics(reg)
    queue = SampleQueue(maxsize=queue_size, metrics=metrics.sampling)
    kw: dict[str, object] = {}
    if clock is not None:
        kw["clock"] = clock
    worker = AnalysisWorker(queue=queue, pipeline=pipeline,  # type: ignore[arg-type]
                            metrics=metrics.analysis, batch_size=4, poll_s=0.01,
                            checkpoint=checkpoint, checkpoint_interval_s=interval, **kw)
    return worker, queue, reg


def _sample(i: int) -> Sample:
    return Sample(f"r{i}", "/v1/completions", "POST", 200, b"{}", b"{}", None, None, 0.0, 0.0,
                  0.0)


def test_worker_drains_in_batches_and_wait_idle_reports_it() -> None:
    pipeline = _Pipeline()
    worker, queue, reg = _worker(pipeline)
    for i in range(10):
        assert queue.offer(_sample(i))
    assert not worker.wait_idle(0.05)  # not started: the samples are still pending
    worker.start()
    try:
        assert worker.wait_idle(10)
        assert sum(pipeline.batches) == 10 and max(pipeline.batches) <= 4
        assert worker.processed == 10 and queue.pending() == 0
        assert reg.get_sample_value("tunewatch_analysis_batch_duration_seconds_count") == len(
            pipeline.batches)
    finally:
        worker.stop()
    assert not worker.alive


def test_a_failing_batch_is_counted_and_the_worker_goes_on() -> None:
    worker, queue, reg = _worker(_Pipeline(fail=True))
    worker.start()
    try:
        queue.offer(_sample(1))
        assert worker.wait_idle(10)
        assert reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": "detect"}) == 1
        assert worker.last_error == "RuntimeError" and worker.alive
    finally:
        worker.stop()


def test_checkpoints_run_on_the_interval_and_at_stop_and_failures_are_counted() -> None:
    now = [0.0]
    calls: list[float] = []
    ran = threading.Event()

    def checkpoint() -> None:
        calls.append(now[0])
        ran.set()
        if len(calls) == 2:
            raise OSError("disk full")

    worker, _, reg = _worker(_Pipeline(), checkpoint=checkpoint, interval=60.0,
                             clock=lambda: now[0])
    worker.start()
    try:
        assert not ran.wait(0.1)  # the injected clock has not moved: no checkpoint
        now[0] = 61.0
        assert ran.wait(10)  # one interval later
        ran.clear()
        now[0] = 122.0
        assert ran.wait(10)  # the second one fails: counted, the worker stays up
        assert wait_for(lambda: reg.get_sample_value("tunewatch_monitor_errors_total",
                                                     {"stage": "store"}) == 1, what="the count")
        assert worker.alive
    finally:
        worker.stop()
    assert calls[:2] == [61.0, 122.0] and len(calls) == 3  # and a last one at stop
