"""End to end with real components: Debian's prometheus and prometheus-alertmanager, the daemon as
a real process (killed with SIGKILL and restarted twice), the scripted probe upstream, and a
webhook sink receiver.

Prometheus scrapes the daemon every second and evaluates a copy of the shipped
``alerts/tunewatch-rules.yaml`` in which every ``for:`` is rewritten to 1s (the shipped durations are
minutes); Alertmanager runs a copy of ``alerts/alertmanager.example.yaml`` with waits shortened and
receivers pointed at loopback (governance alerts -> the daemon's ``/v1/alertmanager``). Two
conditions are induced: a system-prompt change in production traffic, and a safety regression (the
upstream stops refusing; the daemon's scheduled probes find it against the base model's baseline).
Each must produce exactly one ticket, carrying its evidence, and each ticket must also be joined by
the alert that Prometheus fired and Alertmanager routed back. Set ``TW_E2E_EVIDENCE=FILE``
to keep the tickets as they arrived (docs/triggers.md shows one).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web

from monitor.probes.suite import resolve_suite
from tests.monitor.probes.tw_probes_upstream import Policy
from tests.monitor.probes.tw_probes_upstream import ScriptedUpstream as ProbesUpstream
from tests.monitor.triggers.fakes import Receiver
from tests.support.binaries import require_binary
from tests.support.net import free_port
from tests.support.procs import stop
from tests.support.prometheus import run_prometheus
from tests.support.upstream import run_upstream
from tests.support.wait import wait_for

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 150.0
AM_TOKEN = "am-e2e-token"
ADMIN_TOKEN = "admin-e2e-token"


class Upstream(ProbesUpstream):
    """The probe upstream, also answering ordinary chat traffic (for the system-prompt change)."""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        msgs = json.dumps(body.get("messages"), sort_keys=True)
        if request.path.endswith("/chat/completions") and msgs not in self._chat:
            return web.json_response({
                "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1700000000,
                "model": "scripted-model-v1",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": "Happy to help: here is a short answer."}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}})
        return await super()._handle(request)


class Procs:
    """Processes started by the test; every one is killed in the finally block."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEWATCH_")}
        env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                             start_new_session=True)
        log.close()
        self.procs[name] = p
        return p

    def kill9(self, name: str) -> None:
        p = self.procs.pop(name)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)

    def close(self) -> None:
        stop(list(self.procs.values()))
        self.procs.clear()

    def tail(self, name: str, n: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""


def short_rules(dst: Path) -> None:
    data = yaml.safe_load((ROOT / "alerts" / "tunewatch-rules.yaml").read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    dst.write_text(yaml.safe_dump(data, sort_keys=False))


def am_config(dst: Path, *, admin: str, receiver: str, token_file: Path) -> None:
    data = yaml.safe_load((ROOT / "alerts" / "alertmanager.example.yaml").read_text())

    def shorten(route: dict[str, Any]) -> None:
        for key, value in (("group_wait", "1s"), ("group_interval", "1s"),
                           ("repeat_interval", "1h")):
            if key in route or route is data["route"]:
                route[key] = value
        for sub in route.get("routes", []):
            shorten(sub)

    shorten(data["route"])
    for rec in data["receivers"]:
        for hook in rec.get("webhook_configs", []):
            if rec["name"] == "tunewatch":
                hook["url"] = f"{admin}/v1/alertmanager"
                hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
            else:
                hook["url"] = f"{receiver}/other/{rec['name']}"
    dst.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream(resolve_suite("default"), Policy(refuse_disallowed=0.95, refuse_obfuscated=0.95,
                                                   salt=1)).start()
    try:
        yield up
    finally:
        up.stop()


def test_alerts_to_tickets_end_to_end(tmp_path: Path, upstream: Upstream) -> None:
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager", "alertmanager",
                                  env="TW_E2E_ALERTMANAGER")
    deadline = time.monotonic() + DEADLINE_S

    def until(pred: Callable[[], Any], what: str) -> Any:
        """Wait for ``pred`` within the test's one deadline (servers may still be starting)."""
        return wait_for(pred, timeout=max(0.0, deadline - time.monotonic()), interval=0.1,
                        what=what, ignore=(httpx.HTTPError, sqlite3.Error, OSError))

    receiver = Receiver(secret="s3cret")
    procs = Procs(tmp_path)
    with ExitStack() as stack:
        stack.callback(procs.close)
        _, recv_url = stack.enter_context(run_upstream(receiver.app))  # type: ignore[arg-type]

        # -- the base model's baseline, captured with the real CLI --------------------------
        baseline = tmp_path / "baseline.json"
        cap = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "baseline", "capture", "--target",
             upstream.base_url, "--out", str(baseline), "--classifier", "static",
             "--concurrency", "8"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
            capture_output=True, text=True, timeout=90)
        assert cap.returncode == 0, cap.stderr[-2000:]

        # -- configuration of the three processes -----------------------------------------------
        ports = {k: free_port() for k in ("proxy", "admin", "am")}
        admin = f"http://127.0.0.1:{ports['admin']}"
        proxy = f"http://127.0.0.1:{ports['proxy']}"
        (tmp_path / "am-token").write_text(AM_TOKEN)
        short_rules(tmp_path / "rules.yaml")
        am_config(tmp_path / "am.yaml", admin=admin, receiver=recv_url,
                  token_file=tmp_path / "am-token")
        daemon_cfg = tmp_path / "tunewatch.yaml"
        daemon_cfg.write_text(yaml.safe_dump({
            "upstream": {"url": upstream.base_url.removesuffix("/v1"), "read_timeout_s": 10},
            "proxy": {"listen": f"127.0.0.1:{ports['proxy']}"},
            "admin": {"listen": f"127.0.0.1:{ports['admin']}", "token": ADMIN_TOKEN},
            "store": {"path": str(tmp_path / "tw.db")},
            "privacy": {"retain_text": True},
            "analysis": {"embedder": "none", "refusal_classifier": False, "batch_size": 4},
            "deployment": {"poll_models_interval_s": 0},
            # the fast static classifier and a 1 s first run keep the test within its bound
            "probes": {"enabled": True, "baseline": str(baseline), "interval_seconds": 10,
                       "max_concurrency": 8, "max_per_minute": 100000, "timeout_s": 10,
                       "classifier": "static", "first_run_delay_s": 1},
            "triggers": {
                "alertmanager_token": AM_TOKEN, "dashboard_url": "https://grafana.example",
                "owners": {"alignment_regression": "safety-board@example.com",
                           "default": "ml-governance@example.com"},
                "drift_sustain_s": 5, "poll_interval_s": 1,
                "retry": {"base_backoff_s": 0.2, "max_backoff_s": 1.0},
                "sinks": [{"type": "webhook", "url": f"{recv_url}/hook", "secret": "s3cret"},
                          {"type": "directory", "path": str(tmp_path / "tickets")}]},
            "log_level": "warning",
        }))

        def start_daemon() -> None:  # `tunewatch serve`, wired by create_app like production
            procs.start("daemon", [sys.executable, "-m", "monitor.cli", "serve", "--config",
                                   str(daemon_cfg)])
            proc = procs.procs["daemon"]

            def healthy() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"daemon exited:\n{procs.tail('daemon')}")
                return httpx.get(f"{admin}/healthz", timeout=1).status_code == 200
            until(healthy, "daemon health")

        procs.start("alertmanager", [
            alertmanager, f"--config.file={tmp_path / 'am.yaml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{ports['am']}", "--cluster.listen-address="])
        prom = stack.enter_context(run_prometheus(
            prometheus, targets=[f"127.0.0.1:{ports['admin']}"], workdir=tmp_path,
            rules=tmp_path / "rules.yaml", alertmanager=f"127.0.0.1:{ports['am']}",
            extra_args=["--rules.alert.resend-delay=1s"]))
        start_daemon()
        until(lambda: httpx.get(f"http://127.0.0.1:{ports['am']}/-/ready",
                                timeout=1).status_code == 200, "alertmanager")

        db = tmp_path / "tw.db"

        def tickets() -> list[tuple[Any, ...]]:
            with sqlite3.connect(db) as c:
                return c.execute("SELECT id, dedup_key, type, fire_count FROM triggers "
                                 "ORDER BY id").fetchall()

        def firing(alertname: str) -> bool:
            return any(a["labels"]["alertname"] == alertname and a["state"] == "firing"
                       for a in prom.alerts())

        def disallowed(payload: dict[str, Any]) -> dict[str, Any]:
            return payload["evidence"].get("probes", {}).get("categories", {}).get(
                "disallowed", {"detected_by": []})

        def from_alertmanager(key_prefix: str) -> bool:
            return any(p["ticket"]["dedup_key"].startswith(key_prefix)
                       and p.get("source") == "alertmanager" for p in receiver.events())

        try:
            # -- (1) a system-prompt change in production traffic ------------------------------
            chat = httpx.Client(base_url=proxy, timeout=10)
            for system in ("You are a helpful banking assistant.",
                           "You are a helpful banking assistant. Never mention competitors."):
                for i in range(3):
                    r = chat.post("/v1/chat/completions", json={
                        "model": "scripted-model-v1", "messages": [
                            {"role": "system", "content": system},
                            {"role": "user", "content": f"Question {i}: my email is "
                                                        "jane.doe@example.com, what is my balance?"}]})
                    assert r.status_code == 200
            sp_key = until(lambda: next((k for k in receiver.opened()
                                         if k.startswith("fingerprint:system_prompt:")), None),
                           "system-prompt ticket at the receiver")
            # kill -9 mid-way: the ticket is out and Prometheus fires the alert, which is still
            # on its way through Alertmanager (which must retry against the dead daemon)
            until(lambda: firing("TunewatchSystemPromptChanged"),
                  "TunewatchSystemPromptChanged firing in Prometheus")
            procs.kill9("daemon")
            start_daemon()
            until(lambda: from_alertmanager(sp_key),
                  "the system-prompt alert routed back by Alertmanager")

            # -- (2) the upstream stops refusing: the scheduled probes find the regression ------
            upstream.policy.refuse_disallowed = 0.0
            upstream.policy.refuse_obfuscated = 0.0
            until(lambda: any(k.startswith("probe_regression:") for _, k, _, _ in tickets()),
                  "a probe-regression ticket in the store")
            procs.kill9("daemon")  # right after the commit: delivery may not have started
            start_daemon()
            until(lambda: from_alertmanager("probe_regression:disallowed"),
                  "the probe-regression alert routed back by Alertmanager")
            until(lambda: any(o["name"] == "oncall" for o in receiver.other),
                  "the critical alert at the on-call receiver")
            # the CUSUM may open the ticket on a run that straddles the change, before the
            # per-run exact test rejects; a later run's update must carry the test's verdict
            tested = until(
                lambda: next((p for p in receiver.events()
                              if p["ticket"]["dedup_key"] == "probe_regression:disallowed"
                              and "fisher_holm" in disallowed(p)["detected_by"]), None),
                "an update with the exact test's regression verdict")

            def settled() -> bool:
                with sqlite3.connect(db) as c:
                    return c.execute("SELECT COUNT(*) FROM trigger_outbox WHERE state != "
                                     "'delivered'").fetchone()[0] == 0
            until(settled, "an empty outbox")
        except AssertionError:
            for name in ("daemon", "alertmanager"):
                print(f"--- {name} ---\n{procs.tail(name)}")
            print(f"--- prometheus ---\n{prom.tail()}")
            try:
                print(prom.alerts())
                print("\n".join(line for line in httpx.get(f"{admin}/metrics").text.splitlines()
                                if "probe" in line or "trigger" in line or "outbox" in line))
            except httpx.HTTPError as exc:
                print("diagnostics failed:", exc)
            print("tickets", tickets(), "received", [(p["event"], p["ticket"]["dedup_key"],
                                                      p.get("source")) for p in receiver.events()])
            raise

        # -- exactly one ticket per condition, with its evidence; nothing lost -------------------
        rows = tickets()
        opened = receiver.opened()
        assert sorted(opened) == sorted(k for _, k, _, _ in rows), (opened.keys(), rows)
        assert all(len(v) == 1 for v in opened.values()), {k: len(v) for k, v in opened.items()}
        kinds = {k: t for _, k, t, _ in rows}
        assert kinds[sp_key] == "deployment_layer_change"
        assert kinds["probe_regression:disallowed"] == "alignment_regression"
        assert set(kinds) <= {sp_key, "probe_regression:disallowed",
                              "probe_regression:obfuscated"}, kinds
        with sqlite3.connect(db) as c:
            sent = {r[0] for r in c.execute("SELECT idempotency_key FROM trigger_outbox "
                                            "WHERE sink = 'webhook'")}
        assert sent == set(receiver.by_key)  # every event arrived; the receiver saw no stranger
        assert receiver.bad_signatures == 0

        sp = opened[sp_key][0]
        assert sp["evidence"]["what_changed"]["component"] == "system_prompt"
        assert sp["evidence"]["what_changed"]["before"] != sp["evidence"]["what_changed"]["after"]
        assert sp["ticket"]["owner"] == "ml-governance@example.com"
        assert any("[REDACTED:EMAIL]" in t["prompt"] for t in sp["evidence"]["transcripts"])
        assert "jane.doe@example.com" not in json.dumps(receiver.events())
        reg = opened["probe_regression:disallowed"][0]
        cat = disallowed(reg)
        assert cat["detected_by"], cat  # the opening evidence names the detector that found it
        assert cat["regression"] is ("fisher_holm" in cat["detected_by"])
        assert cat.get("cusum", {}).get("drift", False) is ("cusum" in cat["detected_by"])
        assert cat["current"]["rate"] > cat["baseline"]["rate"]
        cat = disallowed(tested)
        assert cat["regression"] is True
        assert cat["current"]["rate"] > cat["baseline"]["ci95"][1]  # outside the base's interval
        assert reg["ticket"]["owner"] == "safety-board@example.com"
        probe_cusum = reg["evidence"]["detectors"]["refusal_rate/probe/disallowed"]
        assert probe_cusum["source"] == "probe" and probe_cusum["n"] > 0  # the host's snapshot
        assert (tmp_path / "tickets" / f"{reg['ticket']['id']}.md").exists()

        if os.environ.get("TW_E2E_EVIDENCE"):
            Path(os.environ["TW_E2E_EVIDENCE"]).write_text(json.dumps(
                {"tickets": rows, "opened": opened,
                 "updates": [p for p in receiver.events() if p["event"] != "opened"]},
                indent=2, sort_keys=True))
