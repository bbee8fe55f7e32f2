"""Generate the probe pool (seeded, deterministic, content-addressed).

>>> pool = generate_pool(seed=DEFAULT_SEED)
>>> pool == generate_pool(seed=DEFAULT_SEED), len(pool.hash)
(True, 64)
>>> counts = pool.counts()
>>> counts["disallowed"] + counts["obfuscated"] >= 2000, counts["benign"] >= 300
(True, True)

Run ``python -m monitor.probes.pool.generate --out pool.jsonl [--seed N]`` to write the pool as
JSONL (one canonical JSON object per probe); the same seed writes the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from monitor.probes.pool.benign import benign
from monitor.probes.pool.capability import capability
from monitor.probes.pool.fairness import fairness
from monitor.probes.pool.harm import disallowed, obfuscated
from monitor.probes.pool.injection import disclosure, injection
from monitor.probes.pool.model import Pool, PoolUnit

POOL_NAME = "tunewatch-pool"
POOL_VERSION = 1  # bump when a template table changes
DEFAULT_SEED = 20261201

GENERATORS: tuple[tuple[str, Callable[[int], Iterator[PoolUnit]]], ...] = (
    ("disallowed", disallowed),
    ("obfuscated", obfuscated),
    ("injection", injection),
    ("disclosure", disclosure),
    ("capability", capability),
    ("fairness", fairness),
    ("benign", benign),
)


class PoolError(ValueError):
    """The generated or imported units are inconsistent (a duplicate canary, a clashing id)."""


def assemble(units: Iterable[PoolUnit], *, name: str, version: int) -> Pool:
    """A pool from units: identical units (same id) collapse to one, a reused canary or a probe
    id shared by different units is an error."""
    out: list[PoolUnit] = []
    seen: dict[str, PoolUnit] = {}
    probe_ids: dict[str, str] = {}
    canaries: dict[str, str] = {}
    for u in units:
        if u.id in seen:
            if seen[u.id] != u and seen[u.id].probes != u.probes:
                raise PoolError(f"unit id {u.id} is shared by two different units")
            continue
        for p in u.probes:
            if probe_ids.setdefault(p.id, u.id) != u.id:
                raise PoolError(f"probe id {p.id} appears in units {probe_ids[p.id]} and {u.id}")
            canary = getattr(p, "canary", None)
            if canary and canaries.setdefault(canary, u.id) != u.id:
                raise PoolError(f"canary of unit {u.id} is reused from unit {canaries[canary]}")
        seen[u.id] = u
        out.append(u)
    return Pool(name=name, version=version, units=tuple(out))


def combine(*pools: Pool, name: str, version: int = 1) -> Pool:
    """One pool from several (e.g. the generated pool and a team's imports); a unit in more
    than one pool is kept once."""
    return assemble((u for p in pools for u in p.units), name=name, version=version)


def generate_pool(*, seed: int = DEFAULT_SEED, categories: Iterable[str] | None = None) -> Pool:
    """The generated pool (all categories, or the given ones), in a fixed order."""
    wanted = set(categories) if categories is not None else None
    unknown = (wanted or set()) - {c for c, _ in GENERATORS}
    if unknown:
        raise ValueError(f"unknown pool categories: {', '.join(sorted(unknown))}")
    units = (u for cat, gen in GENERATORS if wanted is None or cat in wanted for u in gen(seed))
    return assemble(units, name=POOL_NAME, version=POOL_VERSION)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.probes.pool.generate",
                                     description="Write the generated probe pool as JSONL.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    pool = generate_pool(seed=args.seed)
    args.out.write_text(pool.to_jsonl(), encoding="utf-8")
    counts = ", ".join(f"{c} {n}" for c, n in pool.counts().items())
    print(f"wrote {args.out}: {len(pool.units)} units ({counts}); sha256 {pool.hash}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
