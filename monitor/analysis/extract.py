"""Turn a captured OpenAI-compatible request/response pair into texts for analysis.

Routes (matched on the path without query string, with or without a ``/v1`` prefix):
``/v1/chat/completions``, ``/v1/completions`` and, best effort, ``/v1/responses``; for any other
route :func:`extract` returns ``None``.

Texts:
- ``prompt``: the conversation turns joined by ``"\\n"``, each as ``"<role>: <text>"`` (chat and
  responses), or the raw prompt (completions; a list of prompts is joined by ``"\\n"``, token-id
  prompts become ``"[N tokens]"``). Content given as a list of parts keeps its text parts joined by
  ``"\\n"``; other parts become markers such as ``[image]``. Assistant tool calls are written
  ``[tool_call NAME(ARGUMENTS)]``.
- ``system_prompt``: the system and developer messages (or ``instructions``) joined by ``"\\n\\n"``,
  ``None`` when there is none.
- ``response``: the text of the choice with the lowest index (other choices are ignored), its
  refusal text when there is no content, then one ``[tool_call ...]`` line per tool call.
- ``finish_reason``: the last one seen for that choice. ``/v1/responses`` statuses are mapped to the
  chat vocabulary: completed -> ``stop``, incomplete max_output_tokens -> ``length``,
  content_filter -> ``content_filter``.
- ``model``: the ``model`` of the upstream's answer, never the request's (the request is the
  client's word; only the upstream says what answered), one line of at most 256 characters
  (redact it before storing: an upstream may echo what the client sent).
- ``error``: the upstream's error message (first 300 characters; may echo user text, so redact it
  like the other texts), ``"HTTP <status>"`` when an error status has no readable message, or
  ``"stream truncated"`` when a stream ended without ``[DONE]``/a terminal event and without any
  finish reason.

Bodies are decoded per ``Content-Encoding`` (gzip, deflate, br, zstd; a request body without a
declared encoding is still read as gzip when it starts with the gzip magic), then as UTF-8 with ``errors="replace"``; lone surrogates from JSON escapes become U+FFFD. A body
that cannot be understood raises :class:`ExtractError` whose message names the part and the
reason, never payload text.

>>> req = b'{"model": "gemma", "messages": [{"role": "system", "content": "Be brief."},'
>>> req += b' {"role": "user", "content": "Hi"}]}'
>>> resp = b'{"model": "gemma-3-270m", "choices": [{"index": 0, "finish_reason": "stop",'
>>> resp += b' "message": {"role": "assistant", "content": "Hello!"}}]}'
>>> ex = extract("/v1/chat/completions", req, resp, response_content_type="application/json",
...              response_content_encoding=None, status=200)
>>> (ex.prompt, ex.system_prompt, ex.response, ex.finish_reason, ex.model, ex.streamed)
('user: Hi', 'Be brief.', 'Hello!', 'stop', 'gemma-3-270m', False)
>>> sse = (b'data: {"model":"g","choices":[{"index":0,"text":"Hel","finish_reason":null}]}'
...        b'\\r\\n\\r\\ndata: {"choices":[{"index":0,"text":"lo","finish_reason":"length"}]}\\n\\n'
...        b'data: [DONE]\\n\\n')
>>> ex = extract("/v1/completions", b'{"prompt": "Say"}', sse,
...              response_content_type="text/event-stream", response_content_encoding=None,
...              status=200)
>>> (ex.prompt, ex.response, ex.finish_reason, ex.model, ex.streamed, ex.error)
('Say', 'Hello', 'length', 'g', True, None)
>>> extract("/v1/models", b"", b"{}", response_content_type=None,
...         response_content_encoding=None, status=200) is None
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from monitor.analysis.bodies import (
    MAX_DECODED,
    ExtractError,
    decode_content,
    load_json,
    looks_like_sse,
    sse_events,
)
from monitor.untrusted import safe_text, safe_token

__all__ = ["Exchange", "ExtractError", "extract", "route_kind", "system_prompt_sha256"]

_ERROR_CHARS = 300
_MODEL_CHARS = 256


@dataclass(frozen=True)
class Exchange:
    route: str
    prompt: str
    system_prompt: str | None
    response: str
    finish_reason: str | None
    model: str | None
    streamed: bool
    usage: dict[str, Any] | None
    error: str | None


def system_prompt_sha256(system_prompt: str) -> str:
    """Hex sha256 of the system prompt's UTF-8 bytes after stripping surrounding whitespace.

    Stripping makes a trailing newline added by a template not count as a new deployment. Lone
    surrogates are encoded with ``surrogatepass`` so every ``str`` hashes.

    >>> system_prompt_sha256("  You are a helpful assistant.\\n")
    '75357d685f238b6afd7738be9786fdafde641eb6ca9a3be7471939715a68a4de'
    >>> system_prompt_sha256("Be brief.") == system_prompt_sha256(" Be brief. ")
    True
    """
    return hashlib.sha256(system_prompt.strip().encode("utf-8", "surrogatepass")).hexdigest()


def route_kind(route: str) -> str | None:
    """``"chat"``, ``"completions"``, ``"responses"`` or ``None`` for a request path.

    >>> [route_kind(r) for r in ("/v1/chat/completions?x=1", "/completions/", "/v1/embeddings")]
    ['chat', 'completions', None]
    """
    path = route.split("?", 1)[0].rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/completions"):
        return "completions"
    if path.endswith("/responses"):
        return "responses"
    return None


def extract(route: str, request_body: bytes, response_body: bytes, *,
            response_content_type: str | None, response_content_encoding: str | None,
            status: int, max_decoded_bytes: int = MAX_DECODED,
            request_content_encoding: str | None = None) -> Exchange | None:
    """Parse one captured exchange; ``None`` for routes that are not analysed."""
    kind = route_kind(route)
    if kind is None:
        return None
    if request_content_encoding:
        request_body = decode_content(request_body, request_content_encoding, max_decoded_bytes,
                                      "request")
    elif request_body[:2] == b"\x1f\x8b":  # gzip magic without a declared encoding
        request_body = decode_content(request_body, "gzip", max_decoded_bytes, "request")
    request = load_json(request_body, "request")
    if not isinstance(request, dict):
        raise ExtractError("request: JSON body is not an object")
    if kind == "chat":
        prompt, system = _chat_prompt(request)
    elif kind == "completions":
        prompt, system = _completion_prompt(request), None
    else:
        prompt, system = _responses_prompt(request)

    body = decode_content(response_body, response_content_encoding, max_decoded_bytes)
    ctype = (response_content_type or "").lower()
    if ctype.startswith("text/event-stream") or ("json" not in ctype and looks_like_sse(body)):
        out = _parse_stream(kind, body)
    else:
        out = _parse_body(kind, body, status)
    if status >= 400 and out.error is None:
        out.error = f"HTTP {status}"
    return Exchange(
        route=route.split("?", 1)[0], prompt=_clean(prompt),
        system_prompt=None if system is None else _clean(system),
        response=_clean(out.text()), finish_reason=safe_token(out.finish_reason(), max_chars=64),
        model=safe_token(out.model, max_chars=_MODEL_CHARS), streamed=out.streamed,
        usage=out.usage, error=None if out.error is None else _clean(out.error[:_ERROR_CHARS]))


# ----------------------------------------------------------------------------------- text

def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _clean(text: str) -> str:
    return safe_text(text)


# -------------------------------------------------------------------------------------- prompts

_PART_MARKERS = {"image_url": "[image]", "input_image": "[image]", "image": "[image]",
                 "input_audio": "[audio]", "audio": "[audio]", "file": "[file]",
                 "input_file": "[file]"}


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return ""
    texts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            ptype = part.get("type")
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
            elif isinstance(ptype, str) and ptype in _PART_MARKERS:
                texts.append(_PART_MARKERS[ptype])
    return "\n".join(texts)


def _tool_call_line(name: Any, arguments: Any) -> str:
    name = name if isinstance(name, str) else "?"
    if not isinstance(arguments, str):
        arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
    return f"[tool_call {name}({arguments})]"


def _message_turn(msg: dict[str, Any]) -> str:
    c = _Choice()
    _chat_delta(c, msg)  # a whole message reads like one delta
    return c.render()


def _chat_prompt(request: dict[str, Any]) -> tuple[str, str | None]:
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise ExtractError("request: 'messages' is missing or not a list")
    turns: list[str] = []
    system: list[str] = []
    for msg in messages:
        if not isinstance(msg, dict):
            raise ExtractError("request: a message is not an object")
        role = msg.get("role") if isinstance(msg.get("role"), str) else "user"
        if role in ("system", "developer"):
            system.append(_content_text(msg.get("content")))
        else:
            turns.append(f"{role}: {_message_turn(msg)}")
    return "\n".join(turns), ("\n\n".join(system) if system else None)


def _completion_prompt(request: dict[str, Any]) -> str:
    prompt = request.get("prompt")
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        if all(isinstance(p, str) for p in prompt):
            return "\n".join(prompt)
        if all(isinstance(p, int) for p in prompt):
            return f"[{len(prompt)} tokens]"
        if all(isinstance(p, list) for p in prompt):
            return "\n".join(f"[{len(p)} tokens]" for p in prompt)
    raise ExtractError("request: 'prompt' is not a string, list of strings or token ids")


def _responses_prompt(request: dict[str, Any]) -> tuple[str, str | None]:
    system: list[str] = []
    if isinstance(request.get("instructions"), str):
        system.append(request["instructions"])
    items = request.get("input")
    turns: list[str] = []
    if isinstance(items, str):
        turns.append(f"user: {items}")
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            itype = item.get("type", "message")
            if itype == "message" or "role" in item:
                role = item.get("role") if isinstance(item.get("role"), str) else "user"
                if role in ("system", "developer"):
                    system.append(_content_text(item.get("content")))
                else:
                    turns.append(f"{role}: {_content_text(item.get('content'))}")
            elif itype == "function_call":
                turns.append("assistant: " + _tool_call_line(item.get("name"),
                                                              item.get("arguments")))
            elif itype == "function_call_output":
                turns.append(f"tool: {_content_text(item.get('output'))}")
    elif items is not None:
        raise ExtractError("request: 'input' is not a string or a list")
    return "\n".join(turns), ("\n\n".join(system) if system else None)


# ------------------------------------------------------------------------------------ responses

@dataclass
class _Choice:
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    tools: dict[int, list[Any]] = field(default_factory=dict)  # index -> [name, [arg pieces]]
    finish_reason: str | None = None

    def render(self) -> str:
        lines = ["".join(self.content) or "".join(self.refusal)]
        for _, (name, pieces) in sorted(self.tools.items()):
            lines.append(_tool_call_line(name, "".join(pieces)))
        return "\n".join(line for line in lines if line) if len(lines) > 1 else lines[0]


@dataclass
class _Output:
    streamed: bool
    choices: dict[int, _Choice] = field(default_factory=dict)
    model: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None

    def choice(self, index: Any) -> _Choice:
        key = index if isinstance(index, int) else 0
        return self.choices.setdefault(key, _Choice())

    def first(self) -> _Choice | None:
        return self.choices[min(self.choices)] if self.choices else None

    def text(self) -> str:
        c = self.first()
        return "" if c is None else c.render()

    def finish_reason(self) -> str | None:
        c = self.first()
        return None if c is None else c.finish_reason


def _error_message(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if isinstance(err, dict):
        msg = err.get("message")
        return msg if isinstance(msg, str) and msg else str(err.get("type") or "error")
    if isinstance(err, str) and err:
        return err
    for key in ("detail", "message"):
        if isinstance(obj.get(key), str) and "choices" not in obj and "output" not in obj:
            return str(obj[key])
    return None


def _parse_body(kind: str, body: bytes, status: int) -> _Output:
    out = _Output(streamed=False)
    if status >= 400:
        try:
            obj = load_json(body, "response")
        except ExtractError:
            return out  # an error page that is not JSON: "HTTP <status>" is all we can say
        out.error = _error_message(obj)
        return out
    obj = load_json(body, "response")
    if not isinstance(obj, dict):
        raise ExtractError("response: JSON body is not an object")
    out.error = _error_message(obj) if "error" in obj else None
    if isinstance(obj.get("model"), str):
        out.model = obj["model"]
    if isinstance(obj.get("usage"), dict):
        out.usage = obj["usage"]
    if kind == "responses":
        _responses_object(out, obj)
        return out
    choices = obj.get("choices")
    if choices is None and out.error is not None:
        return out
    if not isinstance(choices, list):
        raise ExtractError("response: 'choices' is missing or not a list")
    for ch in choices:
        if not isinstance(ch, dict):
            raise ExtractError("response: a choice is not an object")
        c = out.choice(ch.get("index"))
        if kind == "chat":
            msg = ch.get("message")
            _chat_delta(c, msg if isinstance(msg, dict) else {})
        elif isinstance(ch.get("text"), str):
            c.content.append(ch["text"])
        if isinstance(ch.get("finish_reason"), str):
            c.finish_reason = ch["finish_reason"]
    return out


def _chat_delta(c: _Choice, delta: dict[str, Any]) -> None:
    text = _content_text(delta.get("content"))
    if text:
        c.content.append(text)
    if isinstance(delta.get("refusal"), str):
        c.refusal.append(delta["refusal"])
    calls = list(delta["tool_calls"]) if isinstance(delta.get("tool_calls"), list) else []
    if isinstance(delta.get("function_call"), dict):  # the legacy single function call
        calls.append({"index": -1, "function": delta["function_call"]})
    for pos, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            continue
        slot = c.tools.setdefault(call["index"] if isinstance(call.get("index"), int) else pos,
                                  [None, []])
        if isinstance(fn.get("name"), str) and fn["name"]:
            slot[0] = fn["name"]
        if isinstance(fn.get("arguments"), str):
            slot[1].append(fn["arguments"])


_RESPONSES_FINISH = {"completed": "stop", "max_output_tokens": "length",
                     "content_filter": "content_filter"}


def _responses_object(out: _Output, obj: dict[str, Any]) -> None:
    c = out.choice(0)
    output = obj.get("output")
    if isinstance(output, list) and output:  # a full object replaces what deltas assembled
        c.content.clear()
        c.refusal.clear()
        c.tools.clear()
    for pos, item in enumerate(output if isinstance(output, list) else []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            parts = item.get("content")
            for part in parts if isinstance(parts, list) else []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    c.content.append(part["text"])
                elif isinstance(part, dict) and isinstance(part.get("refusal"), str):
                    c.refusal.append(part["refusal"])
        elif item.get("type") == "function_call":
            c.tools[pos] = [item.get("name"), [_str(item.get("arguments"))]]
    status = obj.get("status")
    details = obj.get("incomplete_details")
    if status == "completed":
        c.finish_reason = "stop"
    elif status == "incomplete" and isinstance(details, dict):
        reason = details.get("reason")
        c.finish_reason = (_RESPONSES_FINISH.get(reason, reason) if isinstance(reason, str)
                           else None)
    if isinstance(obj.get("error"), dict) and out.error is None:
        out.error = _error_message(obj)
    if isinstance(obj.get("model"), str):
        out.model = obj["model"]
    if isinstance(obj.get("usage"), dict):
        out.usage = obj["usage"]


def _parse_stream(kind: str, body: bytes) -> _Output:
    out = _Output(streamed=True)
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    terminal = False
    events = 0  # data events seen, including one cut short by the end of the capture
    for _name, data, complete in sse_events(text):
        events += 1
        if data.strip() == "[DONE]":
            terminal = True
            continue
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            if not complete:
                break  # the capture stopped mid-event: keep what came before
            raise ExtractError("response: malformed JSON in an SSE event") from None
        if not isinstance(chunk, dict):
            raise ExtractError("response: an SSE event is not a JSON object")
        if kind == "responses":
            terminal = _responses_event(out, chunk) or terminal
            continue
        if "error" in chunk and out.error is None:
            out.error = _error_message(chunk)
        if out.model is None and isinstance(chunk.get("model"), str):
            out.model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            out.usage = chunk["usage"]
        choices = chunk.get("choices")
        for ch in choices if isinstance(choices, list) else []:
            if not isinstance(ch, dict):
                continue
            c = out.choice(ch.get("index"))
            if kind == "chat" and isinstance(ch.get("delta"), dict):
                _chat_delta(c, ch["delta"])
            elif kind == "completions" and isinstance(ch.get("text"), str):
                c.content.append(ch["text"])
            if isinstance(ch.get("finish_reason"), str):
                c.finish_reason = ch["finish_reason"]
    if events == 0 and not terminal:
        raise ExtractError("response: no SSE data events")
    if not terminal and out.finish_reason() is None and out.error is None:
        out.error = "stream truncated"
    return out


def _responses_event(out: _Output, event: dict[str, Any]) -> bool:
    etype = event.get("type")
    if etype in ("response.output_text.delta", "response.refusal.delta"):
        delta = event.get("delta")
        if isinstance(delta, str):
            c = out.choice(0)
            (c.content if etype == "response.output_text.delta" else c.refusal).append(delta)
    elif etype == "response.output_item.done" and isinstance(event.get("item"), dict):
        item = event["item"]
        if item.get("type") == "function_call":
            index = event.get("output_index")
            pos = index if isinstance(index, int) else 0
            out.choice(0).tools[pos] = [item.get("name"), [_str(item.get("arguments"))]]
    elif etype in ("response.created", "response.in_progress"):
        resp = event.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("model"), str):
            out.model = resp["model"]
    elif etype in ("response.completed", "response.incomplete", "response.failed"):
        resp = event.get("response")
        if isinstance(resp, dict):
            _responses_object(out, resp)
        return True
    elif etype == "error":
        msg = event.get("message")
        out.error = msg if isinstance(msg, str) and msg else "error"
        return True
    return False
