"""Parts of the live dashboard test: an upstream serving demo traffic and probes, and Prometheus.

:class:`DemoAndProbeUpstream` is the scripted OpenAI-compatible upstream of ``tests/support``
(demo traffic: ``chat_reply``, ``model``, ``/test/*`` fault routes) that answers requests carrying
the probe header like the probe tests' scripted model (``tests/monitor/probes``), whose
:class:`Policy` scripts refusals, canary leaks and accuracy. The daemon proxies both kinds of
traffic to one upstream, as in production.

Prometheus itself comes from ``tests.support.prometheus``.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.probes.runner import PROBE_HEADER, chat_messages_json, render_prompt
from monitor.probes.suite import Probe, Suite
from tests.monitor.probes.tw_probes_upstream import Policy
from tests.monitor.probes.tw_probes_upstream import ScriptedUpstream as ProbeModel
from tests.support.upstream import ScriptedUpstream


class DemoAndProbeUpstream(ScriptedUpstream):
    """Demo answers for ordinary requests; scripted probe answers for probe requests."""

    def __init__(self, *, suite: Suite, policy: Policy | None = None) -> None:
        super().__init__()
        # Used only for its deterministic ``answer(probe, seed)``; never started.
        self.probe_model = ProbeModel(suite, policy)
        self._by_chat: dict[str, Probe] = {}
        self._by_prompt: dict[str, Probe] = {}
        for p in suite.probes:
            key = json.dumps(chat_messages_json(p.chat_messages()), sort_keys=True)
            self._by_chat[key] = p
            self._by_prompt[render_prompt(p.chat_messages())] = p
        self.probe_requests = 0

    @property
    def policy(self) -> Policy:
        return self.probe_model.policy

    async def _completion(self, path: str, headers: dict[str, str], body: bytes, send: Any) -> None:
        if PROBE_HEADER not in headers:
            await super()._completion(path, headers, body, send)
            return
        self.probe_requests += 1
        if self.policy.status != 200:
            await _send_json(send, self.policy.status, {"error": {"message": "scripted"}})
            return
        req = json.loads(body)
        chat = path.endswith("/chat/completions")
        if chat:
            probe = self._by_chat.get(json.dumps(req.get("messages"), sort_keys=True))
        else:
            probe = self._by_prompt.get(str(req.get("prompt")))
        if probe is None:
            await _send_json(send, 400, {"error": {"message": "unknown probe", "type": "test"}})
            return
        text = self.probe_model.answer(probe, int(req.get("seed", 0)))
        if chat:
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": text}}
        else:
            choice = {"index": 0, "text": text, "finish_reason": "stop"}
        await _send_json(send, 200, {"id": "probe", "object": "chat.completion",
                                     "model": self.model, "choices": [choice]})


async def _send_json(send: Any, status: int, obj: Any) -> None:
    body = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
