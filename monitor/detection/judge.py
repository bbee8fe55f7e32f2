"""The refusal judge the daemon loads: one function for traffic analysis, probes and the CLI.

:func:`load_refusal_judge` returns the shipped classifier of ``detectors.refusal`` for an
embedding ``kind``, on the embedding cache and torch device of the ``analysis`` settings (their
defaults when none are given), so the probes share the traffic analysis' baked static embeddings.
Callers depend only on :class:`RefusalJudge`: batched verdicts, one per (prompt, response) pair.
:func:`judge_id` names the shipped weights of a kind (for caches of verdicts), :func:`judge_error`
their error measured on human-labelled data we did not write (for corrected refusal rates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from detectors.refusal.rates import JudgeError
from monitor.config import AnalysisSettings

JudgeKind = Literal["minilm", "static"]
KINDS: tuple[JudgeKind, ...] = ("minilm", "static")


class RefusalJudge(Protocol):
    def verdicts(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        finish_reasons: Sequence[str | None] | None = None,
        errors: Sequence[bool] | None = None,
    ) -> Sequence[object]:
        """``refused``, ``complied`` or ``unscoreable`` (as ``str()``) per pair."""
        ...


def judge_kind(kind: str) -> JudgeKind:
    """``kind`` checked: ``minilm`` or ``static`` (ValueError naming the choices otherwise)."""
    for known in KINDS:
        if kind == known:
            return known
    raise ValueError(f"unknown refusal classifier {kind!r}; expected 'minilm' or 'static'")


def traffic_judge_kind(analysis: AnalysisSettings) -> JudgeKind:
    """The judge that scores sampled traffic: the analysis embedder's (MiniLM when it is
    ``none``)."""
    return judge_kind(analysis.embedder if analysis.embedder in KINDS else "minilm")


def load_refusal_judge(kind: str, *, analysis: AnalysisSettings | None = None) -> RefusalJudge:
    """The shipped refusal classifier for embedding ``kind`` (loaded once per process)."""
    from detectors.refusal import load_classifier

    checked = judge_kind(kind)
    settings = analysis if analysis is not None else AnalysisSettings()
    cache = settings.static_cache_dir() if checked == "static" else None
    return load_classifier(checked, cache_dir=cache, device=settings.device)


def judge_id(kind: str) -> str:
    """``<kind>:<fingerprint of the shipped weights>``: changes when the judge is retrained."""
    from detectors.refusal import fingerprint

    checked = judge_kind(kind)
    return f"{checked}:{fingerprint(checked)}"


def judge_error(kind: str) -> JudgeError | None:
    """The shipped judge's held-out error counts (``None`` when its card has none)."""
    from detectors.refusal import judge_error as shipped_error

    return shipped_error(judge_kind(kind))
