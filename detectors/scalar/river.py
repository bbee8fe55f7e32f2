"""What the river-backed scalar drift detectors share: latching, counting, replay, persistence.

Each detector of this package (:class:`~detectors.scalar.adwin.AdwinDetector`,
:class:`~detectors.scalar.page_hinkley.PageHinkleyDetector`,
:class:`~detectors.scalar.kswin.KswinDetector`) wraps one river detector. The river detector
restarts itself after each detection (as river does); the wrapper *latches* ``drift`` until
``reset()`` and counts detections in ``alarms``. ``reset()`` builds a fresh river detector
(forgetting all data) with the same parameters.

Persistence and merge replay retained observations: the wrapper keeps the observations since the
last reset, up to ``max_history`` (default 10 000). ``load_state`` and ``merge`` rebuild the river
state by replaying them, which is exact while nothing was dropped (``n <= max_history``); beyond
that the replay sees only the latest ``max_history`` values (the state records ``exact: false``).

States written before the split into one class per method (``kind: "scalar_river"``, version 1,
``config.method`` naming the method) are migrated by ``load_state``: the method must match this
class, the parameters this class has must match, the others are dropped.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from detectors.base import (
    DetectorState,
    IncompatibleStateError,
    check_same_config,
    check_state_header,
    update_each,
)

__all__ = ["LEGACY_KIND", "RiverScalarDetector"]

LEGACY_KIND = "scalar_river"  # one class for all methods, before the split (version 1)


class RiverScalarDetector(ABC):
    """Base of the river-backed univariate detectors (see the module docstring)."""

    KIND: ClassVar[str]
    VERSION: ClassVar[int] = 1
    METHOD: ClassVar[str]  # the method's name in a legacy ``scalar_river`` state

    def __init__(self, *, reference_id: str | None, max_history: int) -> None:
        if max_history < 1:
            raise ValueError(f"max_history must be >= 1, got {max_history}")
        self.reference_id = reference_id
        self.max_history = int(max_history)
        self.reset()

    # -- what each method defines ------------------------------------------------------------
    @abstractmethod
    def _new_river(self) -> Any:
        """A fresh river detector with this detector's parameters."""

    @abstractmethod
    def _statistic(self) -> float:
        """The monitoring statistic reported in :class:`DetectorState` (documented per class)."""

    @abstractmethod
    def _threshold(self) -> float:
        """The alarm threshold reported in :class:`DetectorState` (NaN when it has none)."""

    @abstractmethod
    def _params(self) -> dict[str, Any]:
        """The method's parameters (the configuration besides reference id and history bound)."""

    def _observe(self, x: float) -> None:
        """Hook run for every new observation before river sees it (e.g. a running sum)."""
        return None

    def _extra_state(self) -> dict[str, Any]:
        """Method-specific fields of ``state_dict()`` beyond the shared ones."""
        return {}

    def _parse_extra(self, d: Mapping[str, Any]) -> dict[str, Any]:
        """Read the fields written by :meth:`_extra_state` (raise KeyError, TypeError or
        ValueError on a malformed state); :meth:`_apply_extra` installs them."""
        return {}

    def _apply_extra(self, values: Mapping[str, Any]) -> None:
        """Install what :meth:`_parse_extra` read (after ``reset()``)."""
        return None

    def _reset_extra(self) -> None:
        """Forget the method-specific running values."""
        return None

    # -- contract ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all observations: a fresh river detector, zero counts, alarm cleared."""
        self._river = self._new_river()
        self._history: deque[float] = deque(maxlen=self.max_history)
        self._n = 0
        self._alarms = 0
        self._exact = True
        self._reset_extra()

    def _feed(self, x: float) -> None:
        self._observe(x)
        self._river.update(x)
        self._history.append(x)
        self._n += 1
        if self._n > self.max_history:
            self._exact = False
        if self._river.drift_detected:
            self._alarms += 1

    def update(self, x: Any) -> DetectorState:
        """Add one finite scalar observation."""
        try:
            v = float(x)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a scalar observation must be a real number, got {x!r}") from exc
        if not math.isfinite(v):
            raise ValueError(f"a scalar observation must be finite, got {x!r}")
        self._feed(v)
        return self.state

    def update_many(self, xs: Iterable[Any]) -> DetectorState:
        """Add observations in order; returns the final state."""
        return update_each(self, xs)

    @property
    def alarms(self) -> int:
        """Number of river detections since the last reset."""
        return self._alarms

    @property
    def drift_detected(self) -> bool:
        return self._alarms > 0

    @property
    def state(self) -> DetectorState:
        return DetectorState(
            drift=self.drift_detected,
            statistic=self._statistic(),
            threshold=self._threshold(),
            n=self._n,
            reference_id=self.reference_id,
        )

    def _config(self) -> dict[str, Any]:
        return {**self._params(), "reference_id": self.reference_id,
                "max_history": self.max_history}

    def merge(self, other: Self) -> Self:
        """Append ``other``'s stream after ours by replaying its retained observations.

        Exact when ``other`` dropped nothing (``other.state.n <= max_history``).
        """
        if type(other) is not type(self):
            raise IncompatibleStateError(f"cannot merge {type(other).__name__} into {self.KIND}")
        check_same_config(self._config(), other._config(), what="merge")
        n_target = self._n + other._n
        for x in list(other._history):
            self._feed(x)
        self._n = n_target
        self._exact = self._exact and other._exact
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "config": self._config(),
            "n": self._n,
            "alarms": self._alarms,
            "exact": self._exact,
            "history": list(self._history),
            **self._extra_state(),
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        if isinstance(d, Mapping) and d.get("kind") == LEGACY_KIND:
            d = self._migrate(d)
        check_state_header(d, kind=self.KIND, version=self.VERSION)
        check_same_config(self._config(), d.get("config", {}), what="load_state")
        try:
            n, alarms = int(d["n"]), int(d["alarms"])
            history = [float(v) for v in d["history"]]
            exact = bool(d["exact"])
            extra = self._parse_extra(d)
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleStateError(f"malformed {self.KIND} state: {exc!r}") from exc
        if len(history) != min(n, self.max_history) or alarms < 0:
            raise IncompatibleStateError("inconsistent scalar state: history length vs n")
        self.reset()
        self._apply_extra(extra)
        for x in history:
            self._river.update(x)
            self._history.append(x)
        self._n, self._alarms, self._exact = n, alarms, exact

    def _migrate(self, d: Mapping[str, Any]) -> dict[str, Any]:
        """A legacy ``scalar_river`` state as a state of this class (see the module docstring)."""
        if d.get("version") != 1:
            raise IncompatibleStateError(
                f"state version is {d.get('version')!r}, {LEGACY_KIND} states have version 1")
        legacy = d.get("config")
        if not isinstance(legacy, Mapping) or legacy.get("method") != self.METHOD:
            method = legacy.get("method") if isinstance(legacy, Mapping) else None
            raise IncompatibleStateError(
                f"{LEGACY_KIND} state of method {method!r}, this detector is {self.METHOD!r}")
        config = {key: legacy.get(key) for key in self._config()}
        return {**d, "kind": self.KIND, "version": self.VERSION, "config": config}
