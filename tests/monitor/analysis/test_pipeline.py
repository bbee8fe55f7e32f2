"""monitor/analysis/pipeline.py stage by stage: parse, redact, fingerprint, analyzers, store —
each stage's failure counted under its own name, raw text never stored."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from monitor.analysis.fingerprint import FingerprintTracker
from monitor.analysis.pipeline import Pipeline, Processed, StageError
from monitor.analysis.redaction import Redactor
from monitor.analysis.samples import SampleStore
from monitor.metrics import Metrics
from monitor.proxy.sampler import Sample
from monitor.store import Store

SECRET = "jane.doe@example.com"


def chat_sample(user: str = f"mail {SECRET} please", reply: str = "Sure, done.",
                system: str = "Be brief.", status: int = 200, error: str | None = None,
                request_id: str = "req-1") -> Sample:
    req = {"model": "m", "messages": [{"role": "system", "content": system},
                                      {"role": "user", "content": user}]}
    resp = {"model": "gemma-3-270m", "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant",
                                                              "content": reply}}]}
    return Sample(request_id=request_id, route="/v1/chat/completions", method="POST",
                  status=status, request_body=json.dumps(req).encode(),
                  response_body=json.dumps(resp).encode(),
                  response_content_type="application/json", response_content_encoding=None,
                  started_at=1000.0, duration_s=0.5, upstream_s=0.4, error=error)


class Recorder:
    """An analyzer that records what it was given, and can fail on demand."""

    name = "recorder"

    def __init__(self, fail: Exception | None = None) -> None:
        self.seen: list[Processed] = []
        self.fail = fail

    def process(self, batch: Sequence[Processed]) -> None:
        self.seen.extend(batch)
        for p in batch:
            p.verdict = "complied"
        if self.fail is not None:
            raise self.fail

    def status(self) -> dict[str, object]:
        return {"ok": self.fail is None}


def make(analyzers: Sequence[Recorder] = (), *, retain_text: bool = False,
         clock: float = 2000.0) -> tuple[Pipeline, CollectorRegistry, Store]:
    reg = CollectorRegistry()
    metrics = Metrics(reg)
    store = Store(":memory:")
    fingerprint = FingerprintTracker(metrics=metrics.deployment, store=store, clock=lambda: clock)
    return Pipeline(metrics=metrics.analysis, samples=SampleStore(store), fingerprint=fingerprint,
                    redactor=Redactor(), retain_text=retain_text, analyzers=list(analyzers),
                    clock=lambda: clock), reg, store


def errors(reg: CollectorRegistry, stage: str) -> float:
    return reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": stage}) or 0.0


def test_analyzers_see_redacted_text_and_rows_keep_features_only() -> None:
    rec = Recorder()
    pipe, reg, store = make([rec])
    [p] = pipe.process([chat_sample()])
    assert rec.seen == [p] and SECRET not in p.prompt and "[REDACTED:EMAIL]" in p.prompt
    assert p.redactions == 1 and p.response == "Sure, done."
    row = store.query("SELECT request_id_hash, model, prompt_words, response_words, verdict, "
                      "redactions, prompt, response, streamed FROM samples")
    assert row == [(row[0][0], "gemma-3-270m", 4, 2, "complied", 1, None, None, 0)]
    assert len(row[0][0]) == 16 and row[0][0] != "req-1"  # a truncated hash, not the id
    assert reg.get_sample_value("tunewatch_samples_analyzed_total") == 1
    assert pipe.fingerprint.current()["model"] == "gemma-3-270m"
    assert len(pipe.fingerprint.current()["system_prompt"]) == 16


def test_text_is_stored_redacted_and_clipped_only_when_retained() -> None:
    pipe, _, store = make(retain_text=True)
    pipe.max_retained_chars = 10
    pipe.process([chat_sample(reply="x" * 50)])
    [(prompt, response)] = store.query("SELECT prompt, response FROM samples")
    assert SECRET not in prompt and len(prompt) == 10 and response == "x" * 10


def test_unparseable_samples_are_counted_and_still_stored() -> None:
    rec = Recorder()
    pipe, reg, store = make([rec])
    bad = chat_sample()
    bad.response_body = b"{not json"
    [p] = pipe.process([bad])
    assert p.exchange is None and errors(reg, "parse") == 1
    assert rec.seen == [p]  # analyzers see it (the refusal judge counts it unscoreable)
    assert store.query("SELECT model, prompt_words FROM samples") == [(None, None)]


def test_upstream_errors_carry_their_kind_and_skip_parsing() -> None:
    pipe, reg, store = make()
    [p] = pipe.process([chat_sample(status=502, error="upstream_unreachable")])
    assert p.exchange is None and errors(reg, "parse") == 0
    assert store.query("SELECT status, error FROM samples") == [(502, "upstream_unreachable")]


@pytest.mark.parametrize(("failure", "stage"), [
    (StageError("featurize", "embedder unavailable"), "featurize"),
    (RuntimeError("detector bug"), "detect"),
])
def test_analyzer_failures_are_counted_by_stage_and_the_rest_goes_on(failure: Exception,
                                                                     stage: str) -> None:
    broken, after = Recorder(fail=failure), Recorder()
    pipe, reg, store = make([broken, after])
    pipe.process([chat_sample()])
    assert errors(reg, stage) == 1 and pipe.stage_failures == {stage: 1}
    assert len(after.seen) == 1  # the next analyzer still ran
    assert store.query("SELECT COUNT(*) FROM samples") == [(1,)]  # and the sample was stored


def test_a_redaction_failure_drops_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    pipe, reg, store = make([rec])

    def broken(text: str) -> object:
        raise RuntimeError("redactor bug")

    monkeypatch.setattr(pipe, "redactor", broken)
    assert pipe.process([chat_sample()]) == []
    assert errors(reg, "redact") == 1 and rec.seen == []
    assert store.query("SELECT COUNT(*) FROM samples") == [(0,)]  # nothing unredacted stored
    assert reg.get_sample_value("tunewatch_samples_analyzed_total") == 1


def test_prune_deletes_what_is_older_than_the_retention() -> None:
    pipe, _, store = make(clock=1000.0 + 3600)
    pipe.process([chat_sample()])  # started at 1000.0
    assert pipe.prune(older_than_s=7200) == 0
    assert pipe.prune(older_than_s=1800) == 1
    assert store.query("SELECT COUNT(*) FROM samples") == [(0,)]
