"""Captured bodies as bytes -> something to parse: Content-Encoding decoding with a size cap,
lenient JSON, and Server-Sent Events tokenising. Errors are :class:`ExtractError` whose message
names the part and the reason, never payload text.

Every coding (gzip, x-gzip, deflate with or without the zlib wrapper, br, zstd) is decoded in
bounded steps: at most :data:`STEP` bytes in and :data:`STEP` bytes out per call into the codec.
Memory stops at the cap however well the input compresses (a 1 MB gzip of 1 GB is refused once
``limit`` bytes came out), and no single codec call runs long. zstd frames that ask for a window
above :data:`ZSTD_MAX_WINDOW` are refused before anything is allocated for them.

>>> decode_content(__import__("gzip").compress(b'{"a": 1}'), "gzip", 1024)
b'{"a": 1}'
>>> list(sse_events('event: x\\ndata: {"a":1}\\n\\n: comment\\ndata: tail'))
[('x', '{"a":1}', True), (None, 'tail', False)]
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import zstandard

MAX_DECODED = 8 * 2**20
STEP = 64 * 1024
ZSTD_MAX_WINDOW = 8 * 2**20
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")


class ExtractError(ValueError):
    """The captured body could not be parsed; the message is short and carries no payload."""


class _Corrupt(ExtractError):
    """Compressed data that does not decode (lets deflate retry without the zlib wrapper)."""


class _Sink:
    """Decoded bytes, refused past ``limit``."""

    def __init__(self, limit: int, part: str) -> None:
        self.out = bytearray()
        self.limit = limit
        self.part = part

    def room(self) -> int:
        """How much one step may still produce (at least 1: one byte past the cap is enough to
        know it is exceeded)."""
        return max(1, min(STEP, self.limit + 1 - len(self.out)))

    def add(self, piece: bytes) -> None:
        self.out += piece
        if len(self.out) > self.limit:
            raise ExtractError(f"{self.part}: decoded body exceeds {self.limit} bytes")


def _inflate(data: bytes, wbits: int, limit: int, part: str) -> bytes:
    """zlib/gzip/raw deflate; a truncated stream yields what it had, as the client saw it;
    concatenated gzip members are decoded one after the other."""
    name = "gzip" if wbits == 31 else "deflate"
    sink = _Sink(limit, part)
    pending = memoryview(data)
    try:
        while pending:
            d = zlib.decompressobj(wbits)
            tail = b""
            chunk: bytes | memoryview
            while True:
                if tail:
                    chunk, tail = tail, b""
                elif pending:
                    chunk, pending = pending[:STEP], pending[STEP:]
                else:
                    break
                sink.add(d.decompress(chunk, sink.room()))
                tail = d.unconsumed_tail
                if d.eof:
                    break
            if not d.eof:
                sink.add(d.flush())  # input ended: what the window still holds (< 32 KiB)
                break
            rest = d.unused_data + bytes(tail) + bytes(pending)
            pending = memoryview(rest if wbits == 31 and rest[:2] == b"\x1f\x8b" else b"")
    except zlib.error:
        raise _Corrupt(f"{part}: corrupt {name} data") from None
    return bytes(sink.out)


def _unbrotli(data: bytes, limit: int, part: str) -> bytes:
    sink = _Sink(limit, part)
    d = brotli.Decompressor()
    try:
        for pos in range(0, len(data), STEP):
            sink.add(d.process(data[pos:pos + STEP], output_buffer_limit=sink.room()))
            _drain_brotli(d, sink, until_finished=False)
        _drain_brotli(d, sink, until_finished=True)
    except brotli.error:
        raise ExtractError(f"{part}: corrupt br data") from None
    return bytes(sink.out)


def _drain_brotli(d: Any, sink: _Sink, *, until_finished: bool) -> None:
    """Output the decoder held back at the step limit, one step at a time."""
    while not (d.is_finished() if until_finished else d.can_accept_more_data()):
        piece = d.process(b"", output_buffer_limit=sink.room())
        if not piece:
            return
        sink.add(piece)


def _unzstd(data: bytes, limit: int, part: str) -> bytes:
    sink = _Sink(limit, part)
    dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    try:
        with dctx.stream_reader(io.BytesIO(data), read_size=STEP,
                                read_across_frames=True) as reader:
            while piece := reader.read(sink.room()):
                sink.add(piece)
    except zstandard.ZstdError:
        if not sink.out:
            raise ExtractError(f"{part}: corrupt zstd data (or a window above "
                               f"{ZSTD_MAX_WINDOW} bytes)") from None
        # a truncated frame keeps what decoded, like a truncated gzip stream
    return bytes(sink.out)


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
            body = _unbrotli(body, limit, part)
        elif coding == "zstd":
            body = _unzstd(body, limit, part)
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
