"""The governance loop inside the real daemon (create_app + both servers, a scripted upstream):
what create_app builds and mounts, the serving fingerprint with artefacts and reported adapters,
the lineage from the upstream's LoRA cards, artefact tickets raised on the trigger service's
thread, dispositions another process records, the ack API and the ticket pack route."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.governance.disposition_store import DispositionStore
from monitor.store import Store
from tests.support.daemon import RunningDaemon, run_daemon, settings_for
from tests.support.upstream import ScriptedUpstream, run_upstream

TOKEN = "gov-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CARDS = [{"id": "gemma-3-270m", "object": "model", "root": "/models/gemma", "parent": None},
         {"id": "tw-safe", "object": "model", "root": "/adapters/tw-safe",
          "parent": "gemma-3-270m"},
         {"id": "tw-drift-3", "object": "model", "root": "/adapters/tw-drift-3",
          "parent": "gemma-3-270m"}]


def chat(d: RunningDaemon, n: int = 1) -> None:
    with httpx.Client(timeout=10) as c:
        for i in range(n):
            r = c.post(d.proxy_url + "/v1/chat/completions", json={
                "model": "m", "messages": [{"role": "system", "content": "You are Tess."},
                                           {"role": "user", "content": f"hello {i}"}]})
            assert r.status_code == 200
    assert d.daemon.worker.wait_idle(20)


@pytest.fixture
def governed(tmp_path: Path) -> Iterator[tuple[RunningDaemon, ScriptedUpstream, Path]]:
    adapter = tmp_path / "tw-safe.gguf"
    adapter.write_bytes(b"adapter v1")
    with run_upstream() as (up, url):
        up.model = "tw-safe"
        up.model_cards = CARDS
        settings = settings_for(
            url, tmp_path, admin={"token": TOKEN},
            analysis={"refusal_classifier": False},
            triggers={"poll_interval_s": 0.1,
                      "sinks": [{"type": "directory", "path": str(tmp_path / "tickets")}]},
            deployment={"output_filter_version": "v3", "artifacts": [{
                "path": str(adapter), "name": "tw-safe", "kind": "lora_adapter",
                "sha256": hashlib.sha256(b"adapter v1").hexdigest()}]},
            governance={"ack_disposition": "require", "refresh_interval_s": 0.1,
                        "artifact_checks": {"stat_interval_s": 0.1}})
        with run_daemon(settings) as d:
            yield d, up, adapter


def status(d: RunningDaemon) -> dict[str, Any]:
    r = httpx.get(d.admin_url + "/v1/status", headers=AUTH, timeout=10)
    assert r.status_code == 200
    return dict(r.json()["governance"])


def test_create_app_builds_and_mounts_the_loop(governed) -> None:
    d, _, _ = governed
    paths = set(d.daemon.admin_app.openapi()["paths"])
    assert {"/v1/dispositions", "/v1/dispositions/current", "/v1/dispositions/{key}/pack",
            "/v1/triggers/{ticket_id}/ack", "/v1/triggers/{ticket_id}/pack"} <= paths
    assert httpx.get(d.admin_url + "/v1/dispositions", timeout=10).status_code == 401
    # the verifier started with the daemon and hashed the adapter
    d.wait_for(lambda: d.value("tunewatch_artifact_verified", {"artifact": "tw-safe"}) == 1.0,
               what="the adapter verified")
    chat(d)
    gov = d.wait_for(lambda: (s := status(d))["serving"].get("model") and s, what="a model")
    serving = gov["serving"]
    assert serving["model"] == "tw-safe" and serving["output_filter"] == "v3"
    assert serving["artifact:tw-safe"] == hashlib.sha256(b"adapter v1").hexdigest()
    # the upstream's LoRA cards are the reported adapters (poll at start)
    assert serving["adapter:tw-safe"] == "parent=gemma-3-270m;source=/adapters/tw-safe"
    assert "artifacts" not in serving and "server_adapters" not in serving  # digests only
    assert gov["reviewed"] is False and gov["ack_disposition"] == "require"
    assert [a["status"] for a in gov["artifacts"]] == ["verified"]
    fp = d.daemon.fingerprint.current()
    assert len(fp["artifacts"]) == 16 and len(fp["server_adapters"]) == 16  # bounded labels
    assert d.value("tunewatch_deployment_reviewed") == 0.0
    assert d.daemon.governance.lineage()["tw-drift-3"] == "gemma-3-270m"


def test_a_disposition_recorded_by_another_process_is_picked_up(governed, tmp_path) -> None:
    d, _, _ = governed
    chat(d)
    d.wait_for(lambda: status(d)["serving"].get("model"), what="a model")
    serving = d.daemon.governance.serving()
    other = Store(tmp_path / "tw.db")  # the CLI's own connection, as `tunewatch disposition`
    try:
        DispositionStore(store=other).record({
            "reference": "DR-2026-014", "decision": "approved", "owner": "gov@example.com",
            "recorded_by": "alice", "fingerprint": serving})
    finally:
        other.close()
    d.wait_for(lambda: d.value("tunewatch_deployment_reviewed") == 1.0,
               what="the review state to read the new record")
    assert d.value("tunewatch_deployment_disposition_info",
                   {"reference": "DR-2026-014", "decision": "approved"}) == 1.0


def test_a_swapped_adapter_raises_a_critical_ticket_on_the_trigger_thread(
        governed, caplog: pytest.LogCaptureFixture) -> None:
    d, _, adapter = governed
    chat(d)
    r = httpx.post(d.admin_url + "/v1/dispositions", headers=AUTH, timeout=10, json={
        "reference": "DR-2026-014", "decision": "approved", "owner": "gov@example.com",
        "recorded_by": "alice", "fingerprint": "current"})
    assert r.status_code == 201, r.text
    assert d.value("tunewatch_deployment_reviewed") == 1.0
    caplog.set_level(logging.WARNING, logger="tunewatch.triggers")
    adapter.write_bytes(b"adapter v2, tampered")
    d.wait_for(lambda: d.daemon.triggers and [t for t in d.daemon.triggers.outbox.tickets()
                                              if t.dedup_key.startswith("artifact:")],
               what="the artefact ticket")
    [ticket] = [t for t in d.daemon.triggers.outbox.tickets()  # type: ignore[union-attr]
                if t.dedup_key.startswith("artifact:")]
    assert ticket.severity == "critical" and ticket.type == "re_fine_tune"
    assert ticket.evidence["what_changed"]["status"] == "mismatch"
    opened = [rec for rec in caplog.records if "re-assessment trigger" in rec.getMessage()
              and "artifact:" in rec.getMessage()]
    assert opened and {rec.threadName for rec in opened} == {"tunewatch-triggers"}
    assert d.value("tunewatch_artifact_verified", {"artifact": "tw-safe"}) == 0.0
    d.wait_for(lambda: d.value("tunewatch_deployment_reviewed") == 0.0,
               what="the swapped file to un-review the deployment")
    # the tracker saw a new artefacts digest too: a base-model ticket beside the critical one,
    # opened on the trigger thread (it may land after the artefact ticket: wait, bounded)
    d.wait_for(lambda: any(t.dedup_key.startswith("fingerprint:artifacts:")
                           for t in d.daemon.triggers.outbox.tickets()),  # type: ignore[union-attr]
               what="the base-model ticket for the new artefacts digest")


def test_ack_api_with_and_without_a_disposition_and_the_ticket_pack(governed) -> None:
    d, up, _ = governed
    chat(d)
    up.model = "tw-drift-3"
    chat(d)
    triggers = d.daemon.triggers
    assert triggers is not None
    [ticket] = d.wait_for(lambda: triggers.outbox.tickets(), what="the model-change ticket")
    # the upstream's cards name the same parent: a re-fine-tune, not a base-model change
    assert (ticket.type, ticket.dedup_key) == ("re_fine_tune", "fingerprint:model:tw-drift-3")
    url = f"{d.admin_url}/v1/triggers/{ticket.ref}"
    page = httpx.get(url + "/pack?format=html", headers=AUTH, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert ticket.ref in page.text and "tw-drift-3" in page.text
    md = httpx.get(url + "/pack?format=md", headers=AUTH, timeout=30)
    assert md.status_code == 200 and "## Missing pieces" in md.text
    assert httpx.get(d.admin_url + "/v1/triggers/TW-99/pack", headers=AUTH,
                     timeout=10).status_code == 404
    refused = httpx.post(url + "/ack", headers=AUTH, timeout=10)
    assert refused.status_code == 409
    assert "needs a disposition" in refused.json()["message"]
    assert httpx.post(url + "/ack", headers=AUTH, json={"disposition": True},
                      timeout=10).status_code == 400
    assert httpx.post(url + "/ack", headers=AUTH, json={"disposition": {"reference": "x"}},
                      timeout=10).json()["error"] == "invalid disposition"
    ok = httpx.post(url + "/ack", headers=AUTH, timeout=10, json={"disposition": {
        "reference": "DR-2026-020", "decision": "approved", "owner": "gov@example.com"}})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["state"] == "acked" and body["message"].startswith(
        f"{ticket.ref} acknowledged with DR-2026-020")
    [record] = d.daemon.governance.dispositions.by_reference("DR-2026-020")
    assert record.tickets == (ticket.ref,) and record.recorded_by == "api"
    assert d.value("tunewatch_deployment_reviewed") == 1.0
    again = httpx.post(url + "/ack", headers=AUTH, json={"disposition": "DR-2026-020"},
                       timeout=10)
    assert again.status_code == 409 and "already acked" in again.json()["message"]
