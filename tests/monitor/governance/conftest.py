"""Fixtures for the governance tests: a settable clock, a file-backed store, disposition data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.store import Store
from tests.monitor.governance.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tw.db"


@pytest.fixture
def open_store(db_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens Store objects on one file (a second one stands for a restart); closes them all."""
    stores: list[Store] = []

    def make() -> Store:
        s = Store(db_path)
        stores.append(s)
        return s

    yield make
    for s in stores:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()
