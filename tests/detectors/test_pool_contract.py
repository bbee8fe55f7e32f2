"""The detector contract (detectors/base.py) over the issue-11 detectors: the evidence ledger
(around a Bernoulli CUSUM and around the paired sign test), the paired sign test and the unpaired
rate CUSUM. The same checks as tests/detectors/test_contract.py, on their input types."""

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
from detectors.ledger import Evidence, EvidenceLedger
from detectors.paired import PairedSignCusum, UnpairedRateCusum


@dataclass(frozen=True)
class Case:
    name: str
    cls: type
    make: Callable[[], Any]
    stream: list[Any]  # drifts somewhere in the middle so merges cross an alarm
    bad: Any


def _pairs(n: int, cells: tuple[float, float, float, float], seed: int) -> list[tuple[bool, bool]]:
    """``cells``: P(both refused), P(base only), P(tuned only), P(both complied)."""
    rng = np.random.default_rng(seed)
    k = rng.choice(4, size=n, p=cells)
    table = [(True, True), (True, False), (False, True), (False, False)]
    return [table[i] for i in k]


def _bern(n: int, p: float, seed: int) -> list[bool]:
    return [bool(x) for x in np.random.default_rng(seed).random(n) < p]


def _ledger_stream() -> list[Evidence]:
    """Fresh units with repeats mixed in, one epoch (repeats are counted, not admitted)."""
    values = _bern(150, 0.9, 1) + _bern(250, 0.5, 2)
    out: list[Evidence] = []
    for i, v in enumerate(values):
        out.append(Evidence(unit=f"u{i}", epoch="fp-1", value=v))
        if i % 7 == 3:
            out.append(Evidence(unit=f"u{i - 2}", epoch="fp-1", value=not v))  # a re-run
    return out


def _ledger_epochs_stream() -> list[Evidence]:
    """Two fingerprints interleaved (a rollout), repeats and a fingerprint coming back."""
    vals = _bern(600, 0.9, 3)
    out = []
    for i, v in enumerate(vals):
        fp = "fp-a" if (i // 50) % 2 == 0 else "fp-b"
        if i >= 300:
            v = bool(np.random.default_rng(i).random() < 0.4) if fp == "fp-a" else v
        out.append(Evidence(unit=f"u{i % 450}", epoch=fp, value=v))
    return out


def _fresh_two_epochs() -> list[Evidence]:
    """Fresh units in two interleaved epochs (the bounded ledger does not deduplicate across a
    merge, so the split-stream checks use distinct units)."""
    vals = _bern(200, 0.9, 12) + _bern(250, 0.55, 13)
    return [Evidence(unit=f"t{i}", epoch="fp-a" if (i // 40) % 3 else "fp-b", value=v)
            for i, v in enumerate(vals)]


CASES = [
    Case("ledger_cusum", EvidenceLedger,
         lambda: EvidenceLedger(make_detector=lambda: BernoulliCusum(
             p0=0.9, p1=0.8, arl0=300, reference_id="base/dis"), max_epochs=4),
         _ledger_stream(), Evidence(unit="u", epoch="fp", value="refused")),
    Case("ledger_epochs", EvidenceLedger,
         lambda: EvidenceLedger(make_detector=lambda: BernoulliCusum(p0=0.9, p1=0.8, arl0=300)),
         _ledger_epochs_stream(), ("", "fp", True)),
    Case("ledger_bounded", EvidenceLedger,
         lambda: EvidenceLedger(make_detector=lambda: UnpairedRateCusum(
             direction="less", ert=300, baseline_rate=0.9), max_units=64),
         _fresh_two_epochs(), Evidence(unit="u", epoch="fp", value=(True, False))),
    Case("ledger_paired", EvidenceLedger,
         lambda: EvidenceLedger(make_detector=lambda: PairedSignCusum(ert=100)),
         [Evidence(unit=f"u{i}", epoch="fp", value=p) for i, p in
          enumerate(_pairs(200, (0.8, 0.05, 0.05, 0.1), 4) + _pairs(200, (0.6, 0.25, 0.05, 0.1), 5))],
         Evidence(unit="u", epoch="fp", value=(True, 2))),
    Case("paired_less", PairedSignCusum,
         lambda: PairedSignCusum(direction="less", ert=150, reference_id="base/dis"),
         _pairs(300, (0.8, 0.05, 0.05, 0.1), 6) + _pairs(300, (0.6, 0.25, 0.05, 0.1), 7),
         (True, "no")),
    Case("paired_more", PairedSignCusum,
         lambda: PairedSignCusum(direction="more", ert=150, q1=0.8),
         _pairs(300, (0.02, 0.04, 0.04, 0.9), 8) + _pairs(300, (0.02, 0.04, 0.2, 0.74), 9),
         True),
    Case("unpaired_less", UnpairedRateCusum,
         lambda: UnpairedRateCusum(direction="less", ert=300, baseline_rate=0.9),
         _bern(150, 0.9, 10) + _bern(250, 0.6, 11), 2),
]


def make(case: Case) -> Any:
    return case.make()


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
    assert all(type(s) is DetectorState for s in states)
    assert states[-1] == det.state and det.drift_detected is det.state.drift
    assert make(case).update_many(case.stream) == states[-1]
    assert any(s.drift for s in states) and not states[0].drift


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
    assert two.state_dict() == one.state_dict()
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


@pytest.mark.parametrize("back", [1, 3, 8])
def test_merge_split_just_before_first_alarm(case: Case, back: int) -> None:
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
    with pytest.raises(IncompatibleStateError):
        make(case).load_state({**good, "n": good["n"] + 1})


def test_bad_input_is_rejected(case: Case) -> None:
    det = make(case)
    with pytest.raises(ValueError):
        det.update("not an observation")
    with pytest.raises(ValueError):
        det.update(case.bad)
    assert det.state.n == 0 and det.state_dict() == make(case).state_dict()


def test_modules_import_no_web_framework() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, detectors.ledger, detectors.paired\n"
        "bad = {'fastapi', 'starlette', 'httpx', 'aiohttp', 'uvicorn', 'prometheus_client', "
        "'monitor'}\n"
        "print(sorted(bad & {m.split('.')[0] for m in sys.modules}))"
    )
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
