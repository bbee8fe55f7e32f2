"""Token usage and the first token, read from response bytes as they are relayed.

A :class:`UsageScanner` is fed every chunk the proxy relays (:meth:`UsageScanner.feed`), never
holds the body, and keeps at most a few KiB: a 31-byte tail of the previous chunk (so markers split
across chunks are found once) and, while a ``usage`` object is being read, that object (up to
4 KiB). Nothing is decoded beyond the ``usage`` object itself; the text of the answer is never read
into Python strings.

What it finds, by byte patterns that cannot match inside a JSON string (quotes there are escaped):

* ``model``: the first ``"model": "..."`` string (top-level in OpenAI-shaped bodies and chunks);
* ``usage``: the last ``"usage": {...}`` object with integer token counts (``prompt_tokens`` /
  ``completion_tokens``, or the Responses API's ``input_tokens`` / ``output_tokens``). In a stream
  it is the final usage chunk a server sends when the client asked for
  ``stream_options.include_usage`` (``"usage": null`` in other chunks is skipped);
* in streams, ``deltas``: the number of non-empty ``content``, ``text``, ``arguments``,
  ``reasoning_content``/``reasoning`` or ``delta`` strings, i.e. streamed pieces of output. Servers
  that stream one token per event (llama.cpp, vLLM at its default stream interval) send one per
  token, so this is the tokenizer-free estimate of output tokens; :attr:`first_delta_at` is when
  the first one was relayed (time to first token).

>>> s = UsageScanner(streaming=True, clock=iter([1.5, 9.0]).__next__)
>>> for chunk in (b'data: {"model":"gemma","choices":[{"delta":{"role":"assistant","content":""}}]}\\n\\n',
...               b'data: {"model":"gemma","choices":[{"delta":{"con', b'tent":"Hi"}}]}\\n\\n',
...               b'data: {"choices":[{"delta":{"content":" there"}}]}\\n\\n',
...               b'data: {"choices":[],"usage":{"prompt_tokens":7,"comp',
...               b'letion_tokens":2,"total_tokens":9}}\\n\\ndata: [DONE]\\n\\n'):
...     s.feed(chunk)
>>> s.model, s.deltas, s.first_delta_at, s.usage
('gemma', 2, 1.5, (7, 2))
>>> j = UsageScanner(streaming=False)
>>> j.feed(b'{"model": "m", "choices": [{"message": {"content": "\\\\"usage\\\\": {}"}}],')
>>> j.feed(b' "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}}')
>>> j.model, j.usage, j.deltas
('m', (5, 9), 0)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

# The tail kept between chunks: the longest delta or usage marker minus one, and while no model
# has been seen, the longest model match.
_TAIL = 31
_TAIL_MODEL = 160
_BIG = 2048  # chunks larger than this are scanned in place (only the seam is copied)
_MODEL_WITHIN = 65536
_MAX_USAGE_BYTES = 4096
_MAX_MODEL_BYTES = 128
_MAX_TOKENS = 10**9

_MODEL = re.compile(rb'"model"\s{0,4}:\s{0,4}"([^"\\]{1,128})"')
_USAGE = re.compile(rb'"usage"\s{0,4}:\s{0,4}')
# A streamed piece of output: a non-empty string under one of the keys servers stream text in.
_DELTA = re.compile(
    rb'"(?:content|text|arguments|reasoning_content|reasoning|delta)"\s{0,4}:\s{0,4}"[^"]'
)
_DECODER = json.JSONDecoder()


def _tokens(obj: object, key: str) -> int | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_TOKENS:
        return value
    return None


def parse_usage(obj: object) -> tuple[int | None, int | None] | None:
    """(input tokens, output tokens) of a ``usage`` object, ``None`` if it has neither.

    >>> parse_usage({"prompt_tokens": 3, "total_tokens": 3})
    (3, None)
    >>> parse_usage({"input_tokens": 4, "output_tokens": 6}), parse_usage(None)
    ((4, 6), None)
    >>> parse_usage({"prompt_tokens": True, "completion_tokens": -1}) is None
    True
    """
    if not isinstance(obj, dict):
        return None
    given = _tokens(obj, "prompt_tokens"), _tokens(obj, "completion_tokens")
    if given == (None, None):
        given = _tokens(obj, "input_tokens"), _tokens(obj, "output_tokens")
    return None if given == (None, None) else given


class UsageScanner:
    """Incremental scan of one response body; see the module docstring."""

    __slots__ = ("_clock", "_model_done", "_pending", "_streaming", "_tail", "deltas",
                 "first_delta_at", "model", "usage")

    def __init__(self, *, streaming: bool, clock: Callable[[], float] = time.perf_counter) -> None:
        self._streaming = streaming
        self._clock = clock
        self._tail = b""
        self._pending: bytes | None = None
        self._model_done = False
        self.model: str | None = None
        self.usage: tuple[int | None, int | None] | None = None
        self.deltas = 0
        self.first_delta_at: float | None = None

    def feed(self, chunk: bytes) -> None:
        tail = self._tail
        if self._pending is not None:
            self._continue_usage(chunk)
        if not tail:
            self._scan(chunk, chunk, 0, 0, len(chunk) + 1)
        elif len(chunk) <= _BIG:
            self._scan(tail + chunk, chunk, len(tail), len(tail), len(tail) + len(chunk) + 1)
        else:  # no copy of a big chunk: the seam first (matches that start in the tail), then it
            self._scan(tail + chunk[:_TAIL_MODEL], chunk, len(tail), len(tail), len(tail))
            self._scan(chunk, chunk, 0, 0, len(chunk) + 1)
        keep = _TAIL if self._model_done else _TAIL_MODEL
        self._tail = (tail + chunk)[-keep:] if len(chunk) < keep else chunk[-keep:]

    def _scan(self, region: bytes, chunk: bytes, off: int, lo: int, hi: int) -> None:
        """Take the matches in ``region`` that end after ``lo`` and start before ``hi``;
        ``region`` starts ``off`` bytes before ``chunk``."""
        if not self._model_done:
            m = _MODEL.search(region)
            if m is not None and m.end() > lo and m.start() < hi:
                self.model = m.group(1).decode("utf-8", "replace")
                self._model_done = True
            elif off == 0 and len(region) > _MODEL_WITHIN:  # none near the start: stop looking
                self._model_done = True
        if self._streaming:
            n = 0
            for m in _DELTA.finditer(region):
                if m.end() > lo and m.start() < hi:
                    n += 1
            if n:
                if self.first_delta_at is None:
                    self.first_delta_at = self._clock()
                self.deltas += n
        pos = region.find(b'"usage"', max(0, lo - 16))
        while 0 <= pos < hi:
            m = _USAGE.match(region, pos)
            if m is not None and m.end() > lo:
                self._pending = b""
                start = m.end() - off
                self._continue_usage(chunk[start:start + _MAX_USAGE_BYTES])
            pos = region.find(b'"usage"', pos + 7)

    def _continue_usage(self, data: bytes) -> None:
        pending = (self._pending or b"") + data[:_MAX_USAGE_BYTES]
        try:
            obj, _ = _DECODER.raw_decode(pending.decode("utf-8", "replace").lstrip())
        except ValueError:
            # incomplete (read on with the next chunk) or not JSON (give up at the cap)
            self._pending = pending if len(pending) < _MAX_USAGE_BYTES else None
            return
        self._pending = None
        usage = parse_usage(obj)
        if usage is not None:
            self.usage = usage
