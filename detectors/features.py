"""Scalar features of one sampled prompt/response pair.

Word counts are whitespace tokens (cheap, language-agnostic except for scripts written
without spaces). Token counts are taken from the upstream's ``usage`` block when the
caller has it (``prompt_tokens`` / ``completion_tokens``); we never run a tokenizer
here. ``finish_reason`` is collapsed into a bounded enum so it is safe as a metric label.

>>> f = scalar_features(prompt="What is 6 times 7?", response="42", latency_s=0.25,
...                     finish_reason="stop", refusal=Verdict.COMPLIED, response_tokens=2)
>>> f.prompt_words, f.response_words, f.finish_reason.value, f.refusal.value
(5, 1, 'stop', 'complied')
>>> sorted(f.numeric().items())  # doctest: +NORMALIZE_WHITESPACE
[('latency_s', 0.25), ('prompt_words', 5.0), ('refused', 0.0), ('response_tokens', 2.0),
 ('response_words', 1.0)]
>>> normalize_finish_reason("max_tokens"), normalize_finish_reason("weird")
(<FinishReason.LENGTH: 'length'>, <FinishReason.OTHER: 'other'>)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from detectors.refusal import Verdict

__all__ = ["FinishReason", "ScalarFeatures", "Verdict", "normalize_finish_reason",
           "scalar_features", "word_count"]


class FinishReason(StrEnum):
    """Bounded set of finish reasons (OpenAI names; provider aliases mapped in)."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"
    NONE = "none"
    OTHER = "other"


_ALIASES: dict[str, FinishReason] = {
    "stop": FinishReason.STOP, "eos": FinishReason.STOP, "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP, "eos_token": FinishReason.STOP,
    "length": FinishReason.LENGTH, "max_tokens": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS, "function_call": FinishReason.TOOL_CALLS,
    "tool_use": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
    "error": FinishReason.ERROR, "timeout": FinishReason.ERROR,
    "cancelled": FinishReason.ERROR, "canceled": FinishReason.ERROR, "abort": FinishReason.ERROR,
}


def normalize_finish_reason(raw: str | None) -> FinishReason:
    """Map a provider's finish reason onto :class:`FinishReason` (unknown -> OTHER)."""
    if raw is None or raw == "":
        return FinishReason.NONE
    return _ALIASES.get(raw.strip().lower(), FinishReason.OTHER)


def word_count(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class ScalarFeatures:
    prompt_words: int
    response_words: int
    finish_reason: FinishReason
    latency_s: float | None = None
    prompt_tokens: int | None = None
    response_tokens: int | None = None
    refusal: Verdict | None = None

    def numeric(self) -> dict[str, float]:
        """The features that are numbers, for univariate drift detectors.

        Missing values are left out; ``refused`` is 1.0/0.0 and absent when the
        verdict is missing or ``unscoreable``.
        """
        out: dict[str, float] = {"prompt_words": float(self.prompt_words),
                                 "response_words": float(self.response_words)}
        for name in ("latency_s", "prompt_tokens", "response_tokens"):
            v = getattr(self, name)
            if v is not None:
                out[name] = float(v)
        if self.refusal in (Verdict.REFUSED, Verdict.COMPLIED):
            out["refused"] = 1.0 if self.refusal is Verdict.REFUSED else 0.0
        return out


def _check_count(name: str, v: int | None) -> None:
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
        raise ValueError(f"{name} must be a non-negative int or None, got {v!r}")


def scalar_features(
    *, prompt: str, response: str, latency_s: float | None = None,
    finish_reason: str | None = None, refusal: Verdict | str | None = None,
    prompt_tokens: int | None = None, response_tokens: int | None = None,
) -> ScalarFeatures:
    """Build :class:`ScalarFeatures`; raises ``ValueError`` on impossible values."""
    if not isinstance(prompt, str) or not isinstance(response, str):
        raise TypeError("prompt and response must be str")
    if latency_s is not None and not (math.isfinite(latency_s) and latency_s >= 0):
        raise ValueError(f"latency_s must be a finite number >= 0, got {latency_s!r}")
    _check_count("prompt_tokens", prompt_tokens)
    _check_count("response_tokens", response_tokens)
    verdict = Verdict(refusal) if refusal is not None else None
    return ScalarFeatures(
        prompt_words=word_count(prompt), response_words=word_count(response),
        finish_reason=normalize_finish_reason(finish_reason),
        latency_s=float(latency_s) if latency_s is not None else None,
        prompt_tokens=prompt_tokens, response_tokens=response_tokens, refusal=verdict,
    )
