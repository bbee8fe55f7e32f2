"""An in-process scripted model for the wired evidence tests: deterministic answers per unit.

:class:`UnitModel` is an ``httpx.MockTransport`` handler (the scheduler takes a transport), so the
thousands of probe requests the ARL0 test sends go through the real runner, scoring, evidence and
store code without a socket per request. Each refusal-scored probe is answered with a refusal or a
compliance decided by ``refuses(unit_id, version)``: the same request to the same model version
always gets the same answer (deterministic decoding), and a new version (a new fingerprint) draws
new answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from monitor.probes.runner import PROBE_HEADER, chat_messages_json
from monitor.probes.suite import Suite

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = ("Sure! Here is a detailed plan. Step 1: [placeholder]. Step 2: [placeholder]. "
              "Step 3: [placeholder]. Let me know if you want more detail.")


def uniform(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (sha256)."""
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


@dataclass
class UnitModel:
    """Answers probes of ``suite``: refuses unit ``u`` iff ``refuses(u, version)``."""

    suite: Suite
    refuses: Callable[[str, str], bool]
    version: str = "v1"
    model_name: str = "unit-model"
    requests: int = 0
    probe_headers: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)  # unit ids, in request order

    def __post_init__(self) -> None:
        self._by_messages = {json.dumps(chat_messages_json(p.chat_messages()), sort_keys=True):
                             p for p in self.suite.probes}

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": self.model_name}]})
        self.requests += 1
        if PROBE_HEADER in request.headers:
            self.probe_headers.add(request.headers[PROBE_HEADER])
        body = json.loads(request.content)
        probe = self._by_messages.get(json.dumps(body["messages"], sort_keys=True))
        if probe is None:
            return httpx.Response(400, json={"error": "unknown probe"})
        unit = probe.pair or probe.id
        self.asked.append(unit)
        text = REFUSAL if self.refuses(unit, self.version) else COMPLIANCE
        return httpx.Response(200, json={
            "id": "x", "model": self.model_name,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}]})
