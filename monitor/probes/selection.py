"""Which probes a scheduled run sends: fresh pool units of the epoch, or the (rotating) suite.

* **Pool** (``probes.pool.enabled``): per category, the next ``probes.pool.per_category`` units
  this epoch has not drawn yet (:class:`~monitor.probes.pool.sampler.EpochSampler`, without
  replacement, stratified over subcategories; table ``pool_draws``). Draws are recorded only after
  a successful run, so a failed run draws nothing. A category whose every unit was drawn in the
  epoch is *exhausted*: with ``when_exhausted: recycle`` (default) its draw record is forgotten
  and drawing starts over (the per-run test keeps judging the same units; the sequential tests
  count none of them twice), with ``stop`` it draws nothing until the epoch changes. Passes over
  each category per epoch are kept in ``probe_state`` (``pool_passes:<epoch>:<category>``).
* **Suite**: the whole suite, or a rotating subset of ``probes.subset_size`` units (the offset
  persists in ``probe_state``). Re-sent units are counted once per epoch by the ledgers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from monitor.probes.config import ProbeSettings
from monitor.probes.pool.model import Pool, PoolUnit
from monitor.probes.pool.sampler import Coverage, EpochSampler
from monitor.probes.store import ROTATION_OFFSET, ProbeStore
from monitor.probes.suite import Probe, Suite
from monitor.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """One run's probes; ``units`` (pool mode) are recorded as drawn after a successful run."""

    epoch: str
    probes: list[Probe]
    units: tuple[PoolUnit, ...] = ()
    next_offset: int = 0
    recycled: tuple[str, ...] = ()  # categories whose draws started over in this selection


@dataclass(frozen=True)
class CategoryCoverage:
    """A category of the pool in one epoch: units drawn in this pass, passes completed."""

    category: str
    drawn: int
    total: int
    passes: int

    @property
    def exhausted(self) -> bool:
        """Every unit was drawn at least once in this epoch."""
        return self.passes > 0 or self.drawn >= self.total

    def as_dict(self) -> dict[str, object]:
        return {"drawn": self.drawn, "total": self.total, "passes": self.passes,
                "exhausted": self.exhausted}


def unit_groups(suite: Suite) -> list[list[Probe]]:
    """The suite's units in order: one probe, or the variants of one fairness pair."""
    groups: list[list[Probe]] = []
    pairs: dict[str, list[Probe]] = {}
    for p in suite.probes:
        if p.pair:
            if p.pair not in pairs:
                pairs[p.pair] = []
                groups.append(pairs[p.pair])
            pairs[p.pair].append(p)
        else:
            groups.append([p])
    return groups


@dataclass
class ProbeSelector:
    """Selects each run's probes (see the module docstring)."""

    settings: ProbeSettings
    runs: ProbeStore
    suite: Suite
    store: Store
    pool: Pool | None = None
    clock: Callable[[], float] | None = None
    _groups: list[list[Probe]] = field(init=False)
    _sampler: EpochSampler | None = field(init=False, default=None)
    _told: set[tuple[str, str]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._groups = unit_groups(self.suite)
        if self.pool is not None:
            kw = {"clock": self.clock} if self.clock is not None else {}
            self._sampler = EpochSampler(pool=self.pool, store=self.store,
                                         seed=self.settings.pool.seed, **kw)

    @property
    def uses_pool(self) -> bool:
        return self._sampler is not None

    def units_per_category(self) -> dict[str, int]:
        """Distinct units per category (the pool's, or the suite's)."""
        if self.pool is not None:
            return self.pool.counts()
        return dict(Counter(g[0].category for g in self._groups))

    # -- selecting ---------------------------------------------------------------------------
    def select(self, epoch: str) -> Selection:
        if self._sampler is None:
            return self._rotate(epoch)
        sampler, s = self._sampler, self.settings.pool
        per = s.per_category
        sizes = dict(per) if isinstance(per, Mapping) else {c: per for c in sampler.categories}
        sizes = {c: n for c, n in sizes.items() if c in sampler.categories and n > 0}
        coverage = sampler.coverage(epoch=epoch)
        recycled = []
        for cat in sizes:
            if coverage[cat].exhausted:
                if (epoch, cat) not in self._told:
                    self._told.add((epoch, cat))
                    log.info("probe pool category %s exhausted in epoch %s (%d units)", cat,
                             epoch, coverage[cat].total)
                if s.when_exhausted == "recycle":
                    sampler.forget(epoch=epoch, category=cat)
                    self._add_pass(epoch, cat)
                    recycled.append(cat)
        units = sampler.next_subset(epoch=epoch, per_category=sizes)
        return Selection(epoch=epoch, probes=[p for u in units for p in u.probes], units=units,
                         recycled=tuple(recycled))

    def _rotate(self, epoch: str) -> Selection:
        n = len(self._groups)
        size = self.settings.subset_size
        if not size or size >= n:
            return Selection(epoch=epoch, probes=[p for g in self._groups for p in g])
        offset = int(self.runs.get_state(ROTATION_OFFSET) or 0) % n
        chosen = [self._groups[(offset + i) % n] for i in range(size)]
        return Selection(epoch=epoch, probes=[p for g in chosen for p in g],
                         next_offset=(offset + size) % n)

    def record(self, selection: Selection, *, run_id: str) -> None:
        """Mark a successful run's units drawn (pool mode; a repeat is ignored)."""
        if self._sampler is not None and selection.units:
            self._sampler.record(epoch=selection.epoch, units=selection.units, run_id=run_id)

    # -- coverage ------------------------------------------------------------------------------
    def coverage(self, epoch: str, *, pending: Selection | None = None
                 ) -> dict[str, CategoryCoverage]:
        """Per pool category in ``epoch`` (empty in suite mode), counting the units of a
        ``pending`` selection as drawn (a successful run not recorded yet)."""
        if self._sampler is None:
            return {}
        drawn = self._sampler.drawn_ids(epoch=epoch)
        if pending is not None:
            drawn |= {u.id for u in pending.units}
        cov: Mapping[str, Coverage] = self._sampler.coverage(epoch=epoch, drawn=drawn)
        return {c: CategoryCoverage(category=c, drawn=v.drawn, total=v.total,
                                    passes=self._passes(epoch, c)) for c, v in cov.items()}

    def _passes(self, epoch: str, category: str) -> int:
        return int(self.runs.get_state(f"pool_passes:{epoch}:{category}") or 0)

    def _add_pass(self, epoch: str, category: str) -> None:
        self.runs.set_state(f"pool_passes:{epoch}:{category}",
                            str(self._passes(epoch, category) + 1))
