"""A minimal, fast OpenAI-shaped upstream for the overhead benchmark (run as a process).

POST /v1/chat/completions -> a fixed JSON completion, or with ``"stream": true`` an SSE stream of
CHUNKS chunks sent back to back. Header ``x-bench-delay-ms: N`` or ``"user": "delay-N"`` in the
body (which every proxy forwards) adds N ms of service time.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys

import uvicorn

CHUNKS = 8
DELAY_IN_BODY = re.compile(rb'"user"\s*:\s*"delay-(\d+)"')
BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Benchmark answer. " * 8},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 32, "total_tokens": 42},
}).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
SSE = [
    b"data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "bench",
                            "choices": [{"index": 0, "delta": {"content": f"tok{i} "},
                                         "finish_reason": None}]}).encode() + b"\n\n"
    for i in range(CHUNKS)
] + [b"data: [DONE]\n\n"]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    for name, value in scope["headers"]:
        if name == b"x-bench-delay-ms":  # simulated model service time
            await asyncio.sleep(int(value) / 1000)
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            break
    delay = DELAY_IN_BODY.search(body)  # service time a proxy cannot drop (headers it may)
    if delay:
        await asyncio.sleep(int(delay.group(1)) / 1000)
    if b'"stream": true' in body or b'"stream":true' in body:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for chunk in SSE:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False,
                loop="uvloop", http="httptools", lifespan="off")
