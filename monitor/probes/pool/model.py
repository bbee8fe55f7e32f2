"""The pool: units with their generating factors, a content hash, and views as a suite.

A **unit** is what the statistics count once: one probe, or one fairness pair (two probes that
differ only in a demographic attribute). Its id is derived from its content
(:func:`monitor.probes.pool.ids.unit_id`), so the same unit keeps its id whenever it is generated.
Each unit carries the factors that generated it (:class:`Factors`: template, hazard, wrapper,
persona, phrasing), also written into the probes' ``tags`` as ``factor=value`` so they survive a
round trip through JSONL or a suite file and can drive per-factor reports.

:meth:`Pool.suite` is a plain :class:`monitor.probes.suite.Suite` of the suite categories
(scoring, baselines and reports work unchanged), the over-refusal side (``benign``, refusal
scoring inverted) included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from monitor.probes.pool.ids import canonical_json, sha256_hex
from monitor.probes.suite import BENIGN_CATEGORY, CATEGORIES, Probe, Suite, SuiteModel, content_hash

POOL_CATEGORIES: tuple[str, ...] = CATEGORIES
PoolProbe = Probe
FACTOR_NAMES = ("template", "hazard", "wrapper", "persona", "phrasing", "position")


@dataclass(frozen=True)
class Factors:
    """What generated a unit. ``hazard`` is an MLCommons hazard name for harm units (``none``
    elsewhere); ``wrapper`` the obfuscation, injected order or extraction attack; ``position``
    where an injection sits in its carrier (start, middle, end) or how an extraction is delivered
    (direct, after_small_talk)."""

    template: str
    hazard: str = "none"
    wrapper: str = "none"
    persona: str = "none"
    phrasing: str = "none"
    position: str = "none"

    def tags(self) -> tuple[str, ...]:
        return tuple(f"{f.name}={getattr(self, f.name)}" for f in fields(self))

    @classmethod
    def from_tags(cls, tags: Iterable[str]) -> Factors:
        """Read factors back from ``factor=value`` tags (missing ones default; ``template``
        defaults to ``unknown``)."""
        got: dict[str, str] = {}
        for t in tags:
            key, sep, value = t.partition("=")
            if sep and key in FACTOR_NAMES:
                got[key] = value
        return cls(**{"template": "unknown", **got})


@dataclass(frozen=True)
class PoolUnit:
    """One unit: a probe, or the variants of one fairness pair (``id`` is then the pair id)."""

    id: str
    category: str
    subcategory: str
    factors: Factors
    probes: tuple[PoolProbe, ...]

    def as_json(self) -> list[dict[str, Any]]:
        return [p.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
                for p in self.probes]


@dataclass(frozen=True)
class Pool:
    """A generated or imported pool. ``hash`` is the sha256 of :meth:`to_jsonl` (the canonical
    JSON of every probe, in unit order): equal content, equal hash."""

    name: str
    version: int
    units: tuple[PoolUnit, ...]

    @cached_property
    def hash(self) -> str:
        return sha256_hex(self.to_jsonl())

    @cached_property
    def _by_id(self) -> dict[str, PoolUnit]:
        return {u.id: u for u in self.units}

    def by_id(self) -> Mapping[str, PoolUnit]:
        return self._by_id

    def to_jsonl(self) -> str:
        """One canonical JSON object per probe (fairness pairs: one line per variant)."""
        return "".join(canonical_json(d) + "\n" for u in self.units for d in u.as_json())

    def counts(self) -> dict[str, int]:
        """Units per category (a fairness pair counts once), in :data:`POOL_CATEGORIES` order."""
        c = Counter(u.category for u in self.units)
        return {cat: c[cat] for cat in POOL_CATEGORIES if c[cat]} | {
            cat: n for cat, n in sorted(c.items()) if cat not in POOL_CATEGORIES}

    def factor_counts(self, factor: str, *, category: str | None = None) -> dict[str, int]:
        """Units per value of one factor (optionally within one category), most common first."""
        if factor not in FACTOR_NAMES:
            raise ValueError(f"unknown factor {factor!r}; factors are {', '.join(FACTOR_NAMES)}")
        c = Counter(getattr(u.factors, factor) for u in self.units
                    if category is None or u.category == category)
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    def probes(self, units: Sequence[PoolUnit] | None = None) -> list[PoolProbe]:
        return [p for u in (self.units if units is None else units) for p in u.probes]

    def suite(self, units: Sequence[PoolUnit] | None = None, *,
              name: str | None = None) -> Suite:
        """A :class:`Suite` of the (given) units."""
        probes = tuple(self.probes(units))
        if not probes:
            raise ValueError("no units of the suite categories to build a suite from")
        model = SuiteModel(suite=name or self.name, version=self.version,
                           description=f"probe pool {self.name} ({self.hash[:12]})",
                           probes=probes)
        return Suite(model=model, hash=content_hash(model), source=f"pool:{self.name}")

    def benign_probes(self, units: Sequence[PoolUnit] | None = None) -> list[PoolProbe]:
        """The benign (over-refusal) probes, whichever model holds them."""
        return [p for p in self.probes(units) if p.category == BENIGN_CATEGORY]
