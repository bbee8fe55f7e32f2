"""The governance loop end to end through the real daemon: ``tunewatch serve`` as a process, the
``tunewatch disposition`` and ``tunewatch triggers`` commands as processes on its SQLite file, the
official ``openai`` client sending the traffic, the admin API, and the ticket's evidence pack in
Debian's headless chromium.

    tw-safe served -> unreviewed (tunewatch_deployment_reviewed 0) -> approved with
    `tunewatch disposition record --current` -> reviewed 1, no ticket
    -> tw-drift-3 deployed -> a re_fine_tune ticket (lineage from the server), unreviewed at once
    -> its pack renders (every section, the lab manifest cross-checked against the served file)
    -> `tunewatch triggers ack` refused without a disposition (ack_disposition: require)
    -> disposition recorded through the API -> `tunewatch triggers ack TW-1 --disposition …`
    -> reviewed 1 again, the sinks got the decision, and no new ticket while traffic goes on.

The upstream is a parameter (``governed_upstreams.py``): the scripted vLLM-like server here; the
lab's Gemma adapters plug in the same way. Set ``TUNEWATCH_E2E_PACK_SCREENSHOT=FILE`` to keep a
screenshot of the ticket's pack (docs/img/evidence-pack-ticket.png in the docs).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.governed_upstreams import GovernedUpstream, lab, scripted
from tests.monitor.governance.browser import Chromium, chromium_binary
from tests.monitor.governance.test_pack_browser import INSPECT, SECTION_IDS
from tests.support.net import free_port
from tests.support.procs import stop
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gov-e2e-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SYSTEM = "You are the support assistant of an online shop."
VARIANTS: dict[str, Callable[[Path], AbstractContextManager[GovernedUpstream]]] = {
    "scripted": scripted,
    "lab": lab,  # the real Gemma 3 270M with the lab's tw-safe / tw-drift-15 LoRAs
}


@pytest.fixture(params=[pytest.param("scripted"),
                        pytest.param("lab", marks=pytest.mark.llm)])
def governed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GovernedUpstream]:
    with VARIANTS[request.param](tmp_path) as upstream:
        yield upstream


class Daemon:
    """``tunewatch serve --config`` as a process, and the CLI on its database."""

    def __init__(self, tmp: Path, config: Path) -> None:
        self.config = config
        settings = yaml.safe_load(config.read_text())
        self.db = settings["store"]["path"]
        self.admin = "http://" + settings["admin"]["listen"]
        self.proxy = "http://" + settings["proxy"]["listen"]
        self.log = tmp / "daemon.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEWATCH_")}
        self.env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", COLUMNS="200")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "serve", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=tmp,
                start_new_session=True)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True,
                              text=True, env=self.env, timeout=120, cwd=ROOT)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.admin + path, headers=AUTH, timeout=30, **kw)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        text = httpx.get(self.admin + "/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v
                                          for k, v in (labels or {}).items()):
                    return float(s.value)
        return None

    def tickets(self, state: str = "all") -> list[dict[str, Any]]:
        r = self.get("/v1/triggers", params={"state": state})
        assert r.status_code == 200, r.text
        return list(r.json())

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def traffic(d: Daemon, up: GovernedUpstream, n: int) -> None:
    """``n`` chat requests through the sidecar with the official client, for the model the
    upstream serves now."""
    client = OpenAI(base_url=d.proxy + "/v1", api_key="sk-e2e-not-a-key", max_retries=0,
                    timeout=120)
    try:
        for i in range(n):
            r = client.chat.completions.create(model=up.alias, max_tokens=16, temperature=0,
                                               messages=[{"role": "system", "content": SYSTEM},
                                                         {"role": "user",
                                                          "content": f"Where is order {i}?"}])
            assert r.choices[0].message is not None
    finally:
        client.close()


def upstream_checked(d: Daemon) -> float:
    """When the daemon last polled the upstream (``/readyz``)."""
    r = httpx.get(d.admin + "/readyz", timeout=10)
    return float(r.json()["components"]["upstream"]["last_check"] or 0.0)


def serving(d: Daemon) -> dict[str, str]:
    r = d.get("/v1/status")
    assert r.status_code == 200, r.text
    return dict(r.json()["governance"]["serving"])


def write_config(tmp: Path, up: GovernedUpstream) -> Path:
    config: dict[str, Any] = {
        "upstream": {"url": up.base_url, "read_timeout_s": 120},
        "proxy": {"listen": f"127.0.0.1:{free_port()}"},
        "admin": {"listen": f"127.0.0.1:{free_port()}", "token": TOKEN},
        "store": {"path": str(tmp / "tw.db")},
        "analysis": {"embedder": "none", "refusal_classifier": False},
        "deployment": {"poll_models_interval_s": 0.5, "output_filter_version": "v3"},
        "triggers": {"poll_interval_s": 0.2, "owners": {"default": "ml-governance@example.com"},
                     "sinks": [{"type": "directory", "path": str(tmp / "tickets")}]},
        "governance": {"ack_disposition": "require", "refresh_interval_s": 0.2,
                       "artifact_checks": {"stat_interval_s": 0.5}},
        "log_level": "warning",
    }
    for section, values in up.sections().items():
        config.setdefault(section, {}).update(values)
    path = tmp / "tw.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def check_pack_in_chromium(html: str, tmp: Path, ticket: str, drift: str) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium not found: apt-get install -y chromium (scripts/install.sh)")
    page = tmp / f"{ticket}-pack.html"
    page.write_text(html, encoding="utf-8")
    browser = Chromium(binary)
    try:
        report = asyncio.run(browser.open(page.resolve().as_uri(), expression=INSPECT))
    finally:
        browser.close()
    assert report.errors == [], report.errors
    assert report.requests == [page.resolve().as_uri()]  # nothing else was fetched
    info = report.evaluated
    assert [s["id"] for s in info["sections"]] == SECTION_IDS
    assert all(s["height"] > 20 for s in info["sections"]), info["sections"]
    assert info["scripts"] == 0 and info["overflowX"] <= 0
    text = info["text"]
    assert f"ticket {ticket}".lower() in text.lower() and drift in text  # h3: small caps
    assert "matches served artefact" in text  # the lab manifest's adapter sha256
    shot = os.environ.get("TUNEWATCH_E2E_PACK_SCREENSHOT")
    if shot:
        Path(shot).write_bytes(report.screenshot)


def test_the_governance_loop_end_to_end(governed: GovernedUpstream, tmp_path: Path) -> None:
    up = governed
    d = Daemon(tmp_path, write_config(tmp_path, up))
    try:
        wait_for(lambda: httpx.get(d.admin + "/readyz", timeout=2).status_code == 200,
                 timeout=120, ignore=(httpx.HTTPError,), what="the daemon to be ready")
        # 1. the reviewed model is served, nothing approves it yet
        traffic(d, up, 3)
        wait_for(lambda: serving(d).get("model") == up.safe, timeout=60,
                 what=f"{up.safe} in the serving fingerprint")
        wait_for(lambda: d.metric("tunewatch_artifact_verified") is not None, timeout=30,
                 what="the artefacts verified")
        assert d.metric("tunewatch_deployment_reviewed") == 0.0
        # 2. approved with the CLI, binding what the daemon serves now
        r = d.cli("disposition", "record", "--config", str(d.config), "-r", "DR-2026-014",
                  "--decision", "approved", "--owner", "ml-governance@example.com",
                  "--recorded-by", "alice", "--current", "--control", "output_filter=v3",
                  "--evidence", "Red-team report=https://docs.example.com/rt/14")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: d.metric("tunewatch_deployment_reviewed") == 1.0, timeout=30,
                 what="the daemon to pick up DR-2026-014")
        assert d.metric("tunewatch_deployment_disposition_info",
                        {"reference": "DR-2026-014", "decision": "approved"}) == 1.0
        assert d.tickets() == []
        # 3. the fine-tune is deployed: a ticket, unreviewed at once
        up.serve(up.drift)
        traffic(d, up, 3)
        [ticket] = wait_for(lambda: d.tickets("open"), timeout=60, what="the ticket")
        assert ticket["dedup_key"] == f"fingerprint:model:{up.drift}"
        assert ticket["type"] == "re_fine_tune", ticket  # the lineage, not the names, decides
        assert d.metric("tunewatch_deployment_reviewed") == 0.0
        # 4. its evidence pack
        ref = ticket["id"]
        html = d.get(f"/v1/triggers/{ref}/pack", params={"format": "html"})
        assert html.status_code == 200 and "default-src 'none'" in html.text
        check_pack_in_chromium(html.text, tmp_path, ref, up.drift)
        md = d.get(f"/v1/triggers/{ref}/pack", params={"format": "md"}).text
        assert "## Training-run record" in md and "none recorded for this ticket yet" in md
        # 5. the ack needs a disposition; record one (API) and ack with it (CLI)
        r = d.cli("triggers", "ack", ref, "--config", str(d.config))
        assert r.returncode == 1 and "needs a disposition" in r.stdout + r.stderr
        rec = httpx.post(d.admin + "/v1/dispositions", headers=AUTH, timeout=30, json={
            "reference": "DR-2026-015", "decision": "approved-with-conditions",
            "conditions": ["weekly probe runs against the base-model baseline"],
            "owner": "ml-governance@example.com", "recorded_by": "bob", "fingerprint": "current",
            "controls": [{"component": "output_filter", "value": "v3"}], "tickets": [ref],
            "evidence": [{"title": "Evidence pack",
                          "url": f"{d.admin}/v1/triggers/{ref}/pack"}]})
        assert rec.status_code == 201, rec.text
        r = d.cli("triggers", "ack", ref, "--config", str(d.config),
                  "--disposition", "DR-2026-015")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"{ref} acknowledged with DR-2026-015" in r.stdout
        # 6. quiet again: reviewed, the decision delivered, no new ticket while traffic goes on
        assert d.metric("tunewatch_deployment_reviewed") == 1.0
        assert d.metric("tunewatch_deployment_disposition_info", {
            "reference": "DR-2026-015", "decision": "approved-with-conditions"}) == 1.0
        closed = wait_for(lambda: "### Disposition" in (p := tmp_path / "tickets" /
                                                       f"{ref}.md").read_text() and p,
                          timeout=30, ignore=(FileNotFoundError,), what="the closed event")
        assert "**DR-2026-015**: approved-with-conditions" in closed.read_text()
        pack = d.get("/v1/dispositions/DR-2026-015/pack", params={"format": "md"})
        assert pack.status_code == 200
        assert pack.text.startswith("# Evidence pack — DR-2026-015 (approved-with-conditions)")
        before = d.metric("tunewatch_triggers_total", {"type": "re_fine_tune"})
        traffic(d, up, 5)
        since = upstream_checked(d)
        wait_for(lambda: upstream_checked(d) > since + 1.0, timeout=30,
                 what="two more polls of the upstream after the traffic")
        assert [t["state"] for t in d.tickets()] == ["acked"]
        assert d.tickets("open") == []
        assert d.metric("tunewatch_triggers_total", {"type": "re_fine_tune"}) == before
        assert d.metric("tunewatch_deployment_reviewed") == 1.0
        assert d.proc.poll() is None, d.tail()
    finally:
        stop([d.proc])
    assert d.proc.returncode == 0, d.tail()
