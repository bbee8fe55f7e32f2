"""Issue-tracker sinks: GitHub Issues and Jira (REST API v2 or v3).

Idempotency without help from the tracker: each issue carries a label derived from the dedup key
and a hidden marker in its body; each comment carries a marker with the event's idempotency key.
Before creating an issue the sink looks for an open issue with the dedup label (so a redelivery,
or a second replica raising the same condition, comments on it instead); before commenting it
looks for its own event marker among the comments.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from monitor.triggers.config import GithubSink, JiraSink
from monitor.triggers.outbox import OutboxItem
from monitor.triggers.render import event_marker, render_markdown
from monitor.triggers.sinks import DeliveryError, RefStore


def severity_labels(ticket: dict[str, Any]) -> list[str]:
    """A label for tickets above the usual severity, so trackers can filter and route them.

    >>> severity_labels({"severity": "critical"}), severity_labels({"severity": "warning"})
    (['tunewatch-critical'], [])
    """
    severity = ticket.get("severity", "warning")
    return [] if severity == "warning" else [f"tunewatch-{severity}"]


def dedup_label(dedup_key: str) -> str:
    """Tracker label for a dedup key (labels are short and space-free).

    >>> dedup_label("probe_regression:disallowed")
    'tunewatch-eec52c44d424'
    """
    return "tunewatch-" + hashlib.sha256(dedup_key.encode()).hexdigest()[:12]


async def _call(client: httpx.AsyncClient, method: str, url: str, what: str,
                **kw: Any) -> httpx.Response:
    try:
        resp = await client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}") from None
    if resp.status_code >= 300:
        raise DeliveryError(f"{what}: HTTP {resp.status_code}")
    return resp


class GithubSinkImpl:
    def __init__(self, *, settings: GithubSink, name: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self._s = settings
        token = settings.token_file.read_text(encoding="utf-8").strip()
        self._base = f"{settings.api_url}/repos/{settings.repo}"
        self._client = httpx.AsyncClient(
            timeout=settings.timeout_s, transport=transport, trust_env=False,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28"})

    async def deliver(self, item: OutboxItem, refs: RefStore) -> None:
        number = refs.get_ref(item.trigger_id, self.name)
        if number is None:
            number = await self._find_or_create(item)
            refs.set_ref(item.trigger_id, self.name, number)
            if item.event == "opened":
                return
        await self._comment_once(number, item)
        if item.event == "closed":
            await _call(self._client, "PATCH", f"{self._base}/issues/{number}", "github close",
                        json={"state": "closed", "state_reason": "completed"})

    async def _find_or_create(self, item: OutboxItem) -> str:
        t = item.payload["ticket"]
        label = dedup_label(t["dedup_key"])
        resp = await _call(self._client, "GET", f"{self._base}/issues", "github search",
                           params={"state": "open", "labels": label, "per_page": 100})
        issues = [i for i in resp.json() if "pull_request" not in i]
        if issues:
            issue = issues[0]
            if f"uid={t['uid']}" not in (issue.get("body") or "") and item.event == "opened":
                # the same condition is already open upstream (another replica): join it
                await self._comment_once(str(issue["number"]), item)
            return str(issue["number"])
        body = render_markdown(item.payload)
        resp = await _call(self._client, "POST", f"{self._base}/issues", "github create",
                           json={"title": f"[{t['id']}] {t['title']}", "body": body,
                                 "labels": [*self._s.labels, label, *severity_labels(t)]})
        return str(resp.json()["number"])

    async def _comment_once(self, number: str, item: OutboxItem) -> None:
        mark = event_marker(item.idempotency_key)
        url = f"{self._base}/issues/{number}/comments"
        resp = await _call(self._client, "GET", url, "github comments", params={"per_page": 100})
        if any(mark in (c.get("body") or "") for c in resp.json()):
            return
        await _call(self._client, "POST", url, "github comment",
                    json={"body": render_markdown(item.payload)})

    async def aclose(self) -> None:
        await self._client.aclose()


class JiraSinkImpl:
    def __init__(self, *, settings: JiraSink, name: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self._s = settings
        token = settings.token_file.read_text(encoding="utf-8").strip()
        auth = httpx.BasicAuth(settings.user, token) if settings.user else None
        headers = {} if settings.user else {"Authorization": f"Bearer {token}"}
        self._api = f"{settings.url}/rest/api/{settings.api_version}"
        self._client = httpx.AsyncClient(timeout=settings.timeout_s, transport=transport,
                                         trust_env=False, auth=auth, headers=headers)

    def _doc(self, text: str) -> Any:
        if self._s.api_version == "2":
            return text
        return {"type": "doc", "version": 1, "content": [
            {"type": "codeBlock", "attrs": {"language": "markdown"},
             "content": [{"type": "text", "text": text}]}]}

    async def deliver(self, item: OutboxItem, refs: RefStore) -> None:
        key = refs.get_ref(item.trigger_id, self.name)
        if key is None:
            key = await self._find_or_create(item)
            refs.set_ref(item.trigger_id, self.name, key)
            if item.event == "opened":
                return
        await self._comment_once(key, item)
        if item.event == "closed":
            await self._close(key)

    async def _find_or_create(self, item: OutboxItem) -> str:
        t = item.payload["ticket"]
        label = dedup_label(t["dedup_key"])
        jql = (f'project = "{self._s.project}" AND labels = "{label}" '
               "AND statusCategory != Done ORDER BY created ASC")
        resp = await _call(self._client, "GET", f"{self._api}/search", "jira search",
                           params={"jql": jql, "fields": "description", "maxResults": 10})
        issues = resp.json().get("issues") or []
        if issues:
            issue = issues[0]
            desc = json.dumps((issue.get("fields") or {}).get("description"))
            if f"uid={t['uid']}" not in desc and item.event == "opened":
                await self._comment_once(issue["key"], item)
            return str(issue["key"])
        fields = {"project": {"key": self._s.project}, "summary": f"[{t['id']}] {t['title']}",
                  "description": self._doc(render_markdown(item.payload)),
                  "issuetype": {"name": self._s.issue_type},
                  "labels": ["tunewatch", label, *severity_labels(t)]}
        resp = await _call(self._client, "POST", f"{self._api}/issue", "jira create",
                           json={"fields": fields})
        return str(resp.json()["key"])

    async def _comment_once(self, key: str, item: OutboxItem) -> None:
        mark = event_marker(item.idempotency_key)
        url = f"{self._api}/issue/{key}/comment"
        resp = await _call(self._client, "GET", url, "jira comments")
        if any(mark in json.dumps(c.get("body")) for c in resp.json().get("comments") or []):
            return
        await _call(self._client, "POST", url, "jira comment",
                    json={"body": self._doc(render_markdown(item.payload))})

    async def _close(self, key: str) -> None:
        url = f"{self._api}/issue/{key}/transitions"
        resp = await _call(self._client, "GET", url, "jira transitions")
        for tr in resp.json().get("transitions") or []:
            if str(tr.get("name", "")).lower() == self._s.close_transition.lower():
                await _call(self._client, "POST", url, "jira transition",
                            json={"transition": {"id": tr["id"]}})
                return

    async def aclose(self) -> None:
        await self._client.aclose()
