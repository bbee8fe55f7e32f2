"""Bounded waits that cannot be ignored: a timeout is an AssertionError naming what never came."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class _Deadline:
    def __init__(self, timeout: float, what: str) -> None:
        self._at = time.monotonic() + timeout
        self._message = f"timed out after {timeout:g} s waiting for {what}"

    def check(self) -> None:
        if time.monotonic() >= self._at:
            raise AssertionError(self._message)


def wait_for(predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02,
             what: str = "the condition", ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Poll ``predicate`` until it returns something truthy and return that. Exceptions of the
    ``ignore`` types count as "not yet" (a server still starting); after ``timeout`` seconds,
    AssertionError."""
    deadline = _Deadline(timeout, what)
    while True:
        try:
            value = predicate()
            if value:
                return value
        except ignore:
            pass
        deadline.check()
        time.sleep(interval)


async def eventually(predicate: Callable[[], T], *, timeout: float = 10.0,
                     interval: float = 0.01, what: str = "the condition") -> T:
    """:func:`wait_for` for coroutines: polls without blocking the event loop."""
    deadline = _Deadline(timeout, what)
    while not (value := predicate()):
        deadline.check()
        await asyncio.sleep(interval)
    return value
