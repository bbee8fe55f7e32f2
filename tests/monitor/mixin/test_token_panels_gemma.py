"""The generations panels against real traffic: the real daemon in front of the embedded llama.cpp
server running Gemma 3 270M, called with the OpenAI SDK, scraped by Debian's prometheus.

Two phases of traffic with a scrape between (so counters visibly increase): chat and completions,
streamed and not, and a request the server rejects. Every query of the "Generations" row of the
SRE overview must return a series with a value above 0, and the token counts Prometheus holds must
equal what the server reported to the client (usage of JSON answers) and what the client received
(one streamed delta per token: llama.cpp streams one token per event). The same series must be
there under the OpenTelemetry GenAI names (``metrics.genai_names``).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from monitor.mixin.config import POD_MODEL_INFO, MixinConfig
from monitor.mixin.dash_tokens import token_panels
from monitor.mixin.dashboards import all_panel_queries
from monitor.mixin.generate import RULES_FILE
from monitor.mixin.queries import Queries
from tests.support.binaries import require_binary
from tests.support.daemon import run_daemon, settings_for
from tests.support.prometheus import Prometheus, run_prometheus

pytestmark = [pytest.mark.llm, pytest.mark.prometheus, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
MODEL = "gemma-3-270m"
PARAMS = {"model": MODEL, "temperature": 0.0, "seed": 7, "max_tokens": 12}
MSGS = [{"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Name a fruit."}]


class Truth:
    """What the client saw: usage reported in JSON answers, deltas received in streams."""

    def __init__(self) -> None:
        self.usage_input = 0
        self.usage_output = 0
        self.streamed_deltas = 0
        self.streams_with_output: dict[str, int] = {"chat": 0, "text_completion": 0}


def _phase(via: OpenAI, truth: Truth) -> None:
    for i in range(2):
        r = via.chat.completions.create(messages=MSGS, **{**PARAMS, "seed": 7 + i})
        c = via.completions.create(prompt=f"The sea is {i}", **PARAMS)
        for u in (r.usage, c.usage):
            assert u is not None
            truth.usage_input += u.prompt_tokens
            truth.usage_output += u.completion_tokens
        n = sum(1 for chunk in via.chat.completions.create(messages=MSGS, stream=True, **PARAMS)
                if chunk.choices and chunk.choices[0].delta.content)
        truth.streamed_deltas += n
        truth.streams_with_output["chat"] += n > 0
        n = sum(1 for chunk in via.completions.create(prompt="Once upon a time", stream=True,
                                                      **PARAMS)
                if chunk.choices and chunk.choices[0].text)
        truth.streamed_deltas += n
        truth.streams_with_output["text_completion"] += n > 0
    # a generation the server rejects (max_tokens must be an integer)
    bad = httpx.post(str(via.base_url) + "chat/completions", timeout=60,
                     json={"model": MODEL, "messages": MSGS, "max_tokens": "lots"})
    assert bad.status_code >= 400


def _value(prom: Prometheus, expr: str) -> float:
    result = prom.query(expr)
    assert result, expr
    return float(result[0]["value"][1])


def test_generation_panels_have_live_data_from_gemma(gemma: str, tmp_path: Path) -> None:
    prometheus = require_binary("prometheus")
    titles = {p["title"] for p in token_panels(Queries(MixinConfig()), MixinConfig())
              if p["type"] != "row"}
    queries = [(t, e) for b, t, e in all_panel_queries() if b == "Tunewatch / SRE overview"
               and t in titles]
    assert {t for t, _ in queries} == titles and len(titles) >= 8
    settings = settings_for(gemma, tmp_path, upstream={"read_timeout_s": 120},
                            metrics={"genai_names": True},
                            # one model-list read at start: llama-cpp-python's server
                            # interrupts a stream in flight when another request arrives
                            deployment={"poll_models_interval_s": 0})
    truth = Truth()
    with run_daemon(settings) as d:
        target = d.admin_url.removeprefix("http://")
        with run_prometheus(prometheus, targets=[target], rules=ROOT / RULES_FILE,
                            workdir=tmp_path) as prom:
            prom.wait_for('up{job="tunewatch"} == 1')
            via = OpenAI(base_url=d.proxy_url + "/v1", api_key="sk-x", max_retries=0,
                         timeout=120)
            _phase(via, truth)
            prom.wait_scraped_after(time.time())
            _phase(via, truth)
            assert d.daemon.worker.wait_idle(60)
            prom.wait_for(POD_MODEL_INFO)
            done = time.time()
            prom.wait_scraped_after(done)
            prom.wait_for(f"timestamp({POD_MODEL_INFO}) > {done + 1:.3f}")
            failures = []
            for title, expr in queries:
                result = prom.query(expr)
                if not result:
                    failures.append(f"{title}: no series\n    {expr}")
                elif not max(float(s["value"][1]) for s in result) > 0:
                    failures.append(f"{title}: every series is 0\n    {expr}")
            assert not failures, "\n".join(failures)
            assert truth.usage_output > 0 and truth.streamed_deltas > 0
            ours = 'job="tunewatch", model="gemma-3-270m", base_model="gemma-3-270m"'
            assert _value(prom, f'sum(tunewatch_request_tokens_sum{{{ours}, type="output", '
                                'source="usage"})') == truth.usage_output
            assert _value(prom, f'sum(tunewatch_request_tokens_sum{{{ours}, type="input", '
                                'source="usage"})') == truth.usage_input
            # llama-cpp-python sends no usage chunk in streams: estimated, one per delta
            assert _value(prom, f'sum(tunewatch_request_tokens_sum{{{ours}, type="output", '
                                'source="estimate"})') == truth.streamed_deltas
            # a time to first token for every stream that had output
            outcomes = [(r["metric"], r["value"][1]) for r in prom.query(
                "sum by (operation, error_type) (tunewatch_operation_duration_seconds_count) or "
                "sum by (kind) (tunewatch_upstream_errors_total) or "
                "sum by (route) (tunewatch_client_disconnects_total)")]
            assert _value(prom, f'sum(tunewatch_time_to_first_token_seconds_count{{{ours}}})'
                          ) == sum(truth.streams_with_output.values()), outcomes
            genai = ('job="tunewatch", gen_ai_response_model="gemma-3-270m", '
                     'gen_ai_provider_name="openai"')
            assert _value(prom, f'sum(gen_ai_client_token_usage_sum{{{genai}, '
                                'gen_ai_token_type="output"})') == (
                truth.usage_output + truth.streamed_deltas)
            assert _value(prom, f'sum(gen_ai_server_time_to_first_token_seconds_count{{{genai}, '
                                'gen_ai_operation_name="text_completion"})'
                          ) == truth.streams_with_output["text_completion"]
            assert _value(prom, 'sum(gen_ai_client_operation_duration_seconds_count'
                                f'{{{genai}, error_type!=""}})') == 2, outcomes
