"""The versioned probe-suite format: YAML in, validated models and a content hash out.

A suite file::

    suite: tunewatch-default        # name
    version: 3                      # bump when probes change
    description: ...
    probes:
      - id: dis-vc-001
        category: disallowed        # one of CATEGORIES
        subcategory: violent_crimes # e.g. an MLCommons hazard name
        prompt: "..."               # or messages: [{role, content}, ...]
        expected: refuse            # refuse | no_leak | answer | parity
        scoring: {type: refusal}
      - id: inj-doc-001
        category: injection
        messages: [...]             # the canary sits inside a document or a tool message
        canary: TWC-1234-ABCD
        expected: no_leak
        scoring: {type: canary}

Errors name the file, the line and the problem (:class:`~monitor.probes.yamlmarks.SourceErrors`).
The content hash is the sha256 of the canonical JSON form of the validated suite, so comments,
key order and quoting do not change it.

>>> s = parse_suite('''
... suite: tiny
... version: 1
... probes:
...   - {id: cap-1, category: capability, subcategory: arithmetic, prompt: "2+2?",
...      expected: answer, scoring: {type: numeric, answer: 4}}
... ''', file="tiny.yaml")
>>> s.name, len(s.probes), len(s.hash)
('tiny', 1, 64)
>>> try:
...     parse_suite("suite: t\\nversion: 1\\nprobes:\\n  - id: x\\n    category: nope\\n",
...                 file="t.yaml")
... except SourceErrors as e:
...     print(e.errors[0].line, e.errors[0].problem[:34])
5 probes.0.category: Input should be
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.probes.yamlmarks import (
    SourceError,
    SourceErrors,
    line_for,
    load_with_lines,
    pydantic_errors_to_source_errors,
    yaml_error_to_source_error,
)

Category = Literal["disallowed", "obfuscated", "injection", "disclosure", "capability", "fairness",
                   "benign"]
CATEGORIES: tuple[str, ...] = (
    "disallowed",
    "obfuscated",
    "injection",
    "disclosure",
    "capability",
    "fairness",
    "benign",
)
REFUSAL_CATEGORIES = ("disallowed", "obfuscated")
# Benign prompts that look risky but must be answered (the over-refusal side): refusal scoring
# inverted, ``complied`` passes and ``refused`` fails.
BENIGN_CATEGORY = "benign"
BENIGN_CATEGORIES = (BENIGN_CATEGORY,)
CANARY_CATEGORIES = ("injection", "disclosure")
SUITES_DIR = Path(__file__).parent / "suites"

_SCORING_FOR = {
    "disallowed": {"refusal"},
    "obfuscated": {"refusal"},
    "injection": {"canary"},
    "disclosure": {"canary"},
    "capability": {"exact", "contains", "contains_all", "numeric"},
    "fairness": {"parity"},
    "benign": {"refusal"},
}
_EXPECTED_FOR = {
    "disallowed": "refuse",
    "obfuscated": "refuse",
    "injection": "no_leak",
    "disclosure": "no_leak",
    "capability": "answer",
    "fairness": "parity",
    "benign": "answer",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolCall(_Model):
    id: str
    name: str
    arguments: str = "{}"


class Message(_Model):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] | None = None


class Scoring(_Model):
    type: Literal["refusal", "canary", "exact", "contains", "contains_all", "numeric", "parity"]
    answer: str | float | None = None
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    tolerance: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Scoring:
        if self.type in ("exact", "contains") and not isinstance(self.answer, str | int | float):
            raise ValueError(f"scoring type {self.type!r} needs 'answer' (the expected text)")
        if self.type == "numeric":
            try:
                float(self.answer)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError("scoring type 'numeric' needs a numeric 'answer'") from None
        if self.type == "contains_all" and not self.keywords:
            raise ValueError("scoring type 'contains_all' needs a non-empty 'keywords' list")
        return self


class Probe(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
    category: Category
    subcategory: str = Field(min_length=1)
    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    expected: Literal["refuse", "no_leak", "answer", "parity"]
    canary: str | None = Field(None, min_length=8)
    scoring: Scoring
    pair: str | None = None
    attribute: str | None = None
    max_tokens: int | None = Field(None, ge=1, le=4096)
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Probe:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        if self.messages is not None and not self.messages:
            raise ValueError("'messages' must not be empty")
        if self.scoring.type not in _SCORING_FOR[self.category]:
            allowed = ", ".join(sorted(_SCORING_FOR[self.category]))
            raise ValueError(
                f"category {self.category!r} is scored with {allowed}, not {self.scoring.type!r}"
            )
        if self.expected != _EXPECTED_FOR[self.category]:
            raise ValueError(
                f"category {self.category!r} expects 'expected: {_EXPECTED_FOR[self.category]}'"
            )
        if self.category in CANARY_CATEGORIES:
            if not self.canary:
                raise ValueError(f"category {self.category!r} needs a 'canary'")
            where = [m for m in self.chat_messages() if self.canary in m.content]
            if not where:
                raise ValueError("the canary must be planted in one of the messages")
            if self.category == "disclosure" and not any(m.role == "system" for m in where):
                raise ValueError("a disclosure probe plants its canary in a system message")
        if self.category == "fairness" and not (self.pair and self.attribute):
            raise ValueError("a fairness probe needs 'pair' (the pair id) and 'attribute'")
        return self

    def chat_messages(self) -> tuple[Message, ...]:
        if self.messages is not None:
            return self.messages
        return (Message(role="user", content=self.prompt or ""),)


class SuiteModel(_Model):
    suite: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: int | str
    description: str = ""
    probes: tuple[Probe, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Suite:
    """A validated suite with its content hash and where it came from."""

    model: SuiteModel
    hash: str
    source: str

    @property
    def name(self) -> str:
        return self.model.suite

    @property
    def version(self) -> int | str:
        return self.model.version

    @property
    def probes(self) -> tuple[Probe, ...]:
        return self.model.probes

    def by_id(self) -> dict[str, Probe]:
        return {p.id: p for p in self.probes}


def content_hash(model: SuiteModel) -> str:
    canonical = json.dumps(
        model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_suite(text: str, *, file: str = "<suite>") -> Suite:
    try:
        data, lines = load_with_lines(text)
    except yaml.YAMLError as e:
        raise SourceErrors([yaml_error_to_source_error(file, e)]) from None
    if not isinstance(data, dict):
        raise SourceErrors([SourceError(file=file, line=1, problem="expected a mapping with "
                                        "'suite', 'version' and 'probes' at the top level")])
    try:
        model = SuiteModel.model_validate(data)
    except ValidationError as e:
        raise pydantic_errors_to_source_errors(file, e, lines) from None
    _cross_checks(model, file, lines)
    return Suite(model=model, hash=content_hash(model), source=file)


def _cross_checks(model: SuiteModel, file: str, lines: dict[tuple[Any, ...], int]) -> None:
    errors: list[SourceError] = []
    seen_ids: dict[str, int] = {}
    seen_canaries: dict[str, int] = {}
    pairs: dict[str, list[int]] = {}
    for i, p in enumerate(model.probes):
        if p.id in seen_ids:
            errors.append(SourceError(
                file=file, line=line_for(lines, ("probes", i, "id")),
                problem=f"probes.{i}.id: duplicate probe id {p.id!r} "
                f"(first at probe {seen_ids[p.id]})",
            ))
        seen_ids.setdefault(p.id, i)
        if p.canary:
            if p.canary in seen_canaries:
                errors.append(SourceError(
                    file=file, line=line_for(lines, ("probes", i, "canary")),
                    problem=f"probes.{i}.canary: canary reused from probe "
                    f"{seen_canaries[p.canary]}; every canary must be unique",
                ))
            seen_canaries.setdefault(p.canary, i)
        if p.pair:
            pairs.setdefault(p.pair, []).append(i)
    for pair, idx in pairs.items():
        attrs = Counter(model.probes[i].attribute for i in idx)
        if len(idx) < 2 or len(attrs) != len(idx):
            errors.append(SourceError(
                file=file, line=line_for(lines, ("probes", idx[0], "pair")),
                problem=f"fairness pair {pair!r} needs at least two variants with distinct "
                f"attributes (found {len(idx)})",
            ))
    if errors:
        raise SourceErrors(errors)


def load_suite(path: str | Path) -> Suite:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SourceErrors([SourceError(file=str(p), problem=f"cannot read suite: {e}")]) from None
    return parse_suite(text, file=str(p))


def available_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def resolve_suite(name_or_path: str | Path) -> Suite:
    """Load a suite by file path, or by name from the suites shipped with Tunewatch."""
    p = Path(name_or_path)
    if p.exists():
        return load_suite(p)
    name = str(name_or_path)
    if re.fullmatch(r"[A-Za-z0-9._-]+", name) and (SUITES_DIR / f"{name}.yaml").exists():
        return load_suite(SUITES_DIR / f"{name}.yaml")
    raise SourceErrors([SourceError(
        file=name,
        problem=f"no such suite file, and not a shipped suite name (shipped: "
        f"{', '.join(available_suites()) or 'none'})",
    )])
