"""A probe pool that does not run out: generated and imported units, drawn once per epoch.

* :mod:`~monitor.probes.pool.generate` — the seeded generator (:func:`generate_pool`), one
  module per category family (``harm``, ``injection``, ``capability``, ``fairness``, ``benign``);
* :mod:`~monitor.probes.pool.model` — :class:`Pool`, :class:`PoolUnit`, :class:`Factors`;
* :mod:`~monitor.probes.pool.sampler` — :class:`EpochSampler`, draws without replacement per
  deployment fingerprint (table ``pool_draws``);
* :mod:`~monitor.probes.pool.importers` — CSV (HarmBench, JailbreakBench, AdvBench, generic) and
  JSONL.

See docs/probe-pool.md.
"""

from monitor.probes.pool.generate import DEFAULT_SEED, combine, generate_pool
from monitor.probes.pool.importers import import_csv, import_jsonl, parse_csv, parse_jsonl
from monitor.probes.pool.model import POOL_CATEGORIES, Factors, Pool, PoolUnit
from monitor.probes.pool.sampler import Coverage, Draw, EpochSampler, epoch_key

__all__ = [
    "DEFAULT_SEED",
    "POOL_CATEGORIES",
    "Coverage",
    "Draw",
    "EpochSampler",
    "Factors",
    "Pool",
    "PoolUnit",
    "combine",
    "epoch_key",
    "generate_pool",
    "import_csv",
    "import_jsonl",
    "parse_csv",
    "parse_jsonl",
]
