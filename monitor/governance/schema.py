"""Versioned SQLite schemas: a ``schema_version`` row per component and explicit migrations.

Each component that owns tables lists its migrations (version 1, 2, ... in order); :func:`migrate`
applies the ones the database has not seen, each run inside one ``BEGIN IMMEDIATE`` transaction
together with the version bump, so two processes opening the same file (the daemon and the CLI)
never apply a step twice and a failed step leaves the previous version intact. A database written
by a newer Tunewatch (a version this code does not know) is refused, never guessed at.

>>> from monitor.store import Store
>>> s = Store(":memory:")
>>> steps = [Migration(1, "kv table", ("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)",)),
...          Migration(2, "kv.at", ("ALTER TABLE kv ADD COLUMN at REAL",))]
>>> migrate(s, component="demo", migrations=steps[:1])
1
>>> migrate(s, component="demo", migrations=steps)
2
>>> schema_version(s, "demo")
2
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.store import Store

VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "component TEXT PRIMARY KEY, version INTEGER NOT NULL, migrated_at REAL NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    """One schema step: ``statements`` are single SQL statements, executed in order."""

    version: int
    description: str
    statements: tuple[str, ...]


class SchemaError(RuntimeError):
    """The database cannot be used with this code (e.g. written by a newer version)."""


def _check(component: str, migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"{component}: migrations must be numbered 1..n in order, got {versions}")


def schema_version(store: Store, component: str) -> int:
    """The version of ``component``'s tables in ``store`` (0: never created)."""
    store.ensure_schema(VERSION_TABLE)
    rows = store.query("SELECT version FROM schema_version WHERE component = ?", (component,))
    return int(rows[0][0]) if rows else 0


def migrate(
    store: Store,
    *,
    component: str,
    migrations: Sequence[Migration],
    clock: Callable[[], float] = time.time,
) -> int:
    """Bring ``component``'s tables to the latest version; return it.

    Raises :class:`SchemaError` when the database is newer than ``migrations``.
    """
    _check(component, migrations)
    latest = len(migrations)
    store.ensure_schema(VERSION_TABLE)
    with store.transaction() as db:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT version FROM schema_version WHERE component = ?", (component,)
        ).fetchone()
        current = int(row[0]) if row else 0
        if current > latest:
            raise SchemaError(
                f"the {component} tables in {store.path} are at schema version {current}, newer "
                f"than this Tunewatch understands ({latest}); upgrade Tunewatch, or point "
                "store.path at another database"
            )
        for step in migrations[current:]:
            for statement in step.statements:
                db.execute(statement)
        if current < latest:
            db.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?) ON CONFLICT(component) "
                "DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at",
                (component, latest, clock()),
            )
    return latest
