"""The pool the daemon probes with: the generated pool plus a team's imports, from settings.

``probes.pool`` (:class:`monitor.probes.config.PoolSettings`) names what goes in: the generated
pool (seed, categories) and CSV/JSONL files. Every bad row of every file is reported in one
:class:`~monitor.probes.yamlmarks.SourceErrors` (``FILE:LINE: problem``), so a start with a broken
import fails with all of its problems at once.

>>> from monitor.probes.config import PoolSettings
>>> pool = load_pool(PoolSettings(categories=["disclosure"]))
>>> pool.name, pool.counts()
('tunewatch-pool', {'disclosure': 282})
"""

from __future__ import annotations

from monitor.probes.config import PoolImport, PoolSettings
from monitor.probes.pool.generate import POOL_NAME, combine, generate_pool
from monitor.probes.pool.importers import import_csv, import_jsonl
from monitor.probes.pool.model import Pool
from monitor.probes.yamlmarks import SourceError, SourceErrors


def import_file(spec: PoolImport) -> Pool:
    """One import: CSV (format from its header) or JSONL, by the file's suffix."""
    if spec.path.suffix.lower() == ".csv":
        return import_csv(spec.path, category=spec.category,
                          category_map=spec.category_map or None)
    return import_jsonl(spec.path)


def load_pool(settings: PoolSettings) -> Pool:
    """The generated pool (unless ``generated`` is off) combined with every import."""
    parts: list[Pool] = []
    if settings.generated:
        parts.append(generate_pool(seed=settings.seed, categories=settings.categories))
    errors: list[SourceError] = []
    for spec in settings.imports:
        try:
            parts.append(import_file(spec))
        except SourceErrors as e:
            errors.extend(e.errors)
    if errors:
        raise SourceErrors(errors)
    if not parts:
        raise SourceErrors([SourceError(
            file="probes.pool", problem="the generated pool is off and nothing is imported; fix: "
            "set probes.pool.generated: true or list files in probes.pool.imports")])
    return combine(*parts, name=POOL_NAME)
