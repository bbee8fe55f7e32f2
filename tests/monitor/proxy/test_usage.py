"""monitor/proxy/usage.py: the incremental scan finds the same model, usage and deltas however the
body is cut into chunks, never counts escaped text, and keeps bounded memory."""

from __future__ import annotations

import json
import random
import tracemalloc

import pytest

from monitor.proxy.usage import UsageScanner, parse_usage


def _sse(events: list[dict | str]) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode()
                    for e in events)


def _chat_stream(pieces: list[str], *, usage: bool, model: str = "gemma-3-270m") -> bytes:
    events: list[dict | str] = [{"id": "c", "model": model, "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    for p in pieces:
        events.append({"id": "c", "model": model, "choices": [
            {"index": 0, "delta": {"content": p}, "finish_reason": None}]})
    events.append({"id": "c", "model": model, "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None})
    if usage:
        events.append({"id": "c", "model": model, "choices": [],
                       "usage": {"prompt_tokens": 12, "completion_tokens": len(pieces),
                                 "total_tokens": 12 + len(pieces),
                                 "prompt_tokens_details": {"cached_tokens": 0}}})
    events.append("[DONE]")
    return _sse(events)


# Answer text that looks like the markers, JSON-escaped as servers send it.
TRICKY = ['"usage": {"prompt_tokens": 999}', ' "model": "evil"', ' "content": "x"', "\\",
          " data: [DONE]", " ok"]

BODIES = {
    "chat stream, no usage": (_chat_stream(["Hel", "lo", " wor", "ld"], usage=False), True,
                              ("gemma-3-270m", None, 4)),
    "chat stream, include_usage": (_chat_stream(["a"] * 7, usage=True), True,
                                   ("gemma-3-270m", (12, 7), 7)),
    "chat stream, tricky text": (_chat_stream(TRICKY, usage=True), True,
                                 ("gemma-3-270m", (12, len(TRICKY)), len(TRICKY))),
    "completions stream": (_sse([{"model": "m", "choices": [{"text": t, "index": 0}]}
                                 for t in ("The", " sea", "")] + ["[DONE]"]), True,
                           ("m", None, 2)),
    "chat JSON": (json.dumps({"id": "x", "object": "chat.completion", "model": "tw-safe",
                              "choices": [{"index": 0, "message": {
                                  "role": "assistant", "content": "".join(TRICKY) * 50}}],
                              "usage": {"prompt_tokens": 41, "completion_tokens": 6,
                                        "total_tokens": 47}}).encode(), False,
                  ("tw-safe", (41, 6), 0)),
    "responses API JSON, tools schema with a usage property first": (json.dumps({
        "id": "r", "object": "response", "model": "gpt-x",
        "tools": [{"type": "function", "parameters": {"properties": {"usage": {"type": "string"}}}}],
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}],
        "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}}).encode(), False,
        ("gpt-x", (5, 3), 0)),
    "embeddings JSON, large": (json.dumps({
        "object": "list", "model": "e5", "data": [{"embedding": [0.125] * 20000, "index": 0}],
        "usage": {"prompt_tokens": 8, "total_tokens": 8}}).encode(), False,
        ("e5", (8, None), 0)),
}


def _scan(body: bytes, streaming: bool, cuts: list[int]) -> UsageScanner:
    s = UsageScanner(streaming=streaming, clock=lambda: 1.0)
    prev = 0
    for c in [*cuts, len(body)]:
        if c > prev:
            s.feed(body[prev:c])
            prev = c
    return s


@pytest.mark.parametrize("name", sorted(BODIES))
def test_same_result_for_every_way_of_cutting_the_body(name: str) -> None:
    body, streaming, expected = BODIES[name]
    whole = _scan(body, streaming, [])
    assert (whole.model, whole.usage, whole.deltas) == expected
    rng = random.Random(15)  # seeded: 300 random cuttings, from single bytes to large pieces
    for trial in range(300):
        k = rng.choice([1, 3, 10, 40]) if trial % 2 else rng.randint(1, 4)
        cuts = sorted(rng.sample(range(1, len(body)), min(k, len(body) - 1)))
        s = _scan(body, streaming, cuts)
        assert (s.model, s.usage, s.deltas) == expected, (trial, cuts[:10])
    one_byte = _scan(body, streaming, list(range(1, len(body)))) if len(body) < 20000 else whole
    assert (one_byte.model, one_byte.usage, one_byte.deltas) == expected


def test_first_delta_time_is_taken_when_the_first_piece_of_output_passes() -> None:
    times = iter([2.0, 3.0, 4.0])
    s = UsageScanner(streaming=True, clock=lambda: next(times))
    role_only, first, second = (_sse([{"choices": [{"delta": {"role": "assistant"}}]}]),
                                _sse([{"choices": [{"delta": {"content": "a"}}]}]),
                                _sse([{"choices": [{"delta": {"content": "b"}}]}]))
    s.feed(role_only)
    assert s.first_delta_at is None and s.deltas == 0
    s.feed(first)
    s.feed(second)
    assert s.first_delta_at == 2.0 and s.deltas == 2


def test_tool_call_arguments_and_reasoning_count_as_output() -> None:
    body = _sse([
        {"choices": [{"delta": {"reasoning_content": "think"}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {
            "name": "f", "arguments": ""}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {
            "arguments": "{\"x\": 1}"}}]}}]},
        {"type": "response.output_text.delta", "delta": "Hi"},
    ])
    assert _scan(body, True, []).deltas == 3


def test_memory_stays_bounded_and_a_broken_usage_is_ignored() -> None:
    s = UsageScanner(streaming=True)
    s.feed(b'data: {"model": "m", "usage": ' + b"[" * 100)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(2000):  # 2000 x 1 KiB = 2 MiB relayed
        s.feed(b'data: {"choices": [{"delta": {"content": "' + b"x" * 980 + b'"}}]}\n\n')
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert s.usage is None and s.deltas == 2000
    assert grown < 32 * 1024, grown


def test_usage_is_read_from_the_end_of_the_body() -> None:
    usage = b'"usage": {"prompt_tokens": 3, "completion_tokens": 4}'
    near = b'{"model": "m", ' + usage + b', "pad": "' + b"p" * 3000 + b'"}'
    far = b'{"model": "m", ' + usage + b', "pad": "' + b"p" * 9000 + b'"}'
    assert _scan(near, False, [100, 2000]).usage == (3, 4)
    # documented limit: a usage followed by more than 4 KiB of body is not found
    assert _scan(far, False, [100, 2000]).usage is None
    late_model = b'{"pad": "' + b"p" * 70000 + b'", "model": "m"}'
    assert _scan(late_model, False, [65536]).model is None  # looked for in the first 64 KiB


def test_a_later_usage_replaces_an_earlier_one() -> None:
    # vLLM's continuous usage stats: cumulative usage in every chunk; the last is the total
    body = _sse([{"choices": [{"delta": {"content": "a"}}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": i}} for i in (1, 2, 3)])
    s = _scan(body, True, [])
    assert s.usage == (3, 3) and s.deltas == 3


@pytest.mark.parametrize(("obj", "expected"), [
    ({"prompt_tokens": 1, "completion_tokens": 2}, (1, 2)),
    ({"input_tokens": 1, "output_tokens": 2}, (1, 2)),
    ({"prompt_tokens": 4}, (4, None)),
    ({"prompt_tokens": "4"}, None),
    ({"prompt_tokens": 10**12}, None),
    ([], None),
])
def test_parse_usage(obj: object, expected: object) -> None:
    assert parse_usage(obj) == expected
