"""monitor/governance/schema.py: versioned migrations, atomic steps, newer databases refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from monitor.governance.schema import Migration, SchemaError, migrate, schema_version
from monitor.store import Store
from tests.support.threads import at_once

V1 = Migration(1, "t", ("CREATE TABLE t (a INTEGER)",))
V2 = Migration(2, "t.b", ("ALTER TABLE t ADD COLUMN b TEXT", "CREATE INDEX t_b ON t (b)"))


def columns(store: Store, table: str) -> list[str]:
    return [r[1] for r in store.query(f"PRAGMA table_info({table})")]


def test_fresh_database_gets_every_step_and_the_latest_version(store: Store) -> None:
    assert schema_version(store, "demo") == 0
    assert migrate(store, component="demo", migrations=[V1, V2]) == 2
    assert columns(store, "t") == ["a", "b"]
    assert schema_version(store, "demo") == 2


def test_rerun_is_a_no_op_and_steps_apply_incrementally(store: Store) -> None:
    migrate(store, component="demo", migrations=[V1])
    with store.transaction() as db:
        db.execute("INSERT INTO t (a) VALUES (1)")
    assert migrate(store, component="demo", migrations=[V1]) == 1
    assert migrate(store, component="demo", migrations=[V1, V2]) == 2
    assert store.query("SELECT a, b FROM t") == [(1, None)]  # data kept across the step
    assert migrate(store, component="demo", migrations=[V1, V2]) == 2


def test_components_are_versioned_independently(store: Store) -> None:
    migrate(store, component="one", migrations=[V1])
    migrate(store, component="two", migrations=[Migration(1, "u", ("CREATE TABLE u (x)",))])
    assert (schema_version(store, "one"), schema_version(store, "two")) == (1, 1)


def test_a_newer_database_is_refused_with_the_fix(store: Store) -> None:
    migrate(store, component="demo", migrations=[V1, V2])
    with pytest.raises(SchemaError) as exc:
        migrate(store, component="demo", migrations=[V1])
    msg = str(exc.value)
    assert "schema version 2" in msg and "understands (1)" in msg and "upgrade Tunewatch" in msg


def test_a_failing_step_leaves_the_previous_version_and_no_half_applied_schema(
        store: Store) -> None:
    migrate(store, component="demo", migrations=[V1])
    broken = Migration(2, "broken", ("CREATE TABLE half (x)", "ALTER TABLE nope ADD COLUMN y"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(store, component="demo", migrations=[V1, broken])
    assert schema_version(store, "demo") == 1
    assert not store.query("SELECT name FROM sqlite_master WHERE name = 'half'")
    assert migrate(store, component="demo", migrations=[V1, V2]) == 2  # and it recovers


def test_migrations_must_be_numbered_in_order(store: Store) -> None:
    with pytest.raises(ValueError, match="numbered 1..n"):
        migrate(store, component="demo", migrations=[V2])


def test_two_processes_migrating_at_once_apply_each_step_once(
        open_store: Callable[[], Store]) -> None:
    """Two connections (as the daemon and the CLI would have) race on one file: BEGIN IMMEDIATE
    serialises them, so the CREATE TABLE never runs twice (it would raise)."""
    stores = [open_store(), open_store()]
    errors = at_once(lambda s: migrate(s, component="race", migrations=[V1, V2]), stores)
    assert not errors, errors
    assert schema_version(stores[0], "race") == 2
