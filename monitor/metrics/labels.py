"""Bounded label values: every label of a Tunewatch metric takes a bounded set of values, each a
printable line (``monitor/untrusted.py``: lone surrogates would make the exposition fail).

>>> guard = BoundedLabel(limit=2)
>>> [guard("a"), guard("b"), guard("c"), guard("a"), guard(None)]
['a', 'b', 'other', 'a', 'unknown']
>>> status_class(200), status_class(504), status_class(42)
('2xx', '5xx', 'other')
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from monitor.untrusted import safe_token

OTHER = "other"
UNKNOWN = "unknown"


class BoundedLabel:
    """Map label values to themselves for the first ``limit`` distinct values, then to ``other``.

    ``seen`` pre-loads values already exported (e.g. restored from the store), in order: they keep
    their label, and count towards the limit.
    """

    def __init__(self, *, limit: int, seen: Iterable[str] = ()) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        for value in seen:
            self(value)

    def __call__(self, value: str | None) -> str:
        value = safe_token(value)
        if not value:
            return UNKNOWN
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return OTHER


def status_class(status: int) -> str:
    """``200 -> '2xx'``; anything outside 100-599 is ``other``."""
    if 100 <= status <= 599:
        return f"{status // 100}xx"
    return OTHER
