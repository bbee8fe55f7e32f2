"""Each sink against a fake server: create, update, close, and redelivery without duplicates."""

from __future__ import annotations

import json
from typing import Any

from monitor.triggers.model import TriggerEvent
from monitor.triggers.trackers import dedup_label

EV = TriggerEvent(type="deployment_layer_change", dedup_key="fingerprint:system_prompt:abc",
                  title="Deployment layer changed: system_prompt", source="fingerprint",
                  what_changed={"component": "system_prompt", "before": "111", "after": "abc"})


async def _drain(svc: Any) -> int:
    total = 0
    for _ in range(10):
        n = await svc.delivery.deliver_once()
        total += n
        if n == 0:
            break
    return total


async def test_webhook_signed_with_idempotency_key(make_service, receiver) -> None:
    r, url = receiver
    svc = make_service(sinks=[{"type": "webhook", "url": url, "secret": "s3cret"}])
    t = svc.raise_trigger(EV)
    assert await _drain(svc) == 1
    assert r.bad_signatures == 0
    [ev] = r.events()
    assert ev["event"] == "opened" and ev["ticket"]["id"] == t.ref
    assert ev["evidence"]["what_changed"]["after"] == "abc"
    assert r.raw[0]["headers"]["idempotency-key"] == f"{t.uid}:opened:0"
    assert r.raw[0]["headers"]["x-tunewatch-signature"].startswith("sha256=")
    await svc.stop()


async def test_webhook_wrong_secret_is_retried_not_lost(make_service, receiver) -> None:
    r, url = receiver
    svc = make_service(sinks=[{"type": "webhook", "url": url, "secret": "wrong"}])
    svc.raise_trigger(EV)
    assert await svc.delivery.deliver_once() == 0
    assert r.bad_signatures == 1
    assert svc.outbox.depth() == {"webhook": 1}
    await svc.stop()


async def test_slack(make_service, receiver) -> None:
    r, url = receiver
    r.secret = None
    svc = make_service(sinks=[{"type": "slack", "url": url}])
    svc.raise_trigger(EV)
    assert await _drain(svc) == 1
    [body] = r.events()
    assert body["text"].startswith("*[TW-1] Deployment layer changed")
    await svc.stop()


async def test_directory_sink_writes_atomically_and_idempotently(make_service, tmp_path) -> None:
    d = tmp_path / "tickets"
    svc = make_service(sinks=[{"type": "directory", "path": str(d)}])
    t = svc.raise_trigger(EV)
    svc.raise_trigger(EV)
    assert await _drain(svc) == 2
    files = sorted(p.name for p in d.rglob("*") if p.is_file())
    assert files == sorted(["TW-1.json", "TW-1.md", f"{t.uid}_opened_0.json",
                           f"{t.uid}_updated_1.json"])
    assert "uid=" + t.uid in (d / "TW-1.md").read_text()
    # redelivering the same item rewrites identical files: nothing new appears
    item = svc.outbox.pending()
    assert item == []
    before = {p: p.read_bytes() for p in (d / "events").iterdir()}
    from monitor.triggers.outbox import OutboxItem

    payload = json.loads((d / "events" / f"{t.uid}_opened_0.json").read_text())
    await svc.sinks["directory"].deliver(OutboxItem(1, t.id, "directory", "opened", 0,
                                                    payload["idempotency_key"], payload, 1),
                                         svc.outbox)
    assert {p: p.read_bytes() for p in (d / "events").iterdir()} == before
    assert not list(d.rglob(".tmp-*"))
    await svc.stop()


async def test_github_create_update_close_without_duplicates(make_service, github) -> None:
    gh, cfg = github
    svc = make_service(sinks=[cfg])
    t = svc.raise_trigger(EV)
    assert await _drain(svc) == 1
    assert list(gh.issues) == [1]
    issue = gh.issues[1]
    assert {lb["name"] for lb in issue["labels"]} == {"tunewatch", "governance",
                                                     dedup_label(EV.dedup_key)}
    assert f"uid={t.uid}" in issue["body"]
    # the sink's reference is lost (as after a crash between create and commit): redelivery of
    # "opened" finds the open issue by its dedup label instead of creating another
    svc.outbox.store.query("DELETE FROM trigger_sink_refs")
    svc.outbox.store.query("UPDATE trigger_outbox SET state = 'pending'")
    assert await _drain(svc) == 1
    assert list(gh.issues) == [1] and gh.comments[1] == []
    # a repeated firing comments; delivering that comment twice leaves one comment
    svc.raise_trigger(EV)
    assert await _drain(svc) == 1
    svc.outbox.store.query("UPDATE trigger_outbox SET state = 'pending' WHERE event = 'updated'")
    assert await _drain(svc) == 1
    assert len(gh.comments[1]) == 1
    svc.ack(t.id)
    assert await _drain(svc) == 1
    assert gh.issues[1]["state"] == "closed" and len(gh.comments[1]) == 2
    await svc.stop()


async def test_github_down_then_recovers(make_service, github) -> None:
    gh, cfg = github
    gh.down = True
    svc = make_service(sinks=[cfg])
    svc.raise_trigger(EV)
    assert await svc.delivery.deliver_once() == 0
    assert svc.metrics.registry.get_sample_value("tunewatch_outbox_depth", {"sink": "github"}) == 1
    gh.down = False
    svc._clock.advance(10)  # past the backoff
    assert await _drain(svc) == 1
    assert len(gh.issues) == 1
    assert svc.metrics.registry.get_sample_value("tunewatch_outbox_depth", {"sink": "github"}) == 0
    await svc.stop()


async def test_jira_create_comment_transition(make_service, jira) -> None:
    fj, cfg = jira
    svc = make_service(sinks=[cfg])
    t = svc.raise_trigger(EV)
    svc.raise_trigger(EV)
    assert await _drain(svc) == 2
    assert list(fj.issues) == ["GOV-1"]
    fields = fj.issues["GOV-1"]["fields"]
    assert fields["issuetype"] == {"name": "Task"} and dedup_label(EV.dedup_key) in fields["labels"]
    assert f"uid={t.uid}" in fields["description"]
    assert len(fj.comments["GOV-1"]) == 1
    # redelivery of the update does not add a second comment
    svc.outbox.store.query("UPDATE trigger_outbox SET state = 'pending' WHERE event = 'updated'")
    assert await _drain(svc) == 1
    assert len(fj.comments["GOV-1"]) == 1
    svc.ack(t.id)
    assert await _drain(svc) == 1
    assert fj.transitioned == [("GOV-1", "31")] and fj.issues["GOV-1"]["status"] == "Done"
    # the condition fires again after the ack: a new ticket and a new issue
    svc.raise_trigger(EV)
    assert await _drain(svc) == 1
    assert list(fj.issues) == ["GOV-1", "GOV-2"]
    await svc.stop()


async def test_jira_v3_uses_document_format(make_service, jira) -> None:
    fj, cfg = jira
    svc = make_service(sinks=[{**cfg, "api_version": "3"}])
    svc.raise_trigger(EV)
    assert await _drain(svc) == 1
    desc = fj.issues["GOV-1"]["fields"]["description"]
    assert desc["type"] == "doc" and "tunewatch-ticket" in desc["content"][0]["content"][0]["text"]
    await svc.stop()

