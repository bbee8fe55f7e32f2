"""Token usage and the first token, read from response bytes as they are relayed.

A :class:`UsageScanner` is fed every chunk the proxy relays (:meth:`UsageScanner.feed`) and never
holds the body. It keeps the last 4-8 KiB of it (``usage`` comes at the end: it is the last key
of OpenAI-shaped JSON bodies and the final event of a stream) and a 31-byte seam of the previous
chunk (160 bytes until the model is seen) so that markers split across chunks are found once.
Nothing is decoded beyond the ``usage`` object itself; the text of the answer is never read into
Python strings.

What it finds, by byte patterns that cannot match inside a JSON string (quotes there are escaped):

* ``model``: the first ``"model": "..."`` string within the first 64 KiB (top-level in
  OpenAI-shaped bodies and chunks);
* ``usage`` (read once, from the kept end, when :attr:`UsageScanner.usage` is first asked for):
  the last ``"usage": {...}`` object with integer token counts (``prompt_tokens`` /
  ``completion_tokens``, or the Responses API's ``input_tokens`` / ``output_tokens``). In a
  stream it is the final usage chunk a server sends when the client asked for
  ``stream_options.include_usage``; ``"usage": null`` in other chunks is skipped. A ``usage``
  followed by more than 4 KiB of body is not found;
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

# The seam kept between chunks: the longest delta marker minus one, and while no model has been
# seen, the longest model match.
_SEAM = 31
_SEAM_MODEL = 160
_BIG = 2048  # chunks larger than this are scanned in place (only the seam is copied)
_MODEL_WITHIN = 65536
_END = 4096  # the end of the body kept for usage: at least this much, at most twice
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


def last_usage(end: bytes) -> tuple[int | None, int | None] | None:
    """The last valid ``usage`` object in ``end`` (the kept end of a body).

    >>> last_usage(b'"usage": {"prompt_tokens": 1}}\\n\\ndata: {"usage": null}\\n\\n')
    (1, None)
    """
    pos = end.rfind(b'"usage"')
    while pos >= 0:
        m = _USAGE.match(end, pos)
        if m is not None:
            try:
                obj, _ = _DECODER.raw_decode(end[m.end():].decode("utf-8", "replace"))
            except ValueError:  # cut short, or not JSON
                obj = None
            usage = parse_usage(obj)
            if usage is not None:
                return usage
        pos = end.rfind(b'"usage"', 0, pos)
    return None


class UsageScanner:
    """Incremental scan of one response body; see the module docstring."""

    __slots__ = ("_clock", "_end", "_model_done", "_read", "_seam", "_streaming", "_usage",
                 "deltas", "first_delta_at", "model")

    def __init__(self, *, streaming: bool, clock: Callable[[], float] = time.perf_counter) -> None:
        self._streaming = streaming
        self._clock = clock
        self._seam = b""
        self._end = bytearray()
        self._read = 0
        self._model_done = False
        self._usage: tuple[int | None, int | None] | None = None
        self.model: str | None = None
        self.deltas = 0
        self.first_delta_at: float | None = None

    @property
    def usage(self) -> tuple[int | None, int | None] | None:
        """(input, output) tokens of the last ``usage`` seen; read from the kept end once."""
        end = self._end
        if end:
            self._usage = last_usage(bytes(end)) or self._usage
            end.clear()
        return self._usage

    def feed(self, chunk: bytes) -> None:
        end = self._end
        end += chunk
        if len(end) > 2 * _END:
            del end[:-_END]
        if not self._streaming and self._model_done:
            return  # a JSON body: only its end matters now
        seam = self._seam
        if not seam:
            self._scan(chunk, 0, len(chunk) + 1)
        elif len(chunk) <= _BIG:
            self._scan(seam + chunk, len(seam), len(seam) + len(chunk) + 1)
        else:  # no copy of a big chunk: the seam first (matches that start in it), then the chunk
            self._scan(seam + chunk[:_SEAM_MODEL], len(seam), len(seam))
            self._scan(chunk, 0, len(chunk) + 1)
        self._read += len(chunk)
        if not self._model_done and self._read >= _MODEL_WITHIN:
            self._model_done = True  # none near the start: stop looking
        keep = _SEAM if self._model_done else _SEAM_MODEL
        self._seam = (seam + chunk)[-keep:] if len(chunk) < keep else chunk[-keep:]

    def _scan(self, region: bytes, lo: int, hi: int) -> None:
        """Take the matches in ``region`` that end after ``lo`` and start before ``hi``."""
        if not self._model_done:
            m = _MODEL.search(region)
            if m is not None and m.end() > lo and m.start() < hi:
                self.model = m.group(1).decode("utf-8", "replace")
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
