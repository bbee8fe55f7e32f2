"""Racing threads: release several callers at once and collect what they raised."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def at_once(fn: Callable[[T], object], items: Sequence[T], *,
            join_timeout_s: float = 30.0) -> list[BaseException]:
    """Run ``fn(item)`` for every item on its own thread, all released by one barrier (10 s),
    and return the exceptions they raised (empty when none did)."""
    barrier = threading.Barrier(len(items))
    errors: list[BaseException] = []

    def run(item: T) -> None:
        barrier.wait(timeout=10)
        try:
            fn(item)
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=join_timeout_s)
    return errors
