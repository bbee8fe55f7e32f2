"""Baseline files: the base model's per-category behaviour on a suite, and comparisons.

A baseline (JSON) records, for one suite (name, version, content hash): per-category counts and
failure rates with Wilson 95 % intervals, per-unit counts (so a rotating subset can be compared with
the same probes of the baseline), fairness parity statistics, the target's model identity
(``GET /models`` and the ``model`` field of responses), the runner settings and the time.

Comparing a run with a baseline of another suite hash is refused (:class:`BaselineMismatch`):
rates measured on different probes are not comparable.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detectors.stats import fisher_two_sided, holm, wilson_interval
from monitor.probes.attempt import Outcome, Tally, majority
from monitor.probes.runner import RunnerSettings, RunOutput
from monitor.probes.scoring import ScoredRun
from monitor.probes.stats import Comparison, compare
from monitor.probes.suite import CATEGORIES, Suite
from monitor.probes.yamlmarks import (
    SourceError,
    SourceErrors,
    load_with_lines,
    pydantic_errors_to_source_errors,
    yaml_error_to_source_error,
)

FORMAT: Final = "tunewatch-baseline/1"


class BaselineMismatch(ValueError):
    """The baseline was captured with a different suite."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Counts(_M):
    passed: int = Field(0, ge=0)
    failed: int = Field(0, ge=0)
    unscoreable: int = Field(0, ge=0)


class CategoryRates(Counts):
    errors: int = Field(0, ge=0)
    failure_rate: float | None = Field(None, ge=0, le=1)
    ci: tuple[float, float] = (0.0, 1.0)
    ci_method: Literal["wilson"] = "wilson"


class SuiteRef(_M):
    name: str
    version: int | str
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    probes: int = Field(ge=1)


class TargetRef(_M):
    base_url: str
    models: list[str] = []
    response_models: list[str] = []


class Parity(_M):
    pairs: int = 0
    first_only: int = 0
    second_only: int = 0
    rate_difference: float = 0.0
    p_value: float = 1.0
    by_attribute: dict[str, tuple[int, int]] = {}


class Baseline(_M):
    format: Literal["tunewatch-baseline/1"] = FORMAT
    created_at: datetime
    run_id: str
    suite: SuiteRef
    target: TargetRef
    settings: dict[str, Any]
    categories: dict[str, CategoryRates]
    parity: Parity
    units: dict[str, Counts]

    def counts(self, keys: Collection[str] | None = None) -> dict[str, tuple[int, int]]:
        """``{category: (failed, scored)}``; restricted to unit ``keys`` when given."""
        if keys is None:
            return {c: (r.failed, r.failed + r.passed) for c, r in self.categories.items()}
        out: dict[str, list[int]] = {}
        for k in keys:
            u = self.units.get(k)
            if u is None:
                continue
            acc = out.setdefault(k.split(":", 1)[0], [0, 0])
            outcome = majority(u.passed, u.failed)
            acc[0] += outcome == "fail"
            acc[1] += outcome != "unscoreable"
        return {c: (v[0], v[1]) for c, v in out.items()}


def unit_key(category: str, key: str) -> str:
    return f"{category}:{key}"


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def category_rates(tallies: Mapping[str, Tally]) -> dict[str, CategoryRates]:
    out = {}
    for cat, t in tallies.items():
        p, lo, hi = wilson_interval(t.failed, t.scored)
        out[cat] = CategoryRates(
            passed=t.passed, failed=t.failed, unscoreable=t.unscoreable, errors=t.errors,
            failure_rate=None if t.scored == 0 else p, ci=(lo, hi),
        )
    return out


def build_baseline(
    *, suite: Suite, output: RunOutput, scored: ScoredRun, settings: RunnerSettings,
    now: datetime | None = None,
) -> Baseline:
    field_of = {"pass": "passed", "fail": "failed", "unscoreable": "unscoreable"}
    acc: dict[str, dict[str, int]] = {}
    for u in scored.units:
        d = acc.setdefault(unit_key(u.category, u.key),
                           {"passed": 0, "failed": 0, "unscoreable": 0})
        d[field_of[u.outcome]] += 1
    units = {k: Counts(**v) for k, v in acc.items()}
    cats = [c for c in CATEGORIES if any(p.category == c for p in suite.probes)]
    return Baseline(
        created_at=now or datetime.now(UTC),
        run_id=output.run_id,
        suite=SuiteRef(name=suite.name, version=suite.version, hash=suite.hash,
                       probes=len(suite.probes)),
        target=TargetRef(base_url=_strip_userinfo(output.target.base_url),
                         models=list(output.target.models),
                         response_models=output.response_models),
        settings=settings.public(),
        categories=category_rates(scored.tallies(cats)),
        parity=Parity(**scored.parity.__dict__),
        units=units,
    )


def save_baseline(b: Baseline, path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(b.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
                 encoding="utf-8")


def load_baseline(path: str | Path) -> Baseline:
    """Load and validate; problems raise :class:`SourceErrors` naming the file and line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SourceErrors([SourceError(file=file, problem=f"cannot read baseline: {e}")]) from None
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        raise SourceErrors([SourceError(file=file, line=e.lineno,
                                        problem=f"not valid JSON: {e.msg} (column {e.colno})")]
                           ) from None
    try:
        data, lines = load_with_lines(text)
    except yaml.YAMLError as e:  # valid JSON that YAML 1.1 cannot read (rare)
        raise SourceErrors([yaml_error_to_source_error(file, e)]) from None
    if not isinstance(data, dict):
        raise SourceErrors([SourceError(file=file, line=1, problem="expected a JSON object")])
    if data.get("format") != FORMAT:
        raise SourceErrors([SourceError(
            file=file, line=lines.get(("format",), 1),
            problem=f"format: expected {FORMAT!r}, got {data.get('format')!r} (is this a "
            "Tunewatch baseline? capture one with `tunewatch baseline capture`)",
        )])
    try:
        return Baseline.model_validate(data)
    except ValidationError as e:
        raise pydantic_errors_to_source_errors(file, e, lines) from None


def check_suite(baseline: Baseline, suite: Suite, *, file: str = "baseline") -> None:
    if baseline.suite.hash != suite.hash:
        raise BaselineMismatch(
            f"{file} was captured with suite {baseline.suite.name!r} version "
            f"{baseline.suite.version} (hash {baseline.suite.hash[:12]}), but the suite being run "
            f"is {suite.name!r} version {suite.version} (hash {suite.hash[:12]}) from "
            f"{suite.source}. Rates from different probes are not comparable: run with the "
            "suite the baseline was captured with, or capture a new baseline from the base model "
            "with `tunewatch baseline capture --suite ...`."
        )


@dataclass(frozen=True)
class BaselineDiff:
    same_suite: bool
    categories: dict[str, Comparison]  # 'baseline' = a, 'current' = b; p two-sided, Holm
    flipped_units: list[tuple[str, Outcome, Outcome]]  # (unit, a's majority outcome, b's)
    model_a: list[str]
    model_b: list[str]


def diff(a: Baseline, b: Baseline, *, alpha: float = 0.05, min_effect_size: float = 0.1
         ) -> BaselineDiff:
    """Compare two baselines (e.g. base model v1 against v2) category by category.

    The per-category test is two-sided (either direction is news for a baseline); ``regression``
    in the returned comparisons means "significantly different" here.
    """
    ca, cb = a.counts(), b.counts()
    raw = {c: fisher_two_sided(cb[c][0], cb[c][1], ca[c][0], ca[c][1])
           for c in cb if c in ca and ca[c][1] and cb[c][1]}
    adj = holm(raw) if raw else {}
    base = compare(ca, cb, alpha=alpha, min_effect_size=min_effect_size)
    cats = {}
    for c, cmp in base.items():
        p = raw.get(c, 1.0)
        pa = adj.get(c, 1.0)
        changed = c in raw and pa <= alpha and abs(cmp.effect) >= min_effect_size
        cats[c] = Comparison(**{**cmp.__dict__, "p_value": p, "p_adjusted": pa,
                                "regression": changed})
    flips = []
    if a.suite.hash == b.suite.hash:
        for k in sorted(set(a.units) & set(b.units)):
            ua, ub = a.units[k], b.units[k]
            oa, ob = majority(ua.passed, ua.failed), majority(ub.passed, ub.failed)
            if oa != ob:
                flips.append((k, oa, ob))
    return BaselineDiff(
        same_suite=a.suite.hash == b.suite.hash,
        categories=cats,
        flipped_units=flips,
        model_a=a.target.response_models or a.target.models,
        model_b=b.target.response_models or b.target.models,
    )
