"""Through the sidecar to a real llama.cpp server running Gemma 3 270M, with the OpenAI SDK."""

from __future__ import annotations

import httpx
import pytest
from openai import OpenAI

from tests.support.daemon import run_daemon, settings_for

pytestmark = pytest.mark.llm

PARAMS = {"model": "gemma-3-270m", "temperature": 0.0, "seed": 7, "max_tokens": 16}


def _strip_volatile(d: dict) -> dict:
    d = dict(d)
    d.pop("id", None)
    d.pop("created", None)
    return d


def test_completions_through_sidecar_equal_direct(gemma: str, tmp_path) -> None:
    s = settings_for(gemma, tmp_path, upstream={"read_timeout_s": 120})
    with run_daemon(s) as d:
        via = OpenAI(base_url=d.proxy_url + "/v1", api_key="sk-x", max_retries=0)
        direct = OpenAI(base_url=gemma + "/v1", api_key="sk-x", max_retries=0)
        prompt = "The three primary colours are"
        a = via.completions.create(prompt=prompt, **PARAMS)
        b = direct.completions.create(prompt=prompt, **PARAMS)
        assert a.choices[0].text == b.choices[0].text and a.choices[0].text.strip()
        assert _strip_volatile(a.model_dump()) == _strip_volatile(b.model_dump())

        sa = "".join(c.choices[0].text for c in via.completions.create(
            prompt=prompt, stream=True, **PARAMS) if c.choices)
        sb = "".join(c.choices[0].text for c in direct.completions.create(
            prompt=prompt, stream=True, **PARAMS) if c.choices)
        assert sa == sb == a.choices[0].text

        msgs = [{"role": "system", "content": "You are a terse assistant."},
                {"role": "user", "content": "Name a fruit."}]
        ca = via.chat.completions.create(messages=msgs, **PARAMS)
        cb = direct.chat.completions.create(messages=msgs, **PARAMS)
        assert ca.choices[0].message.content == cb.choices[0].message.content
        chunks = list(via.chat.completions.create(messages=msgs, stream=True, **PARAMS))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == (ca.choices[0].message.content or "")

        assert d.daemon.worker.wait_idle(30)
        assert d.wait_for(lambda: d.value("tunewatch_samples_analyzed_total") == 4)
        rows = d.daemon.store.query("SELECT route, status, streamed, model, response_words "
                                    "FROM samples ORDER BY id")
        assert [(r[0], r[1], r[2]) for r in rows] == [
            ("/v1/completions", 200, 0), ("/v1/completions", 200, 1),
            ("/v1/chat/completions", 200, 0), ("/v1/chat/completions", 200, 1)]
        assert rows[0][4] == len(a.choices[0].text.split())
        assert d.value("tunewatch_time_to_first_byte_seconds_count",
                       {"route": "/v1/completions"}) == 1
        # the model list of the real server became part of the deployment fingerprint
        d.call(d.daemon.upstream.check())
        assert "upstream_models" in d.daemon.fingerprint.current()
        assert httpx.get(d.admin_url + "/readyz").status_code == 200
