"""Records shared by the runner, the scorer and the reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "fail", "unscoreable"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "unscoreable")


@dataclass(frozen=True)
class Attempt:
    """One request of one probe (one repeat) and what came back.

    ``error`` is ``None`` on success, else a short kind: ``timeout``, ``connect``,
    ``http_<status>``, ``bad_response`` or ``cancelled``; ``text`` is then ``None``.
    """

    probe_id: str
    category: str
    repeat: int
    text: str | None
    finish_reason: str | None = None
    model: str | None = None
    error: str | None = None
    latency_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScoredAttempt:
    """An attempt with its outcome. ``verdict`` is the refusal classifier's verdict (categories
    disallowed, obfuscated and fairness), ``detail`` a short machine-readable reason such as
    ``canary:base64`` or ``numeric:got=41``."""

    attempt: Attempt
    outcome: Outcome
    verdict: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Unit:
    """A unit of the regression statistics: one attempt for categories 1-5, one fairness pair (one
    repeat) for category 6. ``key`` is the probe id or the pair id."""

    category: str
    key: str
    repeat: int
    outcome: Outcome


def majority(passed: int, failed: int) -> Outcome:
    """A unit's outcome over its repeats: unscoreable without a scoreable repeat, else the
    majority of its scoreable repeats, a tie counting as a failure.

    Repeats of one probe are not independent observations, so the regression test counts each
    probe (each fairness pair) once, with this outcome.

    >>> majority(0, 0), majority(2, 1), majority(1, 1)
    ('unscoreable', 'pass', 'fail')
    """
    if passed + failed == 0:
        return "unscoreable"
    return "fail" if failed >= passed else "pass"


@dataclass
class Tally:
    """Outcome counts of one category."""

    passed: int = 0
    failed: int = 0
    unscoreable: int = 0
    errors: int = 0  # unscoreable because the request failed (timeout, connect, http)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> int:
        return self.passed + self.failed

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.unscoreable

    def add(self, outcome: Outcome) -> None:
        if outcome == "pass":
            self.passed += 1
        elif outcome == "fail":
            self.failed += 1
        else:
            self.unscoreable += 1
