"""Import a team's own probes: CSV files as the public harm benchmarks publish them, and JSONL.

**CSV** (refusal-scored rows: ``disallowed`` by default, ``benign`` for over-refusal sets). The
format is recognised from the header (or forced with ``source=``):

=================  ========================================================================
``harmbench``      ``Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID``
                   (a ``contextual`` row is sent as its context, a rule, then the behaviour;
                   ``multimodal`` rows are refused: they need an image)
``jailbreakbench`` ``Index,Goal,Target,Behavior,Category,Source`` (the prompt is ``Goal``)
``advbench``       ``goal,target`` (no category column: every row gets ``default_hazard``)
``generic``        a ``prompt`` column and a ``category`` column (names can be given)
=================  ========================================================================

Answer columns (``Target``, ``target``: the affirmative reply an attack aims for) are never read.
Each source category maps to an MLCommons hazard (:data:`CATEGORY_MAP`, documented in
docs/probe-pool.md); ``category_map`` overrides or extends it. A target is a hazard name, or
``category:subcategory`` to put a row in another pool category (``benign:history``).

**JSONL**: one probe per line in the suite's probe schema (``id`` and ``expected`` optional; ``id``
is then derived from the content; ``scoring`` defaults to the category's only scoring type), plus
category ``benign``. Rows sharing a ``pair`` form one fairness unit. A pool written by
:meth:`Pool.to_jsonl` reads back to the same pool (same hash).

Every bad row is reported as ``FILE:LINE: problem`` in one :class:`SourceErrors`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from monitor.probes.pool.generate import PoolError, assemble
from monitor.probes.pool.harm_data import HAZARD_REQUESTS
from monitor.probes.pool.model import POOL_CATEGORIES, Factors, Pool, PoolProbe, PoolUnit
from monitor.probes.pool.units import make_probe
from monitor.probes.suite import BENIGN_CATEGORY
from monitor.probes.yamlmarks import SourceError, SourceErrors

CsvSource = Literal["auto", "harmbench", "jailbreakbench", "advbench", "generic"]
HAZARDS: tuple[str, ...] = tuple(HAZARD_REQUESTS)
CSV_CATEGORIES = ("disallowed", "obfuscated", BENIGN_CATEGORY)

# source category -> MLCommons hazard (closest; override with category_map)
CATEGORY_MAP: dict[str, dict[str, str]] = {
    "harmbench": {
        "chemical_biological": "indiscriminate_weapons_cbrne",
        "illegal": "non_violent_crimes",
        "cybercrime_intrusion": "non_violent_crimes",
        "misinformation_disinformation": "defamation",
        "harassment_bullying": "hate",
        "harmful": "violent_crimes",
        "copyright": "intellectual_property",
    },
    "jailbreakbench": {
        "Harassment/Discrimination": "hate",
        "Malware/Hacking": "non_violent_crimes",
        "Physical harm": "violent_crimes",
        "Economic harm": "non_violent_crimes",
        "Fraud/Deception": "non_violent_crimes",
        "Disinformation": "defamation",
        "Sexual/Adult content": "sexual_content",
        "Privacy": "privacy",
        "Expert advice": "specialized_advice",
        "Government decision-making": "non_violent_crimes",
    },
    "advbench": {},
    "generic": {},
}
_REQUIRED = {
    "harmbench": ("Behavior", "SemanticCategory"),
    "jailbreakbench": ("Goal", "Category"),
    "advbench": ("goal",),
}
_DEFAULT_SCORING = {
    "disallowed": "refusal", "obfuscated": "refusal", BENIGN_CATEGORY: "refusal",
    "injection": "canary", "disclosure": "canary", "fairness": "parity",
}


def _lines(text: str) -> list[str]:
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


class _Counted:
    """Feeds csv.reader line by line and remembers how many lines it consumed."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.used = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.used >= len(self.lines):
            raise StopIteration
        self.used += 1
        return self.lines[self.used - 1]


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SourceErrors([SourceError(file=str(p), problem=f"cannot read: {e}")]) from None


def detect_source(header: list[str]) -> CsvSource:
    cols = set(header)
    if {"Behavior", "SemanticCategory"} <= cols:
        return "harmbench"
    if {"Goal", "Category"} <= cols:
        return "jailbreakbench"
    if "goal" in cols and "category" not in cols:
        return "advbench"
    return "generic"


def _resolve(value: str, *, source: str, default_category: str,
             overrides: Mapping[str, str]) -> tuple[str, str] | None:
    target = overrides.get(value) or CATEGORY_MAP.get(source, {}).get(value)
    if target is None and (value in HAZARDS or value in CSV_CATEGORIES
                           or value.partition(":")[0] in CSV_CATEGORIES):
        target = value
    if target is None:
        return None
    cat, sep, sub = target.partition(":")
    if sep:
        return (cat, sub) if cat in CSV_CATEGORIES and sub else None
    if target in CSV_CATEGORIES:
        return target, "unspecified"
    return default_category, target


def parse_csv(text: str, *, file: str = "<csv>", source: CsvSource = "auto",
              category: Literal["disallowed", "obfuscated", "benign"] = "disallowed",
              category_map: Mapping[str, str] | None = None, prompt_column: str = "prompt",
              category_column: str = "category", default_hazard: str = "unspecified",
              name: str | None = None) -> Pool:
    """Units from CSV text (see the module docstring); ``category`` is the pool category of
    every row whose mapping names only a hazard."""
    if category not in CSV_CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CSV_CATEGORIES)}")
    overrides = dict(category_map or {})
    counted = _Counted(_lines(text))
    reader = csv.reader(counted)
    try:
        header = next(reader)
    except StopIteration:
        raise SourceErrors([SourceError(file=file, line=1, problem="empty file: expected a "
                                        "header row")]) from None
    except csv.Error as e:
        raise SourceErrors([SourceError(file=file, line=1, problem=f"CSV error: {e}")]) from None
    header = [h.strip() for h in header]
    kind = detect_source(header) if source == "auto" else source
    required = _REQUIRED.get(kind, (prompt_column, category_column))
    missing = [c for c in required if c not in header]
    if missing:
        raise SourceErrors([SourceError(
            file=file, line=1,
            problem=f"missing column(s) {', '.join(missing)} for the {kind} format (header: "
            f"{', '.join(header) or 'empty'})")])
    col = {h: i for i, h in enumerate(header)}
    prompt_col = {"harmbench": "Behavior", "jailbreakbench": "Goal",
                  "advbench": "goal"}.get(kind, prompt_column)
    cat_col = {"harmbench": "SemanticCategory", "jailbreakbench": "Category"}.get(
        kind, None if kind == "advbench" else category_column)
    errors: list[SourceError] = []
    units: list[PoolUnit] = []
    while True:
        start = counted.used + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append(SourceError(file=file, line=start, problem=f"CSV error: {e}"))
            break
        if not row or all(not c.strip() for c in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        if len(row) != len(header):
            errors.append(SourceError(file=file, line=start, problem=f"row has {len(row)} "
                                      f"fields, the header has {len(header)}"))
            continue
        prompt = cell(prompt_col)
        if not prompt:
            errors.append(SourceError(file=file, line=start,
                                      problem=f"empty prompt (column {prompt_col})"))
            continue
        raw_cat = cell(cat_col) if cat_col else ""
        if cat_col is None:
            resolved: tuple[str, str] | None = (category, default_hazard)
        else:
            resolved = _resolve(raw_cat, source=kind, default_category=category,
                                overrides=overrides)
        if resolved is None:
            known = sorted(CATEGORY_MAP.get(kind, {})) or list(HAZARDS)
            errors.append(SourceError(
                file=file, line=start,
                problem=f"unknown category {raw_cat!r} (column {cat_col}); map it with "
                f"category_map={{{raw_cat!r}: '<hazard>'}} or 'category:subcategory' "
                f"(known here: {', '.join(known)})"))
            continue
        pool_cat, sub = resolved
        external = cell("BehaviorID") or cell("Index") or cell("id")
        if kind == "harmbench":
            functional = cell("FunctionalCategory")
            if functional == "multimodal":
                errors.append(SourceError(file=file, line=start, problem="multimodal "
                                          "behaviours need an image; not supported"))
                continue
            context = cell("ContextString")
            if context:
                prompt = f"{context}\n\n---\n\n{prompt}"
        tags = [*Factors(template=kind, hazard=sub if sub in HAZARDS else "none").tags(),
                f"source={kind}"]
        if external:
            tags.append(f"external_id={external}")
        try:
            probe = make_probe({"category": pool_cat, "subcategory": sub, "prompt": prompt,
                                "scoring": {"type": "refusal"}, "tags": tags})
        except ValidationError as e:
            errors.append(SourceError(file=file, line=start, problem=_first_error(e)))
            continue
        units.append(_unit(probe))
    if errors:
        raise SourceErrors(errors)
    if not units:
        raise SourceErrors([SourceError(file=file, line=1, problem="no rows after the header")])
    return _assemble(units, name=name or Path(file).stem or "imported", file=file)


def import_csv(path: str | Path, **kw: Any) -> Pool:
    """:func:`parse_csv` on a file (errors name the file)."""
    return parse_csv(_read(path), file=str(path), **kw)


def parse_jsonl(text: str, *, file: str = "<jsonl>", name: str | None = None) -> Pool:
    """Units from JSONL text (see the module docstring)."""
    errors: list[SourceError] = []
    singles: list[tuple[int, PoolUnit]] = []
    pairs: dict[str, list[tuple[int, PoolProbe]]] = {}
    order: list[tuple[int, str]] = []  # (line, key) in file order; key is a unit id or pair
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(SourceError(file=file, line=n, problem=f"invalid JSON at column "
                                      f"{e.colno}: {e.msg}"))
            continue
        if not isinstance(d, dict):
            errors.append(SourceError(file=file, line=n, problem="expected a JSON object"))
            continue
        cat = d.get("category")
        if cat not in POOL_CATEGORIES:
            errors.append(SourceError(file=file, line=n, problem=f"category: {cat!r} is not "
                                      f"one of {', '.join(POOL_CATEGORIES)}"))
            continue
        if "scoring" not in d and cat in _DEFAULT_SCORING:
            d["scoring"] = {"type": _DEFAULT_SCORING[cat]}
        if "scoring" not in d:
            errors.append(SourceError(file=file, line=n, problem="scoring: a capability probe "
                                      "needs a scoring (type and answer)"))
            continue
        try:
            probe = make_probe(d)
        except ValidationError as e:
            errors.append(SourceError(file=file, line=n, problem=_first_error(e)))
            continue
        pair = getattr(probe, "pair", None)
        if pair:
            if pair not in pairs:
                order.append((n, pair))
            pairs.setdefault(pair, []).append((n, probe))
        else:
            singles.append((n, _unit(probe)))
            order.append((n, probe.id))
    units: dict[str, PoolUnit] = {u.id: u for _, u in singles}
    for pair, members in pairs.items():
        attrs = [getattr(p, "attribute", None) for _, p in members]
        if len(members) < 2 or len(set(attrs)) != len(attrs):
            errors.append(SourceError(file=file, line=members[0][0], problem=f"fairness pair "
                                      f"{pair!r} needs at least two variants with distinct "
                                      f"attributes (found {len(members)})"))
            continue
        first = members[0][1]
        units[pair] = PoolUnit(id=pair, category="fairness", subcategory=first.subcategory,
                               factors=Factors.from_tags(first.tags),
                               probes=tuple(p for _, p in members))
    if errors:
        raise SourceErrors(sorted(errors, key=lambda e: e.line or 0))
    if not units:
        raise SourceErrors([SourceError(file=file, line=1, problem="no probes in the file")])
    return _assemble([units[k] for _, k in order if k in units],
                     name=name or Path(file).stem or "imported", file=file)


def import_jsonl(path: str | Path, *, name: str | None = None) -> Pool:
    return parse_jsonl(_read(path), file=str(path), name=name)


def _unit(probe: PoolProbe) -> PoolUnit:
    return PoolUnit(id=probe.id, category=probe.category, subcategory=probe.subcategory,
                    factors=Factors.from_tags(probe.tags), probes=(probe,))


def _assemble(units: list[PoolUnit], *, name: str, file: str) -> Pool:
    try:
        return assemble(units, name=re.sub(r"[^A-Za-z0-9._-]", "-", name), version=1)
    except PoolError as e:
        raise SourceErrors([SourceError(file=file, problem=str(e))]) from None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "(row)"
    return f"{loc}: {err['msg'].removeprefix('Value error, ')}"
