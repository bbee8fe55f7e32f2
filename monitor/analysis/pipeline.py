"""What the analysis worker does with a batch of samples, stage by stage.

parse (extract texts) -> redact -> fingerprint -> analyzers (featurize + detect) -> store.
Every stage is guarded: an exception is counted in ``tunewatch_monitor_errors_total{stage}`` and
the sample continues or is skipped, never affecting traffic. Raw text never leaves this module
unredacted; it is stored only when ``privacy.retain_text`` is on.

The deployment's ``model`` comes from the upstream's answer only (never the request), redacted
and cut to :data:`MODEL_CHARS`; it is a fingerprint value only on a 2xx answer and, once the
upstream has listed its models (``GET /v1/models``), only when it is one of them: a server that
echoes the request's ``model`` cannot be made to open a ticket per name a client invents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from detectors.features import word_count
from monitor.analysis.bodies import MAX_DECODED
from monitor.analysis.extract import Exchange, ExtractError, extract, system_prompt_sha256
from monitor.analysis.fingerprint import FingerprintTracker
from monitor.analysis.redaction import Redactor
from monitor.analysis.samples import SampleRow, SampleStore, request_id_hash
from monitor.metrics.analysis import AnalysisMetrics
from monitor.proxy.sampler import Sample
from monitor.untrusted import safe_token

log = logging.getLogger("tunewatch.pipeline")

MODEL_CHARS = 128

@dataclass
class Processed:
    """A sample after parsing and redaction: the only form analyzers see."""

    sample: Sample
    exchange: Exchange | None
    prompt: str = ""  # redacted
    response: str = ""  # redacted
    system_prompt_hash: str | None = None
    redactions: int = 0
    verdict: str | None = None
    category: str | None = None  # traffic category (analysis.categories), e.g. benign or none
    error: str | None = None  # redacted upstream error message
    model: str | None = None  # redacted, bounded: the upstream's answer's model
    features: dict[str, float] = field(default_factory=dict)


class StageError(Exception):
    """An analyzer failure attributed to a pipeline stage (``featurize`` or ``detect``)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


class Analyzer(Protocol):
    """A consumer of processed batches (embedding drift, refusal scoring, ...)."""

    name: str

    def process(self, batch: Sequence[Processed]) -> None: ...

    def status(self) -> dict[str, object]: ...


@runtime_checkable
class WarmsUp(Protocol):
    """An analyzer with work to do before the first batch (load a model, restore detectors)."""

    def warm_up(self) -> None: ...


class Pipeline:
    def __init__(
        self,
        *,
        metrics: AnalysisMetrics,
        samples: SampleStore,
        fingerprint: FingerprintTracker,
        redactor: Redactor,
        retain_text: bool = False,
        max_retained_chars: int = 4000,
        analyzers: Sequence[Analyzer] = (),
        clock: Callable[[], float] = time.time,
        max_decoded_bytes: int = MAX_DECODED,
        deployment_models: Callable[[], Collection[str]] = tuple,
    ) -> None:
        self.metrics = metrics
        self.samples = samples
        self.fingerprint = fingerprint
        self.redactor = redactor
        self.retain_text = retain_text
        self.max_retained_chars = max_retained_chars
        self.analyzers = list(analyzers)
        self.clock = clock
        self.max_decoded_bytes = max_decoded_bytes
        self.deployment_models = deployment_models
        self.stage_failures: dict[str, int] = {}

    def _fail(self, stage: str) -> None:
        self.metrics.monitor_error(stage)
        self.stage_failures[stage] = self.stage_failures.get(stage, 0) + 1

    def warm_up(self) -> None:
        """Let each analyzer that can get ready before the first sample (on the worker thread);
        a failure is counted under ``featurize`` and the analyzer tries again on its first batch."""
        for analyzer in self.analyzers:
            if isinstance(analyzer, WarmsUp):
                try:
                    analyzer.warm_up()
                except Exception:
                    self._fail("featurize")
                    log.warning("analyzer %s could not warm up", analyzer.name)

    def process(self, samples: Sequence[Sample]) -> list[Processed]:
        batch = [p for p in (self._prepare(s) for s in samples) if p is not None]
        self._analyze(batch)
        self._store(batch)
        self.metrics.samples_analyzed.inc(len(samples))
        return batch

    def _analyze(self, batch: list[Processed]) -> None:
        for analyzer in self.analyzers:
            try:
                analyzer.process(batch)
            except StageError as exc:
                self._fail(exc.stage)
                log.warning("analyzer %s failed at %s: %s", analyzer.name, exc.stage, exc)
            except Exception:
                self._fail("detect")
                log.exception("analyzer %s failed", analyzer.name)

    def _prepare(self, sample: Sample) -> Processed | None:
        exchange: Exchange | None = None
        if sample.error is None:
            try:
                exchange = extract(
                    sample.route,
                    sample.request_body,
                    sample.response_body,
                    response_content_type=sample.response_content_type,
                    response_content_encoding=sample.response_content_encoding,
                    status=sample.status,
                    max_decoded_bytes=self.max_decoded_bytes,
                    request_content_encoding=sample.request_content_encoding,
                )
            except ExtractError:
                self._fail("parse")
            except Exception:
                self._fail("parse")
                log.exception("unexpected parse failure")
        processed = Processed(sample=sample, exchange=exchange)
        if exchange is None:
            return processed
        try:
            p = self.redactor(exchange.prompt)
            r = self.redactor(exchange.response)
            processed.prompt, processed.response = p.text, r.text
            processed.redactions = sum(p.counts.values()) + sum(r.counts.values())
            if exchange.error:
                processed.error = self.redactor(exchange.error).text
            if exchange.model:
                processed.model = safe_token(self.redactor(exchange.model).text,
                                             max_chars=MODEL_CHARS)
        except Exception:
            self._fail("redact")
            return None  # without redaction nothing of this sample may go further
        try:
            if processed.model and self._is_deployment_model(processed):
                self.fingerprint.observe("model", processed.model)
            if exchange.system_prompt:
                digest = system_prompt_sha256(exchange.system_prompt)
                processed.system_prompt_hash = digest
                self.fingerprint.observe("system_prompt", digest[:16])
        except Exception:
            self._fail("fingerprint")
        return processed

    def _is_deployment_model(self, p: Processed) -> bool:
        if not 200 <= p.sample.status < 300:
            return False
        listed = self.deployment_models()
        return not listed or p.model in listed

    def _row(self, p: Processed) -> SampleRow:
        s, ex = p.sample, p.exchange
        cap = self.max_retained_chars
        keep = self.retain_text and ex is not None
        return SampleRow(
            ts=s.started_at,
            request_id_hash=request_id_hash(s.request_id),
            route=s.route,
            status=s.status,
            model=p.model,
            system_prompt_sha256=p.system_prompt_hash,
            streamed=bool(ex.streamed) if ex else False,
            finish_reason=ex.finish_reason if ex else None,
            duration_s=s.duration_s,
            upstream_s=s.upstream_s,
            ttfb_s=s.ttfb_s,
            prompt_words=word_count(p.prompt) if ex else None,
            response_words=word_count(p.response) if ex else None,
            verdict=p.verdict,
            redactions=p.redactions,
            prompt=p.prompt[:cap] if keep else None,
            response=p.response[:cap] if keep else None,
            error=s.error or p.error,
        )

    def _store(self, batch: Sequence[Processed]) -> None:
        if not batch:
            return
        try:
            self.samples.insert_many([self._row(p) for p in batch])
        except Exception:
            self._fail("store")
            log.exception("storing samples failed")

    def prune(self, *, older_than_s: float) -> int:
        """Delete samples older than ``older_than_s`` seconds (the retention)."""
        return self.samples.prune(before=self.clock() - older_than_s)
