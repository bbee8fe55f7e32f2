"""The contract every Tunewatch detector satisfies.

A detector consumes one observation at a time (``update(x)``, or a batch in order with
``update_many(xs)``, which returns the state after the last one) and returns a frozen
:class:`DetectorState` snapshot: the monitoring statistic, the alarm threshold, the latched drift
flag, the number of observations seen since the last ``reset()`` and the id of the reference the
detector compares against.

Shared semantics (each detector module documents its own specifics):

* ``drift`` is *latched*: once an alarm is raised it stays ``True`` until ``reset()``. The statistic
  keeps evolving after an alarm so that dashboards can follow it.
* ``merge(other)`` combines sufficient statistics for fleet aggregation. Unless a detector says
  otherwise, the result is the detector that would have seen *our* stream followed by *other's*
  stream ("other's stream appended after ours"). Both detectors must have identical configuration
  (and reference); a mismatch raises :class:`IncompatibleStateError`. ``merge`` returns ``self``.
* ``state_dict()`` is JSON-serialisable, carries ``kind`` and ``version``, and ``load_state(d)``
  restores it into a detector constructed with the same configuration, refusing (with a message that
  names the field) a state of another kind, version, configuration or reference.
* ``reset()`` forgets every observation (counts, statistic, alarm) but keeps configuration,
  reference and calibrated threshold; the detector is then equal to a freshly constructed one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, Self, runtime_checkable

__all__ = [
    "Detector",
    "DetectorState",
    "IncompatibleStateError",
    "check_state_header",
    "check_same_config",
    "array_sha256",
    "update_each",
]


class IncompatibleStateError(ValueError):
    """A state dict or a detector to merge does not match this detector's kind/config/reference."""


@dataclass(frozen=True)
class DetectorState:
    """Snapshot returned by ``update()``.

    ``statistic`` and ``threshold`` are in the detector's own units (documented per detector);
    ``drift`` is latched until ``reset()``; ``n`` counts observations since the last reset.
    """

    drift: bool
    statistic: float
    threshold: float
    n: int
    reference_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (non-finite floats become ``None``)."""
        d = asdict(self)
        for key in ("statistic", "threshold"):
            if not math.isfinite(d[key]):
                d[key] = None
        return d


@runtime_checkable
class Detector(Protocol):
    """Structural type of every detector (see the module docstring for semantics)."""

    def update(self, x: Any) -> DetectorState: ...

    def update_many(self, xs: Iterable[Any]) -> DetectorState: ...

    @property
    def drift_detected(self) -> bool: ...

    @property
    def state(self) -> DetectorState: ...

    def merge(self, other: Self) -> Self: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state(self, d: Mapping[str, Any]) -> None: ...

    def reset(self) -> None: ...


def update_each(detector: Detector, xs: Iterable[Any]) -> DetectorState:
    """``detector.update(x)`` for each of ``xs`` in order; the state after the last one (the
    current state when ``xs`` is empty). The ``update_many`` of detectors without a batched one."""
    state = detector.state
    for x in xs:
        state = detector.update(x)
    return state


def check_state_header(d: Mapping[str, Any], *, kind: str, version: int) -> None:
    """Validate the ``kind``/``version`` header of a state dict, with a clear message."""
    if not isinstance(d, Mapping):
        raise IncompatibleStateError(f"state must be a mapping, got {type(d).__name__}")
    got_kind = d.get("kind")
    if got_kind != kind:
        raise IncompatibleStateError(f"state kind is {got_kind!r}, this detector is {kind!r}")
    got_version = d.get("version")
    if got_version != version:
        raise IncompatibleStateError(
            f"state version is {got_version!r}, this detector reads version {version!r}"
        )


def check_same_config(ours: Mapping[str, Any], theirs: Mapping[str, Any], *, what: str) -> None:
    """Raise naming the first differing key between two configuration mappings."""
    for key in sorted(set(ours) | set(theirs)):
        if ours.get(key) != theirs.get(key):
            raise IncompatibleStateError(
                f"{what}: config field {key!r} differs ({ours.get(key)!r} here, "
                f"{theirs.get(key)!r} in the other state)"
            )


def array_sha256(a: Any) -> str:
    """Content hash of a numeric array (dtype float64, C order, shape included)."""
    import numpy as np

    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    h = hashlib.sha256(repr(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()
