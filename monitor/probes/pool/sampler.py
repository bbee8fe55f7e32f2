"""Draw pool units without replacement within an epoch, stratified per category.

An **epoch** is a deployment fingerprint (model revision, system prompt, filter ...): evidence
about one deployment is counted once per unit (:mod:`detectors.ledger`), so a scheduled run
should only send units this epoch has not seen yet. The sampler keeps, per epoch, which units
were drawn (table ``pool_draws``, owned by this module) and returns the next ones per category:

* **order**: within a category, units are interleaved round-robin over subcategories (hazards,
  carriers, ...), each subcategory in a seeded permutation keyed by ``(seed, epoch, unit id)``:
  any prefix of the order is balanced across subcategories, and another epoch gets another order;
* **never repeated**: a drawn unit is recorded under its epoch and not offered again in it;
  units that leave the pool stay recorded, units that join it are offered;
* **coverage**: drawn / total per category, and which categories are exhausted (nothing left
  this epoch). An exhausted category draws nothing until the epoch changes: re-sending a unit
  would add no evidence.

>>> from monitor.store import Store
>>> from monitor.probes.pool.generate import generate_pool
>>> pool = generate_pool(categories=["disclosure"])
>>> sampler = EpochSampler(pool=pool, store=Store(":memory:"), clock=lambda: 0.0)
>>> first = sampler.draw(epoch="fp-a", per_category=100, run_id="r1")
>>> second = sampler.draw(epoch="fp-a", per_category=200, run_id="r2")
>>> len(first.units), len(second.units), second.exhausted
(100, 182, ('disclosure',))
>>> {u.id for u in first.units} & {u.id for u in second.units}
set()
>>> sampler.coverage(epoch="fp-b")["disclosure"].drawn   # a new epoch starts afresh
0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest

from monitor.probes.pool.ids import canonical_json, rank, sha256_hex
from monitor.probes.pool.model import Pool, PoolProbe, PoolUnit
from monitor.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS pool_draws (
    epoch TEXT NOT NULL,               -- deployment fingerprint hash
    unit_id TEXT NOT NULL,             -- content-derived pool unit id
    category TEXT NOT NULL,
    run_id TEXT NOT NULL,
    drawn_at REAL NOT NULL,
    PRIMARY KEY (epoch, unit_id)
);
CREATE INDEX IF NOT EXISTS pool_draws_epoch_category ON pool_draws (epoch, category);
"""


@dataclass(frozen=True)
class Coverage:
    """Units of one category drawn in one epoch, out of those in the pool now."""

    category: str
    drawn: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.drawn

    @property
    def fraction(self) -> float:
        return self.drawn / self.total if self.total else 1.0

    @property
    def exhausted(self) -> bool:
        return self.drawn >= self.total


@dataclass(frozen=True)
class Draw:
    """One draw: the units to send, and the coverage of the epoch after recording them."""

    epoch: str
    run_id: str
    units: tuple[PoolUnit, ...]
    coverage: Mapping[str, Coverage]

    @property
    def exhausted(self) -> tuple[str, ...]:
        return tuple(c for c, cov in self.coverage.items() if cov.exhausted)

    def probes(self) -> list[PoolProbe]:
        return [p for u in self.units for p in u.probes]


class EpochSampler:
    """Stratified draws without replacement per epoch (see the module docstring)."""

    def __init__(self, *, pool: Pool, store: Store, seed: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.pool = pool
        self.store = store
        self.seed = seed
        self._clock = clock
        store.ensure_schema(DDL)
        self._by_category: dict[str, dict[str, list[PoolUnit]]] = {}
        for u in pool.units:
            self._by_category.setdefault(u.category, {}).setdefault(u.subcategory, []).append(u)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._by_category)

    # -- reading ---------------------------------------------------------------------------
    def drawn_ids(self, *, epoch: str) -> set[str]:
        rows = self.store.query("SELECT unit_id FROM pool_draws WHERE epoch = ?", (epoch,))
        return {r[0] for r in rows}

    def order(self, *, epoch: str, category: str) -> list[PoolUnit]:
        """The epoch's full draw order of one category (round-robin over subcategories)."""
        groups = self._by_category.get(category, {})
        lanes = [sorted(units, key=lambda u: rank(self.seed, f"{epoch}\x1f{u.id}"))
                 for _, units in sorted(groups.items(),
                                        key=lambda kv: rank(self.seed, f"{epoch}\x1f{kv[0]}"))]
        return [u for row in zip_longest(*lanes) for u in row if u is not None]

    def coverage(self, *, epoch: str, drawn: set[str] | None = None) -> dict[str, Coverage]:
        drawn = self.drawn_ids(epoch=epoch) if drawn is None else drawn
        out = {}
        for cat, groups in self._by_category.items():
            ids = [u.id for units in groups.values() for u in units]
            out[cat] = Coverage(category=cat, drawn=sum(i in drawn for i in ids), total=len(ids))
        return out

    def next_subset(self, *, epoch: str,
                    per_category: int | Mapping[str, int]) -> tuple[PoolUnit, ...]:
        """The next undrawn units per category (read only: nothing is recorded)."""
        if not epoch:
            raise ValueError("epoch must be a non-empty fingerprint key")
        sizes = self._sizes(per_category)
        drawn = self.drawn_ids(epoch=epoch)
        chosen: list[PoolUnit] = []
        for cat, size in sizes.items():
            if size <= 0:
                continue
            fresh = (u for u in self.order(epoch=epoch, category=cat) if u.id not in drawn)
            for _, u in zip(range(size), fresh, strict=False):
                chosen.append(u)
        return tuple(chosen)

    # -- writing ---------------------------------------------------------------------------
    def record(self, *, epoch: str, units: Iterable[PoolUnit], run_id: str) -> int:
        """Mark ``units`` drawn in ``epoch``; returns how many were new (a repeat is ignored)."""
        now = self._clock()
        rows = [(epoch, u.id, u.category, run_id, now) for u in units]
        with self.store.transaction() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO pool_draws VALUES (?, ?, ?, ?, ?)", rows)
            return db.total_changes - before

    def draw(self, *, epoch: str, per_category: int | Mapping[str, int], run_id: str) -> Draw:
        """:meth:`next_subset` and :meth:`record` in one step."""
        units = self.next_subset(epoch=epoch, per_category=per_category)
        self.record(epoch=epoch, units=units, run_id=run_id)
        return Draw(epoch=epoch, run_id=run_id, units=units, coverage=self.coverage(epoch=epoch))

    def forget(self, *, epoch: str, category: str | None = None) -> None:
        """Drop an epoch's draw record, or one category's (an operator decision, or the
        scheduler recycling an exhausted category: its units are offered again)."""
        with self.store.transaction() as db:
            if category is None:
                db.execute("DELETE FROM pool_draws WHERE epoch = ?", (epoch,))
            else:
                db.execute("DELETE FROM pool_draws WHERE epoch = ? AND category = ?",
                           (epoch, category))

    def _sizes(self, per_category: int | Mapping[str, int]) -> dict[str, int]:
        if isinstance(per_category, int):
            return {c: per_category for c in self._by_category}
        unknown = set(per_category) - set(self._by_category)
        if unknown:
            raise ValueError(f"no pool units in categories {', '.join(sorted(unknown))} (pool "
                             f"categories: {', '.join(self._by_category)})")
        return {c: int(n) for c, n in per_category.items()}


def epoch_key(components: Mapping[str, str], *, keys: Sequence[str] | None = None) -> str:
    """A stable epoch key from deployment fingerprint components (e.g.
    ``FingerprintTracker.current()``): sha256 of the chosen components, 16 hex digits.

    >>> epoch_key({"model": "m1", "system_prompt": "ab12"})
    'ep-9626c8d4035dd95d'
    """
    chosen = {k: components[k] for k in (keys if keys is not None else sorted(components))
              if k in components}
    return "ep-" + sha256_hex(canonical_json(chosen))[:16]
