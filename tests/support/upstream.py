"""A scripted OpenAI-compatible upstream for exact scenarios and faults (loopback, port 0).

Routes:
  POST /v1/chat/completions, /v1/completions  deterministic answers; ``stream: true`` -> SSE.
      ``x-test-delay`` header: seconds between stream chunks; ``x-test-chunks``: chunk count.
  GET  /v1/models          ``models_body`` verbatim when set (e.g. a vLLM list with LoRA
                           ``parent``s), else ``model`` as the one card, or ``model_cards``
  GET  /props, /lora-adapters   llama.cpp's routes when ``props`` / ``lora_adapters`` are set
                           (404 otherwise, like vLLM and llama-cpp-python)
      ``stream_options.include_usage`` -> a final usage chunk (``choices: []``), as OpenAI/vLLM.
      usage: prompt_tokens 5, completion_tokens = the number of streamed words.
  ANY  /test/echo          JSON of method, path, query, headers, body length and sha256
  ANY  /test/status/{code} that status with a JSON error body
  GET  /test/slow?s=S      sleep S seconds, then answer
  GET  /test/cut?n=N       stream N SSE chunks, then drop the connection
  GET  /test/stream?n=N&delay=D&id=ID   SSE stream; records ("chunk", ID, i, t) and, if the
                           proxy cancels it, ("cancelled", ID)
  GET  /test/big?size=B    B bytes streamed in 64 KiB chunks
  GET  /test/gzip          a gzip-encoded JSON body
  anything else            404 JSON
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from tests.support.wait import wait_for

Scope = dict[str, Any]


class _Drop(Exception):
    pass


class ScriptedUpstream:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.chat_reply = "Sure! Here is a short answer about {topic}."
        self.model = "scripted-model-v1"
        self.model_cards: list[dict[str, Any]] | None = None
        self.props: Any = None
        self.lora_adapters: Any = None
        self.system_fingerprint = "fp_test"
        self.models_body: dict[str, Any] | None = None

    def record(self, *event: Any) -> None:
        with self._lock:
            self.events.append(event)

    def events_of(self, kind: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return [e for e in self.events if e[0] == kind]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        # Hash the body as it arrives (20 MB uploads are not held whole); keep it otherwise.
        digest = hashlib.sha256()
        length = 0
        parts: list[bytes] = []
        while True:
            msg = await receive()
            chunk = msg.get("body", b"")
            digest.update(chunk)
            length += len(chunk)
            if path != "/test/echo":
                parts.append(chunk)
            if not msg.get("more_body"):
                break
        body = b"".join(parts)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
        if path in ("/v1/chat/completions", "/v1/completions"):
            await self._completion(path, headers, body, send)
        elif path == "/v1/models":
            cards = self.model_cards if self.model_cards is not None else [
                {"id": self.model, "object": "model"}]
            await _json(send, 200, self.models_body or {"object": "list", "data": cards})
        elif path == "/props" and self.props is not None:
            await _json(send, 200, self.props)
        elif path == "/lora-adapters" and self.lora_adapters is not None:
            await _json(send, 200, self.lora_adapters)
        elif path == "/test/echo":
            await _json(
                send,
                200,
                {
                    "method": scope["method"],
                    "path": path,
                    "raw_path": (scope.get("raw_path") or b"").decode("latin-1"),
                    "query": scope["query_string"].decode("latin-1"),
                    "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
                    "length": length,
                    "sha256": digest.hexdigest(),
                },
                extra=[(b"x-upstream-header", b"kept"), (b"set-cookie", b"a=b"),
                       (b"connection", b"x-upstream-hop"), (b"x-upstream-hop", b"dropped")],
            )
        elif path.startswith("/test/status/"):
            code = int(path.rsplit("/", 1)[1])
            await _json(send, code, {"error": {"message": f"scripted {code}", "type": "test"}})
        elif path == "/test/slow":
            await asyncio.sleep(float(query.get("s", "5")))
            await _json(send, 200, {"slow": True})
        elif path == "/test/cut":
            await self._cut(send, int(query.get("n", "3")))
        elif path == "/test/stream":
            # Like real servers (sse-starlette), stop generating when the client goes away.
            task = asyncio.ensure_future(
                self._stream(send, int(query.get("n", "5")), float(query.get("delay", "0.05")),
                             query.get("id", "s"), float(query.get("linger", "0"))))

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                task.cancel()

            watcher = asyncio.ensure_future(watch())
            try:
                await task
            except asyncio.CancelledError:
                pass
            finally:
                watcher.cancel()
        elif path == "/test/big":
            size = int(query.get("size", "1048576"))
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/octet-stream"),
                                    (b"content-length", str(size).encode())]})
            block = b"x" * 65536
            left = size
            while left > 0:
                n = min(left, len(block))
                left -= n
                await send({"type": "http.response.body", "body": block[:n], "more_body": left > 0})
        elif path == "/test/gzip":
            payload = gzip.compress(json.dumps({"choices": [{"text": "zipped"}]}).encode())
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-encoding", b"gzip"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
        else:
            await _json(send, 404, {"error": {"message": "no such route", "type": "not_found"}})

    async def _completion(self, path: str, headers: dict[str, str], body: bytes, send: Any) -> None:
        try:
            req = json.loads(body)
        except ValueError:
            await _json(send, 400, {"error": {"message": "invalid JSON body", "type": "invalid_request_error"}})
            return
        if not isinstance(req, dict):
            await _json(send, 400, {"error": {"message": "body must be an object", "type": "invalid_request_error"}})
            return
        chat = path.endswith("chat/completions")
        if chat:
            msgs = req.get("messages") or [{}]
            topic = str(msgs[-1].get("content", ""))[:40]
        else:
            topic = str(req.get("prompt", ""))[:40]
        text = self.chat_reply.format(topic=topic)
        created = 1700000000
        if not req.get("stream"):
            if chat:
                choice = {"index": 0, "message": {"role": "assistant", "content": text},
                          "finish_reason": "stop"}
                obj = "chat.completion"
            else:
                choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
                obj = "text_completion"
            await _json(send, 200, {"id": "cmpl-test", "object": obj, "created": created,
                                    "model": self.model, "system_fingerprint": self.system_fingerprint,
                                    "choices": [choice],
                                    "usage": {"prompt_tokens": 5,
                                              "completion_tokens": len(text.split(" ")),
                                              "total_tokens": 5 + len(text.split(" "))}})
            return
        delay = float(headers.get("x-test-delay", "0"))
        words = text.split(" ")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8"),
                                (b"cache-control", b"no-cache")]})
        for i, w in enumerate(words):
            piece = w if i == 0 else " " + w
            if chat:
                delta: dict[str, Any] = {"content": piece}
                if i == 0:
                    delta["role"] = "assistant"
                chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": created,
                         "model": self.model, "choices": [{"index": 0, "delta": delta,
                                                           "finish_reason": None}]}
            else:
                chunk = {"id": "cmpl-test", "object": "text_completion", "created": created,
                         "model": self.model, "choices": [{"index": 0, "text": piece,
                                                           "finish_reason": None}]}
            await send({"type": "http.response.body", "body": f"data: {json.dumps(chunk)}\n\n".encode(),
                        "more_body": True})
            if delay:
                await asyncio.sleep(delay)
        if chat:
            last = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": created,
                    "model": self.model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        else:
            last = {"id": "cmpl-test", "object": "text_completion", "created": created,
                    "model": self.model, "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}
        await send({"type": "http.response.body", "body": f"data: {json.dumps(last)}\n\n".encode(),
                    "more_body": True})
        options = req.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage = {"id": last["id"], "object": last["object"], "created": created,
                     "model": self.model, "choices": [],
                     "usage": {"prompt_tokens": 5, "completion_tokens": len(words),
                               "total_tokens": 5 + len(words)}}
            await send({"type": "http.response.body",
                        "body": f"data: {json.dumps(usage)}\n\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _cut(self, send: Any, n: int) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for i in range(n):
            await send({"type": "http.response.body", "body": f"data: {{\"i\": {i}}}\n\n".encode(),
                        "more_body": True})
            await asyncio.sleep(0.01)
        raise _Drop("scripted connection drop")

    async def _stream(self, send: Any, n: int, delay: float, sid: str, linger: float = 0) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        try:
            for i in range(n):
                self.record("chunk", sid, i, time.monotonic())
                await send({"type": "http.response.body",
                            "body": f"data: {{\"i\": {i}}}\n\n".encode(), "more_body": True})
                await asyncio.sleep(delay)
            if linger:  # [DONE] first, the end of the HTTP body only later (some servers do)
                await send({"type": "http.response.body", "body": b"data: [DONE]\n\n",
                            "more_body": True})
                await asyncio.sleep(linger)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send({"type": "http.response.body", "body": b"data: [DONE]\n\n",
                            "more_body": False})
            self.record("done", sid)
        except asyncio.CancelledError:
            self.record("cancelled", sid)
            raise


async def _json(send: Any, status: int, obj: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(obj).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def run_upstream(app: ScriptedUpstream | None = None) -> Iterator[tuple[ScriptedUpstream, str]]:
    """Serve the scripted upstream on 127.0.0.1 with a free port in a background thread."""
    app = app or ScriptedUpstream()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", lifespan="off", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    server.capture_signals = _no_signals  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10, interval=0.01, what="the scripted upstream")
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def _no_signals() -> Iterator[None]:
    yield
