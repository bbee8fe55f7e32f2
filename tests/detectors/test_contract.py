"""One contract suite run over every detector (see detectors/base.py for the semantics)."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from detectors.base import Detector, DetectorState, IncompatibleStateError
from detectors.cusum import BernoulliCusum
from detectors.mmd import EmbeddingDriftDetector
from detectors.scalar import AdwinDetector, KswinDetector, PageHinkleyDetector

_REF = np.random.default_rng(11).normal(size=(120, 4))


@dataclass(frozen=True)
class Case:
    name: str
    cls: type
    make: Callable[[], Any]
    stream: list[Any]  # drifts somewhere in the middle so merges cross an alarm


def _bern(n: int, p: float, seed: int) -> list[bool]:
    return list(np.random.default_rng(seed).random(n) < p)


def _scalar_stream() -> list[float]:
    rng = np.random.default_rng(5)
    return list(np.concatenate([rng.normal(0, 1, 300), rng.normal(3, 1, 200)]))


def _mmd_stream() -> list[np.ndarray]:
    rng = np.random.default_rng(6)
    return list(np.concatenate([rng.normal(size=(90, 4)), rng.normal(1.5, 1, size=(60, 4))]))


CASES = [
    Case(
        "cusum_drop",
        BernoulliCusum,
        lambda: BernoulliCusum(p0=0.3, p1=0.15, arl0=300, reference_id="base/cat"),
        _bern(150, 0.3, 1) + _bern(250, 0.05, 2),
    ),
    Case(
        "cusum_rise",
        BernoulliCusum,
        lambda: BernoulliCusum(p0=0.1, p1=0.3, arl0=300),
        _bern(150, 0.1, 3) + _bern(150, 0.5, 4),
    ),
    Case(
        "mmd",
        EmbeddingDriftDetector,
        lambda: EmbeddingDriftDetector(
            reference=_REF, reference_id="ref-a", window=20, ert=400, n_streams=64, n_steps=400
        ),
        _mmd_stream(),
    ),
    Case("adwin", AdwinDetector, lambda: AdwinDetector(), _scalar_stream()),
    Case(
        "page_hinkley",
        PageHinkleyDetector,
        lambda: PageHinkleyDetector(threshold=20.0),
        _scalar_stream(),
    ),
    Case(
        "kswin",
        KswinDetector,
        lambda: KswinDetector(window_size=60, stat_size=20, seed=3),
        _scalar_stream(),
    ),
]

_MAKERS: dict[str, Any] = {}


def make(case: Case) -> Any:
    """Construction (incl. calibration) once per case; later copies via state round trip."""
    if case.name not in _MAKERS:
        _MAKERS[case.name] = case.make()
    proto = _MAKERS[case.name]
    det = case.make() if case.cls is not EmbeddingDriftDetector else EmbeddingDriftDetector(
        reference=_REF, reference_id="ref-a", window=20, ert=400, threshold=proto.threshold
    )
    return det


def same(a: DetectorState, b: DetectorState) -> None:
    assert (a.drift, a.n, a.reference_id) == (b.drift, b.n, b.reference_id)
    for x, y in ((a.statistic, b.statistic), (a.threshold, b.threshold)):
        assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9, abs=1e-12)


def feed(det: Any, xs: list[Any]) -> list[DetectorState]:
    return [det.update(x) for x in xs]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def test_protocol_and_return_type(case: Case) -> None:
    det = make(case)
    assert isinstance(det, Detector)
    states = feed(det, case.stream)
    batch = make(case)
    same(batch.update_many(case.stream), states[-1])  # update_many = update in order
    assert all(type(s) is DetectorState for s in states)
    assert states[-1] == det.state
    assert det.drift_detected is det.state.drift
    assert det.state.n == len(case.stream)
    # every stream drifts; drift is latched once raised
    first = next(i for i, s in enumerate(states) if s.drift)
    assert all(s.drift for s in states[first:])
    assert first > 0


def test_keyword_only_constructor(case: Case) -> None:
    params = list(inspect.signature(case.cls.__init__).parameters.values())[1:]
    assert params and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError):
        case.cls(0.1)


@pytest.mark.parametrize("cut", [0.3, 0.55, 0.9])
def test_state_dict_json_round_trip(case: Case, cut: float) -> None:
    k = int(len(case.stream) * cut)
    one = make(case)
    feed(one, case.stream[:k])
    d = json.loads(json.dumps(one.state_dict(), allow_nan=False))
    assert d["kind"] == case.cls.KIND and d["version"] == case.cls.VERSION
    two = make(case)
    two.load_state(d)
    same(one.state, two.state)
    for a, b in zip(feed(one, case.stream[k:]), feed(two, case.stream[k:]), strict=True):
        same(a, b)


@pytest.mark.parametrize("cut", [0.0, 0.2, 0.5, 0.62, 0.8, 1.0])
def test_merge_of_split_stream_equals_one_pass(case: Case, cut: float) -> None:
    k = int(len(case.stream) * cut)
    full = make(case)
    feed(full, case.stream)
    a, b = make(case), make(case)
    feed(a, case.stream[:k])
    feed(b, case.stream[k:])
    assert a.merge(b) is a
    same(a.state, full.state)
    extra = case.stream[: len(case.stream) // 3]
    for x, y in zip(feed(a, extra), feed(full, extra), strict=True):
        same(x, y)


def test_merge_three_way_is_associative(case: Case) -> None:
    s = case.stream
    k1, k2 = len(s) // 3, 2 * len(s) // 3
    full = make(case)
    feed(full, s)
    a, b, c = make(case), make(case), make(case)
    feed(a, s[:k1])
    feed(b, s[k1:k2])
    feed(c, s[k2:])
    same(a.merge(b.merge(c)).state, full.state)


def test_reset_returns_to_initial_state(case: Case) -> None:
    fresh, used = make(case), make(case)
    feed(used, case.stream)
    used.reset()
    same(used.state, fresh.state)
    assert used.state_dict() == fresh.state_dict()
    for x, y in zip(feed(used, case.stream), feed(fresh, case.stream), strict=True):
        same(x, y)


def test_load_state_refuses_mismatch(case: Case) -> None:
    det = make(case)
    feed(det, case.stream[:40])
    good = det.state_dict()
    for key, value in (("kind", "other"), ("version", 999)):
        with pytest.raises(IncompatibleStateError, match=key):
            make(case).load_state({**good, key: value})
    bad_cfg = json.loads(json.dumps(good))
    first_key = sorted(bad_cfg["config"])[0]
    bad_cfg["config"][first_key] = "something else"
    with pytest.raises(IncompatibleStateError):
        make(case).load_state(bad_cfg)
    with pytest.raises(IncompatibleStateError):
        make(case).load_state({k: v for k, v in good.items() if k != "n"})


def test_bad_input_is_rejected(case: Case) -> None:
    det = make(case)
    with pytest.raises(ValueError):
        det.update("not a number")
    assert det.state.n == 0


@pytest.mark.parametrize("back", [1, 3, 8])
def test_merge_split_just_before_first_alarm(case: Case, back: int) -> None:
    """The alarm needs evidence from both halves: a merge that dropped ours would miss it."""
    full = make(case)
    states = feed(full, case.stream)
    first = next(i for i, s in enumerate(states) if s.drift)
    stream = case.stream[: first + 1]
    k = max(1, first - back)
    a, b = make(case), make(case)
    feed(a, stream[:k])
    feed(b, stream[k:])
    assert not a.drift_detected
    a.merge(b)
    assert a.drift_detected
    same(a.state, states[first])


def test_detector_modules_import_no_web_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, detectors.base, detectors.calibration, detectors.cusum, detectors.mmd, "
        "detectors.scalar, detectors.stats, detectors.features\n"
        "bad = {'fastapi', 'starlette', 'httpx', 'aiohttp', 'uvicorn', 'prometheus_client'}\n"
        "print(sorted(bad & {m.split('.')[0] for m in sys.modules}))"
    )
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
