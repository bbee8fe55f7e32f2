"""The ``detector_state`` table: ``state_dict()`` snapshots of the traffic detectors, by name.

This module owns the table; the detector host reads and writes it through :class:`StateTable`
slots. (The probe CUSUMs keep their state with the probe runs, in ``probe_state``, owned by
:mod:`monitor.probes.store`.)

>>> from monitor.store import Store
>>> table = StateTable(Store(":memory:"), clock=lambda: 1.0)
>>> slot = table.slot("latency")
>>> slot.load() is None
True
>>> slot.save({"kind": "adwin", "n": 3})
>>> slot.load()
{'kind': 'adwin', 'n': 3}
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from monitor.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS detector_state (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


class StateTable:
    """Detector ``state_dict()`` snapshots by detector name."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        store.ensure_schema(SCHEMA)

    def save(self, name: str, state: Mapping[str, Any]) -> None:
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO detector_state VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "kind = excluded.kind, state = excluded.state, updated = excluded.updated",
                (name, str(state.get("kind", "")), json.dumps(dict(state)), self._clock()),
            )

    def load(self, name: str) -> dict[str, Any] | None:
        rows = self._store.query("SELECT state FROM detector_state WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def slot(self, name: str) -> StateRow:
        return StateRow(self, name)


class StateRow:
    """One detector's row (a :class:`monitor.detection.host.StateSlot`)."""

    def __init__(self, table: StateTable, name: str) -> None:
        self._table = table
        self.name = name

    def load(self) -> dict[str, Any] | None:
        return self._table.load(self.name)

    def save(self, state: Mapping[str, Any]) -> None:
        self._table.save(self.name, state)
