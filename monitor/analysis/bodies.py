"""Captured bodies as bytes -> something to parse: Content-Encoding decoding with a size cap,
lenient JSON, and Server-Sent Events tokenising. Errors are :class:`ExtractError` whose message
names the part and the reason, never payload text.

>>> decode_content(__import__("gzip").compress(b'{"a": 1}'), "gzip", 1024)
b'{"a": 1}'
>>> list(sse_events('event: x\\ndata: {"a":1}\\n\\n: comment\\ndata: tail'))
[('x', '{"a":1}', True), (None, 'tail', False)]
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

MAX_DECODED = 64 * 2**20
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")


class ExtractError(ValueError):
    """The captured body could not be parsed; the message is short and carries no payload."""


class _Corrupt(ExtractError):
    """Compressed data that does not decode (lets deflate retry without the zlib wrapper)."""


def _inflate(data: bytes, wbits: int, limit: int, part: str) -> bytes:
    """zlib/gzip/raw deflate; a truncated stream yields what it had, as the client saw it."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, limit + 1) + d.flush()
    except zlib.error:
        raise _Corrupt(f"{part}: corrupt {'gzip' if wbits == 31 else 'deflate'} data") from None
    if len(out) > limit or d.unconsumed_tail:
        raise ExtractError(f"{part}: decoded body exceeds {limit} bytes")
    return out


def decode_content(body: bytes, encoding: str | None, limit: int,
                   part: str = "response") -> bytes:
    """Undo ``encoding`` (a Content-Encoding value, codings applied in order) with a size cap."""
    for coding in reversed([c.strip().lower() for c in (encoding or "").split(",")]):
        if coding in ("identity", "") or not body:
            continue
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, 31, limit, part)
        elif coding == "deflate":
            try:
                body = _inflate(body, 15, limit, part)
            except _Corrupt:  # many servers send raw deflate without the zlib wrapper
                body = _inflate(body, -15, limit, part)
        elif coding == "br":
            try:
                import brotli  # type: ignore[import-not-found]  # optional dependency
            except ImportError:
                raise ExtractError(f"{part}: content-encoding 'br' needs brotli") from None
            try:
                body = brotli.decompress(body)
            except Exception:  # brotli.error has no stable import path across bindings
                raise ExtractError(f"{part}: corrupt br data") from None
            if len(body) > limit:
                raise ExtractError(f"{part}: decoded body exceeds {limit} bytes")
        else:
            raise ExtractError(f"{part}: unsupported content-encoding {coding[:20]!r}")
    return body


def load_json(body: bytes, part: str) -> Any:
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise ExtractError(f"{part}: empty body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractError(f"{part}: invalid JSON ({exc.msg} at char {exc.pos})") from None
    except (ValueError, RecursionError):
        raise ExtractError(f"{part}: invalid JSON") from None


def looks_like_sse(body: bytes) -> bool:
    return body.lstrip()[:6].startswith((b"data:", b"event:", b":"))


def sse_events(text: str) -> Iterator[tuple[str | None, str, bool]]:
    """(event name, data, complete) per event; the last one is incomplete when the body stops
    before its terminating blank line."""
    name: str | None = None
    data: list[str] = []
    has_data = False
    for line in _LINE_SPLIT.split(text):
        if not line:
            if has_data:
                yield name, "\n".join(data), True
            name, data, has_data = None, [], False
            continue
        if line.startswith(":"):
            continue
        fname, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if fname == "data":
            data.append(value)
            has_data = True
        elif fname == "event":
            name = value
    if has_data:
        yield name, "\n".join(data), False
