"""Parts of the live dashboard test: an upstream serving demo traffic and probes, and Prometheus.

:class:`DemoAndProbeUpstream` is the scripted OpenAI-compatible upstream of ``tests/support``
(demo traffic: ``chat_reply``, ``model``, ``/test/*`` fault routes) that answers requests carrying
the probe header like the probe tests' scripted model (``tests/monitor/probes``), whose
:class:`Policy` scripts refusals, canary leaks and accuracy. The daemon proxies both kinds of
traffic to one upstream, as in production.

:func:`run_prometheus` starts Debian's ``prometheus`` on 127.0.0.1 (port chosen at run time,
temporary data directory, 1 s scrape and rule evaluation) scraping one target and loading the
shipped rule file, and stops it on exit.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrometheusError(RuntimeError):
    """A query answered with an error (bad PromQL, execution error)."""


class Prometheus:
    def __init__(self, *, base_url: str) -> None:
        self.base_url = base_url

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises :class:`PrometheusError` with Prometheus' message on error."""
        url = f"{self.base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                data = json.load(response)
        except urllib.error.HTTPError as e:
            raise PrometheusError(e.read().decode(errors="replace")[:300]) from None
        if data.get("status") != "success":
            raise PrometheusError(str(data)[:300])
        if data.get("warnings"):
            raise PrometheusError(f"warnings: {data['warnings']}")
        return list(data["data"]["result"])

    def wait_for(self, expr: str, *, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll ``expr`` every 0.25 s until it returns a series; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                result = self.query(expr)
                if result:
                    return result
            except (urllib.error.URLError, ConnectionError, PrometheusError) as e:
                last = str(e)
            time.sleep(0.25)
        raise TimeoutError(f"Prometheus returned no series for {expr!r} in {timeout} s {last}")

    def wait_scraped_after(self, t: float, *, job: str = "tunewatch") -> None:
        """Wait until Prometheus holds a scrape of ``job`` taken after Unix time ``t``."""
        self.wait_for(f'timestamp(up{{job="{job}"}}) > {t:.3f}')


@contextmanager
def run_prometheus(binary: str, *, target: str, rules: Path, workdir: Path) -> Iterator[Prometheus]:
    """Debian's prometheus scraping ``target`` (HOST:PORT, path /metrics) as job ``tunewatch``."""
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "tunewatch", "static_configs": [{"targets": [target]}]}],
    }))
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield Prometheus(base_url=f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
