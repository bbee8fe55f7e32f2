"""Real-shaped OpenAI-compatible payloads (validated against the openai SDK's own types) in,
exact texts out; plus every way a captured body can be broken."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import random
import zlib
from typing import Any

import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from monitor.analysis.extract import (
    Exchange,
    ExtractError,
    extract,
    route_kind,
    system_prompt_sha256,
)

CHAT = "/v1/chat/completions"
COMPL = "/v1/completions"
RESP = "/v1/responses"
JSON_CT = "application/json"
SSE_CT = "text/event-stream; charset=utf-8"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def sse(*events: Any, done: bool = True, eol: str = "\n") -> bytes:
    out = "".join(f"data: {json.dumps(e)}{eol}{eol}" for e in events)
    if done:
        out += f"data: [DONE]{eol}{eol}"
    return out.encode()


def run(route: str, request: Any, response: bytes, *, ctype: str | None = JSON_CT,
        encoding: str | None = None, status: int = 200) -> Exchange:
    body = request if isinstance(request, bytes) else dumps(request)
    ex = extract(route, body, response, response_content_type=ctype,
                 response_content_encoding=encoding, status=status)
    assert ex is not None
    return ex


# ------------------------------------------------------------------------------------ fixtures

CHAT_REQUEST = {
    "model": "gemma-3-270m",
    "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "lookup", "arguments": "{\"q\": \"cat\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "A cat on a mat."},
        {"role": "user", "content": "Thanks, and the colour?"},
    ],
    "temperature": 0,
}
CHAT_PROMPT = ("user: What is in this picture?\n[image]\n"
               "assistant: [tool_call lookup({\"q\": \"cat\"})]\n"
               "tool: A cat on a mat.\n"
               "user: Thanks, and the colour?")
CHAT_SYSTEM = "You are a terse assistant.\n\nAnswer in English."

CHAT_RESPONSE = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1763870000,
    "model": "gemma-3-270m-it-Q4_K_M.gguf",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "The cat is ginger."}}],
    "usage": {"prompt_tokens": 41, "completion_tokens": 6, "total_tokens": 47},
}
TOOL_RESPONSE = {
    "id": "chatcmpl-2", "object": "chat.completion", "created": 1763870000, "model": "gpt-x",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
        "role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"id": "call_b", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}}]}}],
}


def chunk(delta: dict[str, Any] | None, finish: str | None = None, *, index: int = 0,
          model: str = "gemma-3-270m-it-Q4_K_M.gguf", usage: dict[str, Any] | None = None,
          choices: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "chatcmpl-9", "object": "chat.completion.chunk",
                           "created": 1763870000, "model": model, "choices": []}
    if choices:
        out["choices"] = [{"index": index, "delta": delta or {}, "logprobs": None,
                           "finish_reason": finish}]
    if usage is not None:
        out["usage"] = usage
    return out


CHAT_STREAM_EVENTS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "The cat"}),
    chunk({"content": " is gin"}),
    chunk({"content": "ger. é😀"}),
    chunk({}, "stop"),
    chunk(None, usage={"prompt_tokens": 41, "completion_tokens": 7, "total_tokens": 48},
          choices=False),
]
TOOL_STREAM_EVENTS = [
    chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_a", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "ty\": \"Paris\"}"}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                           "function": {"name": "get_time", "arguments": "{}"}}]}),
    chunk({}, "tool_calls"),
]


def compl_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "cmpl-3", "object": "text_completion", "created": 1763870000,
            "model": "gemma-3-270m", "choices": [{"index": 0, "text": text, "logprobs": None,
                                                  "finish_reason": finish}]}


COMPL_RESPONSE = {
    "id": "cmpl-3", "object": "text_completion", "created": 1763870000, "model": "gemma-3-270m",
    "choices": [{"index": 0, "text": " Paris.", "logprobs": None, "finish_reason": "stop"},
                {"index": 1, "text": " Berlin.", "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
}

RESPONSES_RESPONSE = {
    "id": "resp_1", "object": "response", "created_at": 1763870000, "model": "gpt-x",
    "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Hi there.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup",
         "arguments": "{\"q\":\"x\"}", "status": "completed"},
    ],
    "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8,
              "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
              "output_tokens_details": {"reasoning_tokens": 0}},
}


def test_fixtures_match_the_openai_sdk_types() -> None:
    """Guards the fixtures' realism: the official SDK parses every one of them."""
    ChatCompletion.model_validate(CHAT_RESPONSE)
    ChatCompletion.model_validate(TOOL_RESPONSE)
    for event in CHAT_STREAM_EVENTS + TOOL_STREAM_EVENTS:
        ChatCompletionChunk.model_validate(event)
    Completion.model_validate(COMPL_RESPONSE)
    Completion.model_validate(compl_chunk("x", "stop"))
    Response.model_validate(RESPONSES_RESPONSE)


# ------------------------------------------------------------------------------- chat and tools

def test_chat_non_streaming_with_parts_tools_and_system() -> None:
    ex = run(CHAT, CHAT_REQUEST, dumps(CHAT_RESPONSE))
    assert ex == Exchange(route=CHAT, prompt=CHAT_PROMPT, system_prompt=CHAT_SYSTEM,
                          response="The cat is ginger.", finish_reason="stop",
                          model="gemma-3-270m-it-Q4_K_M.gguf", streamed=False,
                          usage={"prompt_tokens": 41, "completion_tokens": 6,
                                 "total_tokens": 47}, error=None)


def test_chat_response_with_only_tool_calls() -> None:
    ex = run(CHAT, {"messages": [{"role": "user", "content": "Weather?"}]}, dumps(TOOL_RESPONSE))
    assert ex.prompt == "user: Weather?"
    assert ex.system_prompt is None
    assert ex.response == ('[tool_call get_weather({"city": "Paris"})]\n'
                           "[tool_call get_time({})]")
    assert ex.finish_reason == "tool_calls"
    assert ex.model == "gpt-x"


def test_chat_refusal_field_used_when_content_is_null() -> None:
    body = json.loads(json.dumps(CHAT_RESPONSE))
    body["choices"][0]["message"] = {"role": "assistant", "content": None,
                                     "refusal": "I can't help with that."}
    assert run(CHAT, CHAT_REQUEST, dumps(body)).response == "I can't help with that."


def test_chat_stream_reassembles_deltas_and_usage() -> None:
    ex = run(CHAT, {**CHAT_REQUEST, "stream": True}, sse(*CHAT_STREAM_EVENTS), ctype=SSE_CT)
    assert ex == Exchange(route=CHAT, prompt=CHAT_PROMPT, system_prompt=CHAT_SYSTEM,
                          response="The cat is ginger. é😀", finish_reason="stop",
                          model="gemma-3-270m-it-Q4_K_M.gguf", streamed=True,
                          usage={"prompt_tokens": 41, "completion_tokens": 7,
                                 "total_tokens": 48}, error=None)


def test_chat_stream_with_crlf_comments_and_multiline_data() -> None:
    first = json.dumps(chunk({"role": "assistant", "content": "Hel"}))
    split_at = first.index('"choices"')
    body = (": keep-alive\r\n\r\n"
            f"data: {first[:split_at]}\r\ndata: {first[split_at:]}\r\n\r\n"
            f"event: message\r\ndata:{json.dumps(chunk({'content': 'lo'}))}\r\n\r\n"
            f"data: {json.dumps(chunk({}, 'stop'))}\r\n\r\n"
            ": trailing comment\r\n"
            "data: [DONE]\r\n\r\n").encode()
    ex = run(CHAT, {"messages": []}, body, ctype=SSE_CT)
    assert (ex.response, ex.finish_reason, ex.error, ex.prompt) == ("Hello", "stop", None, "")


def test_chat_stream_tool_call_deltas() -> None:
    ex = run(CHAT, {"messages": [{"role": "user", "content": "Weather?"}]},
             sse(*TOOL_STREAM_EVENTS), ctype=SSE_CT)
    assert ex.response == ('[tool_call get_weather({"city": "Paris"})]\n'
                           "[tool_call get_time({})]")
    assert ex.finish_reason == "tool_calls"


def test_stream_with_two_choices_keeps_index_zero() -> None:
    events = [chunk({"content": "A"}, index=1), chunk({"content": "x"}, index=0),
              chunk({"content": "B"}, index=1), chunk({"content": "y"}, index=0),
              chunk({}, "length", index=1), chunk({}, "stop", index=0)]
    ex = run(CHAT, {"messages": [], "n": 2}, sse(*events), ctype=SSE_CT)
    assert (ex.response, ex.finish_reason) == ("xy", "stop")


def test_stream_is_sniffed_when_content_type_is_missing() -> None:
    ex = run(CHAT, {"messages": []}, sse(*CHAT_STREAM_EVENTS), ctype=None)
    assert ex.streamed and ex.response == "The cat is ginger. é😀"


def test_truncated_stream_keeps_complete_events() -> None:
    full = sse(*CHAT_STREAM_EVENTS, done=True)
    cut = full[: full.index(b"ger.") + 2]  # mid-way through the 4th event's JSON
    ex = run(CHAT, {"messages": []}, cut, ctype=SSE_CT)
    assert (ex.response, ex.finish_reason, ex.error) == ("The cat is gin", None,
                                                         "stream truncated")
    assert ex.streamed


def test_stream_cut_after_finish_reason_is_not_an_error() -> None:
    ex = run(CHAT, {"messages": []}, sse(*CHAT_STREAM_EVENTS[:5], done=False), ctype=SSE_CT)
    assert (ex.response, ex.finish_reason, ex.error) == ("The cat is ginger. é😀", "stop", None)


def test_stream_error_event_is_reported() -> None:
    events = [chunk({"content": "Par"}),
              {"error": {"message": "upstream overloaded", "type": "server_error"}}]
    ex = run(CHAT, {"messages": []}, sse(*events, done=False), ctype=SSE_CT)
    assert (ex.response, ex.error) == ("Par", "upstream overloaded")


def test_stream_with_a_malformed_complete_event_raises() -> None:
    body = b'data: {"choices": [}\n\ndata: [DONE]\n\n'
    with pytest.raises(ExtractError, match="^response: malformed JSON in an SSE event$"):
        run(CHAT, {"messages": []}, body, ctype=SSE_CT)


def test_stream_without_any_event_raises() -> None:
    with pytest.raises(ExtractError, match="no SSE data events"):
        run(CHAT, {"messages": []}, b": just a comment\n\n", ctype=SSE_CT)


# --------------------------------------------------------------------------------- completions

def test_completions_non_streaming_first_choice_and_prompt_list() -> None:
    ex = run(COMPL, {"model": "gemma", "prompt": ["The capital of France is",
                                                  "The capital of Germany is"], "n": 1},
             dumps(COMPL_RESPONSE))
    assert ex == Exchange(route=COMPL, prompt="The capital of France is\nThe capital of Germany is",
                          system_prompt=None, response=" Paris.", finish_reason="stop",
                          model="gemma-3-270m", streamed=False,
                          usage={"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
                          error=None)


@pytest.mark.parametrize(("prompt", "expected"), [
    ("Once upon", "Once upon"), ([1, 2, 3], "[3 tokens]"),
    ([[1, 2], [3]], "[2 tokens]\n[1 tokens]"), (None, ""),
])
def test_completions_prompt_forms(prompt: Any, expected: str) -> None:
    assert run(COMPL, {"prompt": prompt}, dumps(COMPL_RESPONSE)).prompt == expected


def test_completions_stream_with_query_string_route() -> None:
    events = [compl_chunk(" Par"), compl_chunk("is"), compl_chunk(".", "length")]
    ex = run(COMPL + "?debug=1", {"prompt": "Capital:", "model": "req-model", "stream": True},
             sse(*events), ctype=SSE_CT)
    assert (ex.route, ex.prompt, ex.response, ex.finish_reason, ex.model, ex.streamed) == (
        COMPL, "Capital:", " Paris.", "length", "gemma-3-270m", True)


def test_model_comes_from_the_answer_never_the_request() -> None:
    """The request's model is the client's word (issue 13, finding 4)."""
    body = {"choices": [{"index": 0, "text": "ok", "finish_reason": "stop"}]}
    assert run(COMPL, {"prompt": "x", "model": "req-model"}, dumps(body)).model is None
    error = {"error": {"message": "rate limited", "type": "rate"}}
    assert run(COMPL, {"prompt": "x", "model": "req-model"}, dumps(error), status=429).model is None
    body = {"model": "a\udfff\u001bb" + "x" * 400,
            "choices": [{"index": 0, "text": "ok", "finish_reason": "st\ud800op"}]}
    ex = run(COMPL, {"prompt": "x"}, json.dumps(body).encode())
    assert ex.model == "a\ufffd\ufffdb" + "x" * 252 and ex.finish_reason == "st\ufffdop"


def test_a_request_body_is_decoded_per_its_content_encoding() -> None:
    import zstandard

    body = zstandard.ZstdCompressor().compress(dumps(CHAT_REQUEST))
    ex = extract(CHAT, body, dumps(CHAT_RESPONSE), response_content_type=JSON_CT,
                 response_content_encoding=None, status=200, request_content_encoding="zstd")
    assert ex is not None and ex.prompt == CHAT_PROMPT


# ----------------------------------------------------------------------------------- responses

def test_responses_non_streaming() -> None:
    request = {"model": "gpt-x", "instructions": "Be kind.", "input": [
        {"role": "developer", "content": "No emojis."},
        {"role": "user", "content": [{"type": "input_text", "text": "Hi"},
                                     {"type": "input_image", "image_url": "https://x/y.png"}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ]}
    ex = run(RESP, request, dumps(RESPONSES_RESPONSE))
    assert (ex.prompt, ex.system_prompt) == (
        "user: Hi\n[image]\nassistant: [tool_call lookup({})]\ntool: 42", "Be kind.\n\nNo emojis.")
    assert (ex.response, ex.finish_reason, ex.model) == (
        'Hi there.\n[tool_call lookup({"q":"x"})]', "stop", "gpt-x")
    assert ex.usage == RESPONSES_RESPONSE["usage"]


def test_responses_incomplete_maps_to_length() -> None:
    body = {**RESPONSES_RESPONSE, "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"}}
    assert run(RESP, {"input": "Hi"}, dumps(body)).finish_reason == "length"


def test_responses_stream() -> None:
    partial = {**RESPONSES_RESPONSE, "status": "in_progress", "output": []}
    events = [
        {"type": "response.created", "sequence_number": 0, "response": partial},
        {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1",
         "output_index": 1, "content_index": 0, "delta": "Hi ", "logprobs": []},
        {"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1",
         "output_index": 1, "content_index": 0, "delta": "there.", "logprobs": []},
        {"type": "response.completed", "sequence_number": 3, "response": RESPONSES_RESPONSE},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    ex = run(RESP, {"input": "Hi", "stream": True}, body, ctype=SSE_CT)
    assert (ex.prompt, ex.response, ex.finish_reason, ex.streamed, ex.error) == (
        "user: Hi", 'Hi there.\n[tool_call lookup({"q":"x"})]', "stop", True, None)
    # cut before the terminal event: the deltas are kept and the cut is reported
    cut = body[: body.index(b"event: response.completed")]
    ex = run(RESP, {"input": "Hi", "stream": True}, cut, ctype=SSE_CT)
    assert (ex.response, ex.finish_reason, ex.error, ex.model) == (
        "Hi there.", None, "stream truncated", "gpt-x")


# ------------------------------------------------------------------------- encodings and bytes

@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "GZIP"])
def test_content_encoding_is_decoded(encoding: str) -> None:
    raw = dumps(CHAT_RESPONSE)
    if encoding.lower() in ("gzip", "x-gzip"):
        body = gzip.compress(raw)
    elif encoding == "deflate":
        body = zlib.compress(raw)
    else:
        c = zlib.compressobj(wbits=-15)
        body, encoding = c.compress(raw) + c.flush(), "deflate"
    assert run(CHAT, CHAT_REQUEST, body, encoding=encoding).response == "The cat is ginger."


def test_gzip_of_a_truncated_stream_keeps_what_decoded() -> None:
    """A server gzips a stream with a sync flush per event; the capture stops mid-4th event."""
    gz = zlib.compressobj(wbits=31)
    pieces = [gz.compress(sse(event, done=False)) + gz.flush(zlib.Z_SYNC_FLUSH)
              for event in CHAT_STREAM_EVENTS]
    body = b"".join(pieces[:3]) + pieces[3][: len(pieces[3]) // 2]
    ex = run(CHAT, CHAT_REQUEST, body, ctype=SSE_CT, encoding="gzip")
    assert (ex.response, ex.finish_reason, ex.error, ex.streamed) == (
        "The cat is gin", None, "stream truncated", True)


def test_stream_cut_inside_its_first_event_is_truncated_not_unparseable() -> None:
    ex = run(CHAT, CHAT_REQUEST, sse(*CHAT_STREAM_EVENTS)[:40], ctype=SSE_CT)
    assert (ex.response, ex.finish_reason, ex.error, ex.model) == (
        "", None, "stream truncated", None)  # the request's model is not the answer's


def test_gzipped_request_body_is_read() -> None:
    ex = run(CHAT, gzip.compress(dumps(CHAT_REQUEST)), dumps(CHAT_RESPONSE))
    assert ex.prompt == CHAT_PROMPT


def test_corrupt_gzip_and_unknown_encoding_raise() -> None:
    with pytest.raises(ExtractError, match="^response: corrupt gzip data$"):
        run(CHAT, CHAT_REQUEST, b"\x1f\x8bnot gzip at all", encoding="gzip")
    with pytest.raises(ExtractError, match="unsupported content-encoding 'compress'"):
        run(CHAT, CHAT_REQUEST, b"\x1f\x9d\x90", encoding="compress")


def test_decompression_bomb_is_refused() -> None:
    body = gzip.compress(b" " * 200_000)
    with pytest.raises(ExtractError, match="decoded body exceeds 1000 bytes"):
        extract(CHAT, dumps(CHAT_REQUEST), body, response_content_type=JSON_CT,
                response_content_encoding="gzip", status=200, max_decoded_bytes=1000)


def test_invalid_utf8_and_lone_surrogates_are_replaced() -> None:
    body = dumps(CHAT_RESPONSE).replace(b"ginger", b"gin\xff\xfeger")
    assert run(CHAT, CHAT_REQUEST, body).response == "The cat is gin\ufffd\ufffdger."
    request = b'{"messages": [{"role": "user", "content": "bad \\ud800 esc \xc3"}]}'
    ex = run(CHAT, request, dumps(CHAT_RESPONSE))
    assert ex.prompt == "user: bad \ufffd esc \ufffd"
    ex.prompt.encode("utf-8")  # always encodable


# ------------------------------------------------------------------------------ broken bodies

SECRET_TEXT = "MY-PRIVATE-PROMPT-TEXT"


@pytest.mark.parametrize(("request_body", "response_body", "message"), [
    (b"", dumps(CHAT_RESPONSE), "request: empty body"),
    (b"  \n", dumps(CHAT_RESPONSE), "request: empty body"),
    (b'{"messages": [{"content": "' + SECRET_TEXT.encode() + b'"', dumps(CHAT_RESPONSE),
     "request: invalid JSON"),
    (b'["' + SECRET_TEXT.encode() + b'"]', dumps(CHAT_RESPONSE),
     "request: JSON body is not an object"),
    (b'{"prompt": "x"}', dumps(CHAT_RESPONSE), "request: 'messages' is missing or not a list"),
    (dumps(CHAT_REQUEST), b"", "response: empty body"),
    (dumps(CHAT_REQUEST), b'{"choices": [{"message": "' + SECRET_TEXT.encode() + b'"',
     "response: invalid JSON"),
    (dumps(CHAT_REQUEST), b'"' + SECRET_TEXT.encode() + b'"',
     "response: JSON body is not an object"),
    (dumps(CHAT_REQUEST), b'{"object": "chat.completion"}',
     "response: 'choices' is missing or not a list"),
    (dumps(CHAT_REQUEST), b"[" * 100_000, "response: invalid JSON"),
])
def test_unparseable_bodies_raise_without_payload(request_body: bytes, response_body: bytes,
                                                  message: str) -> None:
    with pytest.raises(ExtractError) as info:
        extract(CHAT, request_body, response_body, response_content_type=JSON_CT,
                response_content_encoding=None, status=200)
    assert str(info.value).startswith(message)
    assert SECRET_TEXT not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("status", "body", "ctype", "error"), [
    (400, dumps({"error": {"message": "This model's maximum context length is 2048 tokens",
                           "type": "invalid_request_error", "param": "messages", "code": None}}),
     JSON_CT, "This model's maximum context length is 2048 tokens"),
    (500, dumps({"error": "llama_decode failed"}), JSON_CT, "llama_decode failed"),
    (422, dumps({"detail": "Field required"}), JSON_CT, "Field required"),
    (502, b"<html><body>Bad Gateway</body></html>", "text/html", "HTTP 502"),
    (503, b"", None, "HTTP 503"),
    (200, dumps({"error": {"message": "backend busy", "type": "server_error"}}), JSON_CT,
     "backend busy"),
    (400, dumps({"error": {"message": "x" * 1000}}), JSON_CT, "x" * 300),
])
def test_upstream_errors_become_exchange_errors(status: int, body: bytes, ctype: str | None,
                                                error: str) -> None:
    ex = run(CHAT, CHAT_REQUEST, body, ctype=ctype, status=status)
    assert (ex.error, ex.response, ex.finish_reason, ex.prompt) == (error, "", None, CHAT_PROMPT)


def test_other_routes_are_not_analysed() -> None:
    for route in ("/v1/models", "/v1/embeddings", "/health", "/v1/responses/resp_1/cancel"):
        assert extract(route, b"not json", b"", response_content_type=None,
                       response_content_encoding=None, status=200) is None
    assert [route_kind(r) for r in (CHAT, COMPL, RESP, "/chat/completions/")] == [
        "chat", "completions", "responses", "chat"]


def test_exchange_is_frozen() -> None:
    ex = run(CHAT, CHAT_REQUEST, dumps(CHAT_RESPONSE))
    with pytest.raises(AttributeError):
        ex.prompt = "x"  # type: ignore[misc]


def test_system_prompt_sha256_strips_whitespace_only() -> None:
    expected = hashlib.sha256("Tu es un assistant – bref.".encode()).hexdigest()
    assert system_prompt_sha256("\n Tu es un assistant – bref.\t\n") == expected
    assert system_prompt_sha256("a  b") != system_prompt_sha256("a b")
    assert len(system_prompt_sha256("\ud800")) == 64  # lone surrogate still hashes


def test_legacy_function_call_and_responses_error_event() -> None:
    events = [chunk({"role": "assistant", "function_call": {"name": "f", "arguments": "{\"a\""}}),
              chunk({"function_call": {"arguments": ": 1}"}}), chunk({}, "function_call")]
    ex = run(CHAT, {"messages": []}, sse(*events), ctype=SSE_CT)
    assert (ex.response, ex.finish_reason) == ('[tool_call f({"a": 1})]', "function_call")
    body = (b'event: error\ndata: {"type": "error", "code": "rate_limit", '
            b'"message": "Rate limit reached", "param": null, "sequence_number": 0}\n\n')
    ex = run(RESP, {"input": "Hi"}, body, ctype=SSE_CT)
    assert (ex.response, ex.error) == ("", "Rate limit reached")


def test_corrupt_gzipped_request_and_brotli() -> None:
    with pytest.raises(ExtractError, match="^request: corrupt gzip data$"):
        run(CHAT, b"\x1f\x8b\x08garbage", dumps(CHAT_RESPONSE))
    import brotli

    assert run(CHAT, CHAT_REQUEST, brotli.compress(dumps(CHAT_RESPONSE)),
               encoding="br").response == "The cat is ginger."


_ODD_VALUES: list[Any] = [None, 1, 1.5, True, "s", "", [], {}, [None], ["x"], {"a": 1},
                          [{"type": "text"}], [{"index": "a"}], {"function": "x"}, [[1]]]


def _mutate(obj: Any, rng: random.Random) -> Any:
    if isinstance(obj, dict):
        obj = {k: _mutate(v, rng) for k, v in obj.items()}
        if obj and rng.random() < 0.3:
            obj[rng.choice(list(obj))] = copy.deepcopy(rng.choice(_ODD_VALUES))
        return obj
    if isinstance(obj, list):
        obj = [_mutate(v, rng) for v in obj]
        if rng.random() < 0.2:
            obj.append(copy.deepcopy(rng.choice(_ODD_VALUES)))
    return obj


def test_odd_shapes_and_broken_bytes_give_an_exchange_or_extract_error_only() -> None:
    """Seeded fuzzing: values swapped for other JSON types, bytes flipped, bodies cut. The caller
    relies on no exception other than ExtractError."""
    rng = random.Random(11)
    cases = [(CHAT, CHAT_REQUEST, [CHAT_RESPONSE], False),
             (CHAT, CHAT_REQUEST, [TOOL_RESPONSE], False),
             (CHAT, CHAT_REQUEST, CHAT_STREAM_EVENTS + TOOL_STREAM_EVENTS, True),
             (COMPL, {"prompt": ["a"]}, [COMPL_RESPONSE], False),
             (RESP, {"instructions": "i", "input": [{"role": "user", "content": "x"}]},
              [RESPONSES_RESPONSE], False),
             (RESP, {"input": "x"},
              [{"type": "response.output_text.delta", "delta": "x"},
               {"type": "response.completed", "response": RESPONSES_RESPONSE}], True)]
    outcomes = {"exchange": 0, "error": 0}
    for _ in range(1500):
        route, request, events, stream = rng.choice(cases)
        req_body = dumps(_mutate(request, rng))
        resp = [_mutate(e, rng) for e in events]
        body = bytearray(sse(*resp) if stream else dumps(resp[0]))
        for _ in range(rng.randint(0, 2)):
            pos = rng.randrange(len(body))
            if rng.random() < 0.5:
                body[pos] = rng.randrange(256)
            else:
                del body[pos:]
        try:
            extract(route, req_body, bytes(body), response_content_type=rng.choice([None, SSE_CT]
                    if stream else [None, JSON_CT]), response_content_encoding=None,
                    status=rng.choice([200, 200, 500]))
            outcomes["exchange"] += 1
        except ExtractError:
            outcomes["error"] += 1
    assert outcomes["exchange"] > 300 and outcomes["error"] > 100, outcomes


# ------------------------------------------------------------------- real llama.cpp server

@pytest.mark.llm
def test_real_llama_cpp_bytes_streamed_equal_non_streamed(gemma: str) -> None:
    """Raw bytes from llama-cpp-python's server (Gemma 3 270M, greedy): the reassembled stream
    equals the non-streamed answer for both routes, and every field is filled in."""
    import httpx

    params = {"temperature": 0.0, "seed": 7, "max_tokens": 12}
    cases = [(COMPL, {"prompt": "The three primary colours are", **params}),
             (CHAT, {"messages": [{"role": "system", "content": "Be terse."},
                                  {"role": "user", "content": "Name a colour."}], **params})]
    with httpx.Client(base_url=gemma, timeout=120) as client:
        for route, request in cases:
            got = {}
            for stream in (False, True):
                body = dumps({**request, "stream": stream})
                r = client.post(route, content=body, headers={"content-type": JSON_CT})
                assert r.status_code == 200
                got[stream] = extract(route, body, r.content,
                                      response_content_type=r.headers.get("content-type"),
                                      response_content_encoding=r.headers.get(
                                          "content-encoding"), status=r.status_code)
            plain, streamed = got[False], got[True]
            assert plain is not None and streamed is not None
            assert (plain.streamed, streamed.streamed) == (False, True)
            assert streamed.response == plain.response
            assert streamed.finish_reason == plain.finish_reason in ("stop", "length")
            assert streamed.model == plain.model and plain.model
            assert plain.usage and plain.usage["completion_tokens"] > 0
            assert streamed.error is None and plain.error is None
            if route == CHAT:
                assert (plain.prompt, plain.system_prompt) == ("user: Name a colour.", "Be terse.")
            else:
                assert plain.response.strip()  # Gemma base completes text well
