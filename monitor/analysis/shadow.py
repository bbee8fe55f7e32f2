"""Replay a share of sampled production prompts against the base model: the paired traffic test.

``analysis.shadow.base_url`` set (e.g. the same vLLM server without the LoRA adapter): after a
sampled response was scored (the analysis thread, long after the client got its answer), a
deterministic ``share`` of the scored samples (by request-id hash) is queued for replay, at most
``max_per_minute`` (a token bucket; the rest are skipped and counted). The replay thread
(``tunewatch-shadow``) sends the same request to the base (``model`` replaced when
``analysis.shadow.model`` is set, not streamed, ``max_tokens`` capped), redacts and judges the
base answer with the same refusal judge (:func:`monitor.detection.judge.load_refusal_judge`) the
fine-tune's answer was judged with, and feeds ``(base refused, fine-tune refused)`` to a
:class:`~detectors.paired.PairedSignCusum` per category and direction (``paired/traffic/
<category>/<direction>``; source ``traffic_paired``): harmful categories watch ``less``, benign
ones ``more``; without ``analysis.categories`` all traffic is category ``all``, watched both ways.
The base answers the same prompts, so its refusal rate is the baseline and a change in the
traffic mix moves both sides alike.

Privacy: the raw request body (it is what the base must answer) is held in memory only, in the
bounded replay queue, until its replay; it is never stored or logged. Probe traffic is never
sampled, so never replayed (and a sample not of source ``traffic`` is skipped here too). Each
pair is counted once per (prompt, epoch) among the last ``analysis.categories.max_units``
distinct prompts (a bounded evidence ledger).
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from detectors.ledger import Evidence, EvidenceLedger
from detectors.paired import Direction, PairedSignCusum
from monitor.analysis.extract import extract, route_kind
from monitor.analysis.pipeline import Processed
from monitor.analysis.redaction import Redactor
from monitor.analysis.traffic_watch import SCORED, traffic_unit_id
from monitor.detection.host import DetectorHost
from monitor.detection.judge import RefusalJudge, judge_kind, load_refusal_judge
from monitor.detection.state import StateTable
from monitor.metrics.analysis import AnalysisMetrics

if TYPE_CHECKING:
    from monitor.config import AnalysisSettings

log = logging.getLogger("tunewatch.shadow")
MAX_EPOCHS = 4
PATHS = {"chat": "/chat/completions", "completions": "/completions"}


def shadow_name(category: str, direction: str) -> str:
    return f"paired/traffic/{category}/{direction}"


def in_share(request_id: str, share: float) -> bool:
    """Whether a request is in the replayed ``share`` (deterministic per request id).

    >>> sum(in_share(f"req-{i}", 0.25) for i in range(1000))
    246
    """
    if share >= 1.0:
        return True
    digest = hashlib.blake2b(f"shadow\x1f{request_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


class Spacing:
    """Non-blocking rate limit: a token bucket of ``per_minute`` tokens a minute holding at most
    one second's worth (at least one), so ``take()`` admits at most ``per_minute`` a minute."""

    def __init__(self, *, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._capacity = max(1.0, self._rate)
        self._clock = clock
        self._tokens = self._capacity
        self._at: float | None = None

    def take(self) -> bool:
        now = self._clock()
        if self._at is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


@dataclass(frozen=True)
class _Job:
    route: str
    body: bytes  # the raw request: memory only, until the replay
    prompt: str  # redacted, as the fine-tune's answer was judged with it
    unit: str
    epoch: str
    names: tuple[str, ...]
    tuned_refused: bool


class ShadowReplay:
    """Queues replays on the analysis thread; replays and feeds on its own thread."""

    name = "shadow"

    def __init__(self, analysis: AnalysisSettings, *, host: DetectorHost, states: StateTable,
                 metrics: AnalysisMetrics, epoch: Callable[[], str],
                 judge_loader: Callable[..., RefusalJudge] = load_refusal_judge,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        s = analysis.shadow
        if s.base_url is None:
            raise ValueError("analysis.shadow.base_url is not set")
        self.settings = s
        self._analysis = analysis
        self._cats = analysis.categories
        self._host = host
        self._metrics = metrics
        self._epoch = epoch
        self._kind = judge_kind(analysis.embedder if analysis.embedder in ("minilm", "static")
                                else "minilm")
        self._load_judge = judge_loader
        self._judge: RefusalJudge | None = None
        self._redactor = Redactor()
        self._spacing = Spacing(per_minute=s.max_per_minute, clock=clock)
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=s.queue_size)
        self._transport = transport
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0  # queued or being replayed
        self.error: str | None = None
        self.names: dict[tuple[str, str], str] = {}
        watched: list[tuple[str, Direction]]
        if self._cats.enabled:
            watched = [(c, "less") for c in self._cats.harmful]
            watched += [(c, "more") for c in self._cats.benign]
        else:
            watched = [("all", "less"), ("all", "more")]
        for cat, direction in watched:
            ert = s.ert_harmful if direction == "less" else s.ert_benign
            ref = f"{s.model or s.base_url}/{cat}"

            def make(direction: Direction = direction, ert: float = ert,
                     ref: str = ref) -> PairedSignCusum:
                return PairedSignCusum(direction=direction, ert=ert, reference_id=ref)

            name = shadow_name(cat, direction)
            host.add_paired(name, EvidenceLedger(make_detector=make, max_epochs=MAX_EPOCHS,
                                                 max_units=self._cats.max_units),
                            source="traffic_paired", category=cat, direction=direction,
                            slot=states.slot(name))
            self.names[(cat, direction)] = name

    # -- the analysis thread ---------------------------------------------------------------
    def _targets(self, p: Processed) -> tuple[str, ...]:
        cat = p.category if self._cats.enabled else "all"
        return tuple(n for (c, _), n in self.names.items() if c == cat)

    def process(self, batch: Sequence[Processed]) -> None:
        m = self._metrics
        for p in batch:
            ex, sample = p.exchange, p.sample
            if (ex is None or sample.source != "traffic" or p.verdict not in SCORED
                    or sample.status >= 400 or route_kind(sample.route) not in PATHS):
                continue
            names = self._targets(p)
            if not names or not in_share(sample.request_id, self.settings.share):
                continue
            if not self._spacing.take():
                m.shadow_replays.labels(outcome="rate_limited").inc()
                continue
            job = _Job(route=sample.route, body=sample.request_body, prompt=p.prompt,
                       unit=traffic_unit_id(p.prompt, p.system_prompt_hash),
                       epoch=self._epoch(), names=names, tuned_refused=p.verdict == "refused")
            with self._idle:
                try:
                    self._queue.put_nowait(job)
                except queue.Full:
                    m.shadow_replays.labels(outcome="queue_full").inc()
                    continue
                self._pending += 1
            m.shadow_queue.set(self._queue.qsize())
            self._ensure_thread()

    def status(self) -> dict[str, object]:
        return {"ok": self.error is None, "queued": self._queue.qsize(),
                "running": self._thread is not None and self._thread.is_alive(),
                "error": self.error}

    # -- the replay thread ------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tunewatch-shadow",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the replay thread (replays still queued are dropped with their prompts)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._idle:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._pending = 0
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued replay was handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    def _run(self) -> None:
        headers = {}
        key = self.settings.resolved_api_key()
        if key:
            headers["authorization"] = f"Bearer {key}"
        with httpx.Client(base_url=self.settings.base_url or "", headers=headers,
                          timeout=self.settings.timeout_s, transport=self._transport,
                          trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    job = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    self._replay(client, job)
                except Exception as exc:  # a replay never takes the thread down
                    self._metrics.shadow_replays.labels(outcome="failed").inc()
                    self.error = f"{type(exc).__name__}: shadow replay failed"
                    log.warning("shadow replay failed: %s", type(exc).__name__)
                finally:
                    self._metrics.shadow_queue.set(self._queue.qsize())
                    with self._idle:
                        self._pending = max(0, self._pending - 1)
                        self._idle.notify_all()

    def _request(self, job: _Job) -> tuple[str, dict[str, Any]]:
        body = json.loads(job.body)
        if not isinstance(body, dict):
            raise ValueError("request body is not a JSON object")
        if self.settings.model:
            body["model"] = self.settings.model
        body["stream"] = False
        body.pop("stream_options", None)
        for key in ("max_tokens", "max_completion_tokens"):
            if key in body:
                body[key] = min(int(body[key]), self.settings.max_tokens)
        if "max_tokens" not in body and "max_completion_tokens" not in body:
            body["max_tokens"] = self.settings.max_tokens
        return PATHS[route_kind(job.route) or "chat"], body

    def _replay(self, client: httpx.Client, job: _Job) -> None:
        m = self._metrics
        path, body = self._request(job)
        r = client.post(path, json=body)
        if r.status_code != 200:
            m.shadow_replays.labels(outcome="failed").inc()
            self.error = f"base answered HTTP {r.status_code}"
            return
        ex = extract(job.route, job.body, r.content, response_content_type="application/json",
                     response_content_encoding=None, status=200)
        if ex is None:
            m.shadow_replays.labels(outcome="failed").inc()
            return
        if self._judge is None:
            self._judge = self._load_judge(self._kind, analysis=self._analysis)
        verdict = str(self._judge.verdicts([(job.prompt, self._redactor(ex.response).text)],
                                           finish_reasons=[ex.finish_reason])[0])
        if verdict not in SCORED:
            m.shadow_replays.labels(outcome="unscoreable").inc()
            return
        pair = (verdict == "refused", job.tuned_refused)
        for name in job.names:
            self._host.update(name, Evidence(unit=job.unit, epoch=job.epoch, value=pair))
        m.shadow_replays.labels(outcome="paired").inc()
        self.error = None
