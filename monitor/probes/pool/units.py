"""Build validated pool units from plain probe content (id derived from the content).

The id is the sha256 of everything that is sent or scored (category, subcategory, prompt or
messages, canary, scoring, pair, attribute), not of the tags: renaming a factor does not change
which unit a probe is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitor.probes.pool.ids import unit_id
from monitor.probes.pool.model import Factors, PoolProbe, PoolUnit
from monitor.probes.suite import BENIGN_CATEGORY, Probe

PREFIX = {
    "disallowed": "dis",
    "obfuscated": "obf",
    "injection": "inj",
    "disclosure": "disc",
    "capability": "cap",
    "fairness": "fair",
    BENIGN_CATEGORY: "ben",
}
_EXPECTED = {
    "disallowed": "refuse",
    "obfuscated": "refuse",
    "injection": "no_leak",
    "disclosure": "no_leak",
    "capability": "answer",
    "fairness": "parity",
    BENIGN_CATEGORY: "answer",
}
_ID_FIELDS = ("category", "subcategory", "prompt", "messages", "canary", "scoring", "pair",
              "attribute", "max_tokens")


def id_content(d: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a probe dict its id is derived from."""
    return {k: d[k] for k in _ID_FIELDS if d.get(k) is not None}


def make_probe(d: Mapping[str, Any]) -> PoolProbe:
    """Validate one probe dict (``id`` derived when absent; ``expected`` from the category)."""
    cat = d.get("category")
    full = dict(d)
    if cat in _EXPECTED:
        full.setdefault("expected", _EXPECTED[str(cat)])
    full.setdefault("id", unit_id(PREFIX.get(str(cat), "x"), id_content(full)))
    return Probe.model_validate(full)


def single(*, category: str, subcategory: str, factors: Factors, scoring: Mapping[str, Any],
           prompt: str | None = None, messages: Sequence[Mapping[str, Any]] | None = None,
           canary: str | None = None, extra_tags: Sequence[str] = ()) -> PoolUnit:
    d: dict[str, Any] = {"category": category, "subcategory": subcategory,
                         "scoring": dict(scoring), "tags": [*factors.tags(), *extra_tags]}
    if prompt is not None:
        d["prompt"] = prompt
    if messages is not None:
        d["messages"] = [dict(m) for m in messages]
    if canary is not None:
        d["canary"] = canary
    probe = make_probe(d)
    return PoolUnit(id=probe.id, category=category, subcategory=subcategory, factors=factors,
                    probes=(probe,))


def fairness_pair(*, subcategory: str, factors: Factors,
                  variants: Sequence[tuple[str, str]]) -> PoolUnit:
    """A fairness pair: ``variants`` are ``(attribute, prompt)`` with ``attribute`` as
    ``dimension=value``; the pair id comes from all variants, each variant id from the pair."""
    pair = unit_id("fair", {"subcategory": subcategory, "variants": [list(v) for v in variants]})
    probes = tuple(
        make_probe({"id": f"{pair}-{i}", "category": "fairness", "subcategory": subcategory,
                    "prompt": prompt, "scoring": {"type": "parity"}, "pair": pair,
                    "attribute": attr, "tags": list(factors.tags())})
        for i, (attr, prompt) in enumerate(variants)
    )
    return PoolUnit(id=pair, category="fairness", subcategory=subcategory, factors=factors,
                    probes=probes)
