"""In-test servers for the sinks: a webhook receiver, a fake GitHub Issues API, a fake Jira API.

Each implements just the endpoints the sinks use, keeps what it received, and can be switched
"down" (answers 503) to test retries. Served on 127.0.0.1 with a port chosen at run time by
``tests.support.upstream.run_upstream``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class Receiver:
    """Webhook receiver that deduplicates by Idempotency-Key (as a well-behaved receiver does)."""

    def __init__(self, *, secret: str | None = None) -> None:
        self.secret = secret
        self.down = False
        self.hang_s = 0.0  # delay before answering (to kill a sender mid-delivery)
        self.raw: list[dict[str, Any]] = []  # every request, duplicates included
        self.finished = 0  # requests answered
        self.by_key: dict[str, dict[str, Any]] = {}  # first payload per idempotency key
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.other: list[dict[str, Any]] = []  # anything POSTed to /other/{name} (e.g. pagers)
        self.app = FastAPI()
        self.app.post("/hook")(self._hook)
        self.app.post("/other/{name}")(self._other)

    async def _other(self, name: str, request: Request) -> JSONResponse:
        data = await request.json()
        with self.lock:
            self.other.append({"name": name, "body": data})
        return JSONResponse({"ok": True})

    async def _hook(self, request: Request) -> JSONResponse:
        try:
            return await self._answer(request)
        finally:
            with self.lock:
                self.finished += 1  # answered, whether or not the sender was still there

    async def _answer(self, request: Request) -> JSONResponse:
        body = await request.body()
        key = request.headers.get("idempotency-key", "")
        with self.lock:
            self.raw.append({"key": key, "at": time.time(), "headers": dict(request.headers)})
        if self.hang_s:
            import asyncio

            await asyncio.sleep(self.hang_s)
        if self.down:
            return JSONResponse({"error": "down"}, status_code=503)
        if self.secret is not None:
            want = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if request.headers.get("x-tunewatch-signature") != want:
                with self.lock:
                    self.bad_signatures += 1
                return JSONResponse({"error": "bad signature"}, status_code=401)
        with self.lock:
            replay = key in self.by_key
            if not replay:
                self.by_key[key] = json.loads(body)
        return JSONResponse({"ok": True, "replay": replay})

    def opened(self) -> dict[str, list[dict[str, Any]]]:
        """dedup key -> the distinct 'opened' events received for it."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            for p in self.by_key.values():
                if p["event"] == "opened":
                    out.setdefault(p["ticket"]["dedup_key"], []).append(p)
        return out

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.by_key.values())


class FakeGithub:
    def __init__(self, *, token: str) -> None:
        self.token = token
        self.down = False
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []
        app = FastAPI()
        base = "/repos/{owner}/{repo}/issues"

        @app.middleware("http")
        async def guard(request: Request, call_next: Any) -> Any:
            self.calls.append((request.method, request.url.path))
            if self.down:
                return JSONResponse({"message": "down"}, status_code=503)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            return await call_next(request)

        @app.get(base)
        def list_issues(owner: str, repo: str, state: str = "open", labels: str = "") -> Any:
            want = set(filter(None, labels.split(",")))
            return [i for i in self.issues.values() if i["state"] == state
                    and want <= {lb["name"] for lb in i["labels"]}]

        @app.post(base, status_code=201)
        async def create(owner: str, repo: str, request: Request) -> Any:
            data = await request.json()
            n = len(self.issues) + 1
            self.issues[n] = {"number": n, "title": data["title"], "body": data["body"],
                              "state": "open", "labels": [{"name": x} for x in data["labels"]]}
            self.comments[n] = []
            return self.issues[n]

        @app.patch(base + "/{number}")
        async def patch(owner: str, repo: str, number: int, request: Request) -> Any:
            self.issues[number].update(await request.json())
            return self.issues[number]

        @app.get(base + "/{number}/comments")
        def comments(owner: str, repo: str, number: int) -> Any:
            return self.comments[number]

        @app.post(base + "/{number}/comments", status_code=201)
        async def comment(owner: str, repo: str, number: int, request: Request) -> Any:
            data = await request.json()
            self.comments[number].append({"id": len(self.comments[number]) + 1,
                                          "body": data["body"]})
            return self.comments[number][-1]

        self.app = app


class FakeJira:
    def __init__(self, *, user: str, token: str) -> None:
        self.auth = (user, token)
        self.down = False
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.transitioned: list[tuple[str, str]] = []
        app = FastAPI()
        api = "/rest/api/{v}"

        @app.middleware("http")
        async def guard(request: Request, call_next: Any) -> Any:
            import base64

            if self.down:
                return JSONResponse({"errorMessages": ["down"]}, status_code=503)
            want = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
            if request.headers.get("authorization") != want:
                return JSONResponse({"errorMessages": ["unauthorized"]}, status_code=401)
            return await call_next(request)

        @app.get(api + "/search")
        def search(v: str, jql: str) -> Any:
            label = jql.split('labels = "', 1)[1].split('"', 1)[0]
            hits = [i for i in self.issues.values()
                    if label in i["fields"]["labels"] and i["status"] != "Done"]
            return {"issues": hits, "total": len(hits)}

        @app.post(api + "/issue", status_code=201)
        async def create(v: str, request: Request) -> Any:
            data = await request.json()
            key = f"{data['fields']['project']['key']}-{len(self.issues) + 1}"
            self.issues[key] = {"key": key, "fields": data["fields"], "status": "To Do"}
            self.comments[key] = []
            return {"id": str(len(self.issues)), "key": key}

        @app.get(api + "/issue/{key}/comment")
        def comments(v: str, key: str) -> Any:
            return {"comments": self.comments[key], "total": len(self.comments[key])}

        @app.post(api + "/issue/{key}/comment", status_code=201)
        async def comment(v: str, key: str, request: Request) -> Any:
            data = await request.json()
            self.comments[key].append({"id": str(len(self.comments[key]) + 1),
                                       "body": data["body"]})
            return self.comments[key][-1]

        @app.get(api + "/issue/{key}/transitions")
        def transitions(v: str, key: str) -> Any:
            return {"transitions": [{"id": "11", "name": "In Progress"},
                                    {"id": "31", "name": "Done"}]}

        @app.post(api + "/issue/{key}/transitions", status_code=204)
        async def transition(v: str, key: str, request: Request) -> None:
            tid = (await request.json())["transition"]["id"]
            self.transitioned.append((key, tid))
            if tid == "31":
                self.issues[key]["status"] = "Done"

        self.app = app
