"""The analysis worker: a thread that drains the sample queue in batches, off the event loop.

It first warms the pipeline up (analyzers load their models and restore their detectors, so the
drift gauges are exported right after a restart, not after the next sample), then checkpoints
every ``checkpoint_interval_s`` seconds and every ``checkpoint_every_samples`` samples, whichever
comes first: what a ``kill -9`` loses is bounded in time and in samples.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from monitor.analysis.pipeline import Pipeline
from monitor.metrics.analysis import AnalysisMetrics
from monitor.proxy.sampler import SampleQueue

log = logging.getLogger("tunewatch.worker")


class AnalysisWorker:
    def __init__(
        self,
        *,
        queue: SampleQueue,
        pipeline: Pipeline,
        metrics: AnalysisMetrics,
        batch_size: int = 32,
        poll_s: float = 0.2,
        checkpoint: Callable[[], None] | None = None,
        checkpoint_interval_s: float = 60.0,
        checkpoint_every_samples: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue = queue
        self._pipeline = pipeline
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._checkpoint = checkpoint
        self._checkpoint_interval_s = checkpoint_interval_s
        self._checkpoint_every = checkpoint_every_samples
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self.processed = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tunewatch-analysis", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._pipeline.warm_up()  # guards each analyzer; this is a last resort
        except Exception:
            self._metrics.monitor_error("featurize")
            log.exception("warming up the analysis failed")
        last_checkpoint = self._clock()
        since_checkpoint = 0
        while not self._stop.is_set():
            batch = self._queue.get_batch(self._batch_size, self._poll_s)
            if batch:
                started = time.perf_counter()
                try:
                    self._pipeline.process(batch)
                except Exception as exc:  # the pipeline guards its stages; this is a last resort
                    self._metrics.monitor_error("detect")
                    self.last_error = type(exc).__name__
                    log.exception("analysis batch failed")
                finally:
                    self.processed += len(batch)
                    self._metrics.analysis_duration.observe(time.perf_counter() - started)
                    # Marked done last: pending() counts a batch until its accounting is complete.
                    with self._idle:
                        self._queue.task_done(len(batch))
                        self._idle.notify_all()
                since_checkpoint += len(batch)
            due = self._clock() - last_checkpoint >= self._checkpoint_interval_s or (
                self._checkpoint_every and since_checkpoint >= self._checkpoint_every)
            if self._checkpoint and due:
                last_checkpoint = self._clock()
                since_checkpoint = 0
                self._safe_checkpoint()

    def _safe_checkpoint(self) -> None:
        if self._checkpoint is None:
            return
        try:
            self._checkpoint()
        except Exception:
            self._metrics.monitor_error("store")
            log.exception("checkpoint failed")

    def wait_idle(self, timeout: float) -> bool:
        """Block until every enqueued sample has been processed (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue.pending() > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
        return True

    def stop(self, *, drain_timeout: float = 5.0) -> None:
        self.wait_idle(drain_timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=drain_timeout + 1)
        self._safe_checkpoint()
