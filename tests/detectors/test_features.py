"""Tests for detectors.features (pure Python, no models)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from detectors.features import (
    FinishReason,
    ScalarFeatures,
    Verdict,
    normalize_finish_reason,
    scalar_features,
)


def test_counts_and_fields() -> None:
    f = scalar_features(prompt="  two words ", response="one\ntwo three", latency_s=1.5,
                        finish_reason="length", refusal="refused", prompt_tokens=3,
                        response_tokens=4)
    assert (f.prompt_words, f.response_words) == (2, 3)
    assert f.finish_reason is FinishReason.LENGTH and f.refusal is Verdict.REFUSED
    assert f.numeric() == {"prompt_words": 2.0, "response_words": 3.0, "latency_s": 1.5,
                           "prompt_tokens": 3.0, "response_tokens": 4.0, "refused": 1.0}


def test_missing_values_are_left_out() -> None:
    f = scalar_features(prompt="", response="", refusal=Verdict.UNSCOREABLE)
    assert f.finish_reason is FinishReason.NONE
    assert f.numeric() == {"prompt_words": 0.0, "response_words": 0.0}


def test_frozen() -> None:
    f = scalar_features(prompt="a", response="b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.prompt_words = 3  # type: ignore[misc]
    assert isinstance(f, ScalarFeatures)


@pytest.mark.parametrize(("raw", "expected"), [
    (None, FinishReason.NONE), ("", FinishReason.NONE), ("stop", FinishReason.STOP),
    ("STOP", FinishReason.STOP), ("end_turn", FinishReason.STOP),
    ("max_tokens", FinishReason.LENGTH), ("function_call", FinishReason.TOOL_CALLS),
    ("content_filter", FinishReason.CONTENT_FILTER), ("timeout", FinishReason.ERROR),
    ("something-new", FinishReason.OTHER),
])
def test_finish_reason_is_bounded(raw: str | None, expected: FinishReason) -> None:
    assert normalize_finish_reason(raw) is expected


@pytest.mark.parametrize("kwargs", [
    {"latency_s": -0.1}, {"latency_s": math.nan}, {"latency_s": math.inf},
    {"prompt_tokens": -1}, {"response_tokens": 1.5}, {"refusal": "maybe"},
])
def test_bad_values_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        scalar_features(prompt="p", response="r", **kwargs)  # type: ignore[arg-type]


def test_bad_types_raise() -> None:
    with pytest.raises(TypeError):
        scalar_features(prompt=None, response="r")  # type: ignore[arg-type]
