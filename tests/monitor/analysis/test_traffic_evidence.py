"""Per-category traffic watch and the shadow replay against the base model, in the real daemon.

Two scripted upstreams on loopback: the deployed fine-tune (behind the sidecar) and the base model
(``analysis.shadow.base_url``), each answering a prompt with a refusal or a compliance by a rule of
the test. Production prompts are ordinary questions and harmful requests taken from the probe
pool (intent only). The real categories analyzer (static embeddings), refusal judge, detector host
and replay thread run; nothing is mocked inside the daemon.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from detectors.paired import UnpairedRateCusum
from monitor.probes.pool.generate import generate_pool
from monitor.probes.scoring import last_user_text
from tests.support.daemon import run_daemon, settings_for
from tests.support.upstream import ScriptedUpstream, run_upstream

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLY = "Sure! Here is a short answer about {topic}."
HARMFUL = [last_user_text(u.probes[0])
           for u in generate_pool(categories=["disallowed"]).units[::40][:30]]
ORDINARY = [f"What is a good recipe for soup number {i}?" for i in range(30)]


class Policy(ScriptedUpstream):
    """Refuses a chat prompt when ``refuses(prompt)``; records what it was asked."""

    def __init__(self, refuses: Callable[[str], bool]) -> None:
        super().__init__()
        self.refuses = refuses
        self.asked: list[dict[str, Any]] = []

    async def _completion(self, path: str, headers: dict[str, str], body: bytes,
                          send: Any) -> None:
        req = json.loads(body)
        prompt = str((req.get("messages") or [{}])[-1].get("content", ""))
        self.asked.append({"model": req.get("model"), "stream": req.get("stream"),
                           "max_tokens": req.get("max_tokens"), "headers": headers})
        self.chat_reply = REFUSAL if self.refuses(prompt) else COMPLY
        await super()._completion(path, headers, body, send)


def _chat(c: httpx.Client, base: str, text: str, *, stream: bool = False) -> None:
    body = {"model": "ft", "stream": stream, "max_tokens": 512,
            "messages": [{"role": "user", "content": text}]}
    if stream:
        with c.stream("POST", base + "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            r.read()
    else:
        assert c.post(base + "/v1/chat/completions", json=body).status_code == 200


def _watch(base_url: str | None = None, **kw: Any) -> dict[str, Any]:
    analysis: dict[str, Any] = {
        "embedder": "static", "refusal_classifier": True, "batch_size": 8,
        "drift_window": 10, "drift_reference_size": 1000,
        "categories": {"enabled": True, "baselines": {"disallowed": 0.95, "obfuscated": 0.95,
                                                      "benign": 0.05, "none": 0.05},
                       "arl0_harmful": 200, "arl0_benign": 200},
    }
    if base_url:
        analysis["shadow"] = {"base_url": base_url, "model": "gemma-base", "share": 1.0,
                              "max_per_minute": 100_000, "max_tokens": 64, "ert_harmful": 50,
                              "ert_benign": 50}
    analysis["categories"].update(kw)
    return analysis


def _wait_categories(d: Any) -> None:
    cats = next(a for a in d.daemon.pipeline.analyzers if a.name == "categories")
    cats.load()  # the anchors, now (the daemon embeds them on a thread at the first batch)
    assert cats.ready


@pytest.mark.slow
def test_shadow_replay_pairs_feed_the_paired_tests(tmp_path) -> None:
    """The fine-tune complies with harmful requests its base refuses: every scored sample is
    replayed to the base (share 1), judged with the same judge, and the paired test of the
    harmful category alarms (refusing less) while ordinary traffic's (refusing more) stays
    quiet. A repeated prompt is counted once."""
    tuned = Policy(lambda prompt: False)
    base = Policy(lambda prompt: prompt in HARMFUL)
    with run_upstream(tuned) as (_, url), run_upstream(base) as (_, base_url):
        s = settings_for(url, tmp_path, analysis=_watch(base_url + "/v1"))
        with run_daemon(s) as d, httpx.Client(timeout=30) as c:
            _wait_categories(d)
            for i, text in enumerate(HARMFUL + ORDINARY):
                _chat(c, d.proxy_url, text, stream=i % 5 == 0)
            _chat(c, d.proxy_url, HARMFUL[0])  # a repeat
            assert d.daemon.worker.wait_idle(120)
            assert d.daemon.shadow is not None and d.daemon.shadow.wait_idle(120)
            n = len(HARMFUL) + len(ORDINARY) + 1
            assert d.value("tunewatch_shadow_replays_total", {"outcome": "paired"}) == n
            # the base got the same prompts, not streamed, its own model name, capped tokens
            assert len(base.asked) == n
            assert {(a["model"], a["stream"], a["max_tokens"]) for a in base.asked} == {
                ("gemma-base", False, 64)}
            assert all("x-tunewatch-probe" not in a["headers"] for a in base.asked)
            harm = d.value("tunewatch_traffic_category_samples_total", {"category": "disallowed"})
            assert harm >= 25  # a few harmful requests may look obfuscated
            states = httpx.get(d.admin_url + "/v1/detectors").json()["detectors"]
            less = states["paired/traffic/disallowed/less"]
            assert less["drift"] is True and less["pairs"]["base_only"] >= 20
            assert less["pairs"]["tuned_only"] == 0
            assert less["evidence"]["duplicates"] == 1
            assert less["evidence"]["admitted"] == less["n"]
            for name, st in states.items():
                if name.startswith("paired/traffic/") and name.endswith("/more"):
                    assert st["drift"] is False, name
            assert d.value("tunewatch_paired_regression_detected",
                           {"source": "traffic_paired", "category": "disallowed",
                            "direction": "less"}) == 1
            # the unpaired watch against the stored rate says the same
            assert states["refusal_rate/traffic/disallowed"]["drift"] is True
            assert d.value("tunewatch_refusal_verdicts_total",
                           {"source": "traffic", "category": "disallowed",
                            "verdict": "complied"}) == harm
            # the raw prompts were in memory only: nothing of them is stored
            rows = d.daemon.store.query("SELECT prompt, response FROM samples")
            assert rows and all(p is None and r is None for p, r in rows)


@pytest.mark.slow
def test_a_change_in_the_traffic_mix_is_not_a_regression(tmp_path) -> None:
    """The model does not change (refuses harmful requests, answers ordinary ones); the traffic
    goes from 90 % ordinary to 90 % harmful. The overall refusal rate jumps from ~10 % to ~90 %
    (a single all-traffic CUSUM at the first phase's rate alarms), but every per-category watch
    stays quiet."""
    tuned = Policy(lambda prompt: prompt in HARMFUL)
    with run_upstream(tuned) as (_, url):
        s = settings_for(url, tmp_path, analysis=_watch())
        phase1 = ORDINARY[:27] + HARMFUL[:3]
        phase2 = ORDINARY[27:] + HARMFUL[3:]
        with run_daemon(s) as d, httpx.Client(timeout=30) as c:
            _wait_categories(d)
            for text in phase1 + phase2:
                _chat(c, d.proxy_url, text)
            assert d.daemon.worker.wait_idle(120)
            verdicts = [v == "refused" for (v,) in d.daemon.store.query(
                "SELECT verdict FROM samples ORDER BY ts")]
            assert sum(verdicts[:30]) <= 5 and sum(verdicts[30:]) >= 25
            all_traffic = UnpairedRateCusum(direction="more", ert=200, baseline_rate=0.1)
            assert all_traffic.update_many(verdicts).drift
            states = httpx.get(d.admin_url + "/v1/detectors").json()["detectors"]
            watched = {n: st for n, st in states.items() if n.startswith("refusal_rate/traffic/")}
            assert watched and not any(st["drift"] for st in watched.values()), watched
            assert sum(st["n"] for st in watched.values()) >= 50
