"""What a disposition is: a governance decision bound to a deployment fingerprint.

A *disposition* records that an owner decided ``approved``, ``approved-with-conditions`` or
``rejected`` for one deployment fingerprint, under a reference (``DR-2026-014``), relying on named
deployment-layer controls (component and value), with links to the evidence. Records are immutable:
a new disposition for the same fingerprint *supersedes* the previous one.

A bound fingerprint maps each component to the values the review covered (a deployment may
alternate between reviewed system prompts). It *covers* a serving fingerprint when every component
being served is bound and its value is one of the reviewed ones; a bound component not yet seen
in traffic (no requests yet) does not count against it, but a served component the review never
saw does. A control binds its component to the value it relies on, unless the fingerprint binds
that component already (then the control's value must be one of the bound ones).

>>> d = DispositionInput(reference="DR-2026-014", owner="gov@example.com", decision="approved",
...                      fingerprint={"model": "tw-safe", "system_prompt": ["a1", "b2"]},
...                      recorded_by="alice")
>>> d.fingerprint
{'model': ('tw-safe',), 'system_prompt': ('a1', 'b2')}
>>> uncovered(d.fingerprint, {"model": "tw-safe", "system_prompt": "b2"})
[]
>>> uncovered(d.fingerprint, {"model": "tw-drift-3", "scope": "v2"})
['model: serving tw-drift-3, reviewed tw-safe', 'scope: serving v2, not in the reviewed fingerprint']
>>> fingerprint_id(d.fingerprint)
'c51e001218408a9f'
>>> try:
...     parse_input({"reference": "2026-14", "owner": "x", "decision": "approved",
...                  "fingerprint": {"model": "m"}, "recorded_by": "a"})
... except DispositionError as e:
...     print(e.problems[0])
reference: 'DR-2026-014' style reference expected (pattern DR-[0-9]{4}-[0-9]{3,})
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Decision = Literal["approved", "approved-with-conditions", "rejected"]
DECISIONS: tuple[Decision, ...] = ("approved", "approved-with-conditions", "rejected")
APPROVING: frozenset[str] = frozenset({"approved", "approved-with-conditions"})

DEFAULT_REFERENCE_PATTERN = r"DR-[0-9]{4}-[0-9]{3,}"
# Whatever the configured pattern, a reference is also a bounded metric label value.
_REFERENCE_CHARS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COMPONENT = re.compile(r"[a-z][a-z_]{0,31}(:[A-Za-z0-9._/@+=-]{1,128})?")
_TICKET = re.compile(r"TW-[1-9][0-9]*")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
MAX_VALUE = 256

BoundFingerprint = dict[str, tuple[str, ...]]


class DispositionError(ValueError):
    """Invalid disposition input; ``problems`` names each field at fault (never its value)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid disposition: " + "; ".join(self.problems))


def _text(value: str, what: str, *, limit: int, multiline: bool = False) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    bad = _CONTROL_CHARS.search(value.replace("\n", "").replace("\t", "") if multiline else value)
    if bad:
        raise ValueError(f"{what} contains control characters")
    return value


def check_reference(reference: str, pattern: str = DEFAULT_REFERENCE_PATTERN) -> str:
    """Validate a disposition reference against ``pattern`` (a full match) and the label charset.

    >>> check_reference("DR-2026-014")
    'DR-2026-014'
    """
    ref = reference.strip()
    if not re.fullmatch(pattern, ref) or not _REFERENCE_CHARS.fullmatch(ref):
        raise ValueError(f"'DR-2026-014' style reference expected (pattern {pattern})")
    return ref


def check_component(name: str) -> str:
    if not _COMPONENT.fullmatch(name):
        raise ValueError(
            f"component {name[:40]!r} is not a fingerprint component name (lower-case word, "
            "optionally ':' and a qualifier, e.g. model, system_prompt, artifact:tw-safe.gguf)"
        )
    return name


def check_value(value: str, what: str) -> str:
    return _text(value, what, limit=MAX_VALUE)


def normalise_fingerprint(raw: Mapping[str, str | Sequence[str]]) -> BoundFingerprint:
    """Sorted, de-duplicated values per component; errors name the component."""
    out: BoundFingerprint = {}
    for name in sorted(raw):
        check_component(name)
        values = raw[name]
        items = [values] if isinstance(values, str) else list(values)
        if not items:
            raise ValueError(f"fingerprint.{name} has no value")
        out[name] = tuple(sorted({check_value(str(v), f"fingerprint.{name}") for v in items}))
    if not out:
        raise ValueError("fingerprint is empty: bind at least the model")
    return out


def fingerprint_id(bound: Mapping[str, Sequence[str]]) -> str:
    """Stable 16-hex-digit id of a bound fingerprint (canonical JSON, sha256)."""
    canon = json.dumps({k: sorted(v) for k, v in sorted(bound.items())}, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def uncovered(bound: Mapping[str, Sequence[str]], serving: Mapping[str, str]) -> list[str]:
    """Why ``bound`` does not cover ``serving`` (empty list: it covers)."""
    out = []
    for name in sorted(serving):
        value = serving[name]
        if name not in bound:
            out.append(f"{name}: serving {value[:64]}, not in the reviewed fingerprint")
        elif value not in bound[name]:
            reviewed = ", ".join(v[:64] for v in bound[name])
            out.append(f"{name}: serving {value[:64]}, reviewed {reviewed}")
    return out


def parse_when(value: str | float | int | dt.datetime | dt.date, what: str) -> float:
    """ISO date / datetime (UTC when no zone) or epoch seconds -> epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what} must be an ISO date or time, e.g. 2026-12-01") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True)
class Control:
    """A deployment-layer control a disposition relies on: ``component`` held at ``value``."""

    component: str
    value: str
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.component, "value": self.value, "note": self.note}


@dataclass(frozen=True)
class EvidenceLink:
    title: str
    url: str
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "url": self.url, "sha256": self.sha256}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ControlInput(_In):
    component: str = Field(description="deployment-layer component, e.g. output_filter")
    value: str = Field(description="the value the disposition relies on, e.g. v3")
    note: str | None = Field(None, description="why the review relies on it")

    @field_validator("component")
    @classmethod
    def _component(cls, v: str) -> str:
        return check_component(v.strip())

    @field_validator("value")
    @classmethod
    def _value(cls, v: str) -> str:
        return check_value(v, "value")

    @field_validator("note")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return None if v is None else _text(v, "note", limit=500)


class EvidenceInput(_In):
    title: str = Field(description="what the document is, e.g. 'Red-team report v2'")
    url: str = Field(description="https:// link or a path to the document")
    sha256: str | None = Field(None, description="sha256 of the document, 64 hex digits")

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return _text(v, "title", limit=200)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = _text(v, "url", limit=1000)
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):", v)  # 2+ letters: not a drive letter
        if scheme and scheme.group(1).lower() not in ("http", "https", "file"):
            raise ValueError("url must be an http(s):// or file: link or a file path")
        return v

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9a-f]{64}", v.strip().lower()):
            raise ValueError("sha256 must be 64 hex digits")
        return None if v is None else v.strip().lower()


class DispositionInput(_In):
    """A disposition as submitted (CLI or API), validated; see :class:`Disposition` for stored."""

    reference: str = Field(description="decision-record reference, e.g. DR-2026-014")
    owner: str = Field(description="who owns the decision (name or e-mail)")
    decision: Decision = Field(description="approved, approved-with-conditions or rejected")
    fingerprint: BoundFingerprint = Field(
        description="component -> reviewed value(s): model, upstream_models, system_prompt, "
        "output_filter, scope, artifact:<name>, adapter:<name>"
    )
    controls: tuple[ControlInput, ...] = Field((), description="controls the decision relies on")
    conditions: tuple[str, ...] = Field((), description="conditions of an approval-with-conditions")
    evidence: tuple[EvidenceInput, ...] = Field((), description="links to the evidence")
    tickets: tuple[str, ...] = Field((), description="tickets this decision answers, e.g. TW-3")
    recorded_by: str = Field(description="who records it")
    decided_at: float | None = Field(None, description="when it was decided (default: now)")
    expires_at: float | None = Field(None, description="when the approval lapses, if it does")
    note: str | None = Field(None, description="free-text remarks (no prompts or user data)")

    @field_validator("reference")
    @classmethod
    def _reference(cls, v: str) -> str:
        v = v.strip()  # the configured pattern is checked by parse_input
        if not _REFERENCE_CHARS.fullmatch(v):
            raise ValueError("reference must be 1-64 letters, digits, '.', '_' or '-', "
                             "e.g. DR-2026-014")
        return v

    @field_validator("owner", "recorded_by")
    @classmethod
    def _who(cls, v: str) -> str:
        return _text(v, "value", limit=200)

    @field_validator("fingerprint", mode="before")
    @classmethod
    def _fingerprint(cls, v: Any) -> BoundFingerprint:
        if not isinstance(v, Mapping):
            raise ValueError("fingerprint must map components to a value or a list of values")
        return normalise_fingerprint(v)

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_text(c, "condition", limit=1000, multiline=True) for c in v)

    @field_validator("tickets")
    @classmethod
    def _tickets(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for t in v:
            t = t.strip().upper()
            if t.isdigit():
                t = f"TW-{t}"
            if not _TICKET.fullmatch(t):
                raise ValueError("tickets must be ticket ids like TW-3")
            out.append(t)
        return tuple(dict.fromkeys(out))

    @field_validator("decided_at", "expires_at", mode="before")
    @classmethod
    def _when(cls, v: Any) -> float | None:
        return None if v is None or v == "" else parse_when(v, "time")

    @field_validator("note")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return None if v is None else _text(v, "note", limit=2000, multiline=True)

    @model_validator(mode="after")
    def _consistent(self) -> DispositionInput:
        if self.decision == "approved-with-conditions" and not self.conditions:
            raise ValueError("approved-with-conditions needs at least one condition")
        if self.decision != "approved-with-conditions" and self.conditions:
            raise ValueError(f"conditions apply to approved-with-conditions, not {self.decision}")
        for c in self.controls:
            allowed = self.fingerprint.get(c.component)
            if allowed is not None and c.value not in allowed:
                raise ValueError(
                    f"control {c.component} relies on a value the fingerprint does not bind; "
                    f"bind it in fingerprint.{c.component} or fix the control"
                )
        names = [c.component for c in self.controls]
        if len(names) != len(set(names)):
            raise ValueError("each control component may appear once")
        if (self.expires_at is not None and self.decided_at is not None
                and self.expires_at <= self.decided_at):
            raise ValueError("expires_at must be after decided_at")
        return self


def binding(d: DispositionInput) -> BoundFingerprint:
    """The fingerprint a disposition binds: its fingerprint plus each control's component.

    >>> d = parse_input({"reference": "DR-2026-001", "owner": "o", "decision": "approved",
    ...                  "recorded_by": "r", "fingerprint": {"model": "m"},
    ...                  "controls": [{"component": "output_filter", "value": "v3"}]})
    >>> binding(d)
    {'model': ('m',), 'output_filter': ('v3',)}
    """
    out = dict(d.fingerprint)
    for c in d.controls:
        out.setdefault(c.component, (c.value,))
    return dict(sorted(out.items()))


def problems(exc: ValidationError) -> list[str]:
    """``field: message`` for each error of a :class:`DispositionInput` validation (no values)."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ())) or "disposition"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(f"{loc}: {msg}")
    return out


def parse_input(data: Mapping[str, Any], *, reference_pattern: str = DEFAULT_REFERENCE_PATTERN
                ) -> DispositionInput:
    """Validate ``data``; raise :class:`DispositionError` naming every field at fault."""
    try:
        parsed = DispositionInput.model_validate(dict(data))
    except ValidationError as exc:
        raise DispositionError(problems(exc)) from None
    try:
        check_reference(parsed.reference, reference_pattern)
    except ValueError as exc:
        raise DispositionError([f"reference: {exc}"]) from None
    return parsed


@dataclass(frozen=True)
class Disposition:
    """A stored, immutable disposition record."""

    id: int
    reference: str
    decision: str
    owner: str
    fingerprint: BoundFingerprint
    fingerprint_id: str
    controls: tuple[Control, ...]
    conditions: tuple[str, ...]
    evidence: tuple[EvidenceLink, ...]
    tickets: tuple[str, ...]
    decided_at: float
    expires_at: float | None
    recorded_at: float
    recorded_by: str
    note: str | None = None
    supersedes: int | None = None
    superseded_by: int | None = field(default=None, compare=False)

    @property
    def approving(self) -> bool:
        return self.decision in APPROVING

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def uncovered(self, serving: Mapping[str, str]) -> list[str]:
        return uncovered(self.fingerprint, serving)

    def covers(self, serving: Mapping[str, str]) -> bool:
        return not self.uncovered(serving)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "reference": self.reference, "decision": self.decision,
                "owner": self.owner, "fingerprint_id": self.fingerprint_id,
                "decided_at": self.decided_at, "expires_at": self.expires_at,
                "recorded_at": self.recorded_at, "recorded_by": self.recorded_by,
                "supersedes": self.supersedes, "superseded_by": self.superseded_by}

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(),
                "fingerprint": {k: list(v) for k, v in self.fingerprint.items()},
                "controls": [c.as_dict() for c in self.controls],
                "conditions": list(self.conditions),
                "evidence": [e.as_dict() for e in self.evidence],
                "tickets": list(self.tickets), "note": self.note}
