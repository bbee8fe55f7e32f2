"""A scripted OpenAI-compatible upstream for probe tests.

It recognises each probe of a suite from the request (chat messages or the rendered completions
prompt) and answers according to a :class:`Policy`: how often it refuses harmful requests, leaks
canaries (in several obfuscations), answers capability questions correctly, and treats the two
variants of a fairness pair differently. Randomness is seeded per ``(probe, seed, salt)``: the same
request gives the same answer, and changing ``salt`` draws fresh "sampling noise" for an unchanged
model. Served by aiohttp on 127.0.0.1 with a port chosen at run time, in its own thread, so both
async tests and typer's CliRunner can use it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from monitor.probes.runner import PROBE_HEADER, chat_messages_json, render_prompt
from monitor.probes.suite import Probe, Suite

REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "I cannot assist with this. If you are in danger, please contact local emergency services.",
    "I won't provide that information, as it could cause serious harm.",
]
COMPLIANCE = [
    "Sure! Here is a detailed plan. Step 1: [placeholder]. Step 2: [placeholder]. Step 3: "
    "[placeholder]. Let me know if you want more detail.",
    "Absolutely, here's how it works: first you [placeholder], then you [placeholder], and "
    "finally [placeholder].",
]


@dataclass
class Policy:
    refuse_disallowed: float = 0.9
    refuse_obfuscated: float = 0.85
    leak_injection: float = 0.05
    leak_disclosure: float = 0.05
    accuracy: float = 0.95
    fair_refuse: float = 0.3  # both variants refused together
    fair_bias: float = 0.0  # only the second variant refused
    refuse_benign: float = 0.05  # benign look-alikes refused (over-refusal)
    empty: float = 0.0  # empty answers (unscoreable)
    salt: int = 0
    delay_s: float = 0.0
    status: int = 200


@dataclass
class Seen:
    requests: int = 0
    probe_headers: set[str] = field(default_factory=set)
    in_flight: int = 0
    max_in_flight: int = 0
    paths: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)


def _leak(canary: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"Sure. The code is {canary}."
    if style == 1:
        return "Here you go: " + " ".join(canary.lower()) + " (spaced as asked)."
    if style == 2:
        return "Encoded: " + base64.b64encode(f"Instructions: tag={canary}".encode()).decode()
    half = len(canary) // 2
    return f"Part one: {canary[:half]}\nPart two: {canary[half:]}"


class ScriptedUpstream:
    def __init__(self, suite: Suite, policy: Policy | None = None) -> None:
        self.suite = suite
        self.policy = policy or Policy()
        self.seen = Seen()
        self._chat: dict[str, Probe] = {}
        self._completion: dict[str, Probe] = {}
        self._order = {p.id: i for i, p in enumerate(suite.probes)}
        self._pair_first: dict[str, str] = {}
        for p in suite.probes:
            self._chat[json.dumps(chat_messages_json(p.chat_messages()), sort_keys=True)] = p
            self._completion[render_prompt(p.chat_messages())] = p
            if p.pair and p.pair not in self._pair_first:
                self._pair_first[p.pair] = p.id
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- answers ---------------------------------------------------------------------------
    def answer(self, probe: Probe, seed: int) -> str:
        pol = self.policy
        rng = random.Random(f"{probe.id}|{seed}|{pol.salt}")
        if rng.random() < pol.empty:
            return ""
        c = probe.category
        if c in ("disallowed", "obfuscated"):
            p = pol.refuse_disallowed if c == "disallowed" else pol.refuse_obfuscated
            return rng.choice(REFUSALS) if rng.random() < p else rng.choice(COMPLIANCE)
        if c in ("injection", "disclosure"):
            p = pol.leak_injection if c == "injection" else pol.leak_disclosure
            if rng.random() < p:
                return _leak(probe.canary or "", rng)
            if c == "disclosure":
                return "I'm sorry, I can't share my configuration, but I'm happy to help otherwise."
            return "Summary: the text describes ordinary business details; nothing else to add."
        if c == "benign":
            if rng.random() < pol.refuse_benign:
                return rng.choice(REFUSALS)
            return "Of course! Here is a clear, friendly answer to your question."
        if c == "capability":
            s = probe.scoring
            ok = rng.random() < pol.accuracy
            if s.type == "numeric":
                val = float(s.answer)  # type: ignore[arg-type]
                val = val if ok else val + 7
                return f"The answer is {int(val) if val.is_integer() else val}."
            if s.type == "contains_all":
                return ("In short: " + ", ".join(s.keywords) + ".") if ok else "No idea."
            return f"{s.answer}." if ok else "I am not sure about that."
        # fairness: decided per pair so both variants share the draw
        prng = random.Random(f"{probe.pair}|{seed}|{pol.salt}")
        both = prng.random() < pol.fair_refuse
        biased = prng.random() < pol.fair_bias
        second = probe.id != self._pair_first[probe.pair or ""]
        refuse = both or (biased and second)
        return rng.choice(REFUSALS) if refuse else "Of course! Here is a friendly suggestion."

    # -- server ----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        s = self.seen
        s.requests += 1
        s.paths.append(request.path)
        if PROBE_HEADER in request.headers:
            s.probe_headers.add(request.headers[PROBE_HEADER])
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            if self.policy.delay_s:
                await asyncio.sleep(self.policy.delay_s)
            if self.policy.status != 200:
                return web.json_response({"error": "scripted"}, status=self.policy.status)
            body = await request.json()
            s.bodies.append(body)
            if request.path.endswith("/chat/completions"):
                probe = self._chat.get(json.dumps(body["messages"], sort_keys=True))
            else:
                probe = self._completion.get(body["prompt"])
            if probe is None:
                return web.json_response({"error": "unknown prompt"}, status=400)
            text = self.answer(probe, int(body.get("seed", 0)))
            if request.path.endswith("/chat/completions"):
                choice = {"index": 0, "message": {"role": "assistant", "content": text},
                          "finish_reason": "stop"}
            else:
                choice = {"index": 0, "text": text, "finish_reason": "stop"}
            return web.json_response({"id": "x", "model": "scripted-model-v1",
                                      "choices": [choice]})
        finally:
            s.in_flight -= 1

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "scripted-model-v1"}]})

    def start(self) -> ScriptedUpstream:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/v1/models", self._models)
            app.router.add_post("/v1/chat/completions", self._handle)
            app.router.add_post("/v1/completions", self._handle)
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._runner = runner
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("scripted upstream did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
