"""Evidence counted once per (unit, epoch): re-runs add nothing, fresh draws keep the ARL0.

Seeded; every statistical assertion states its runs and tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.cusum import BernoulliCusum
from detectors.ledger import Evidence, EvidenceLedger

P0, P1 = 0.9, 0.8  # baseline refusal rate, and the drop the CUSUM is designed for


def cusum(arl0: float = 2000) -> BernoulliCusum:
    return BernoulliCusum(p0=P0, p1=P1, arl0=arl0, reference_id="base/disallowed")


def ledger(arl0: float = 2000) -> EvidenceLedger:
    return EvidenceLedger(make_detector=lambda: cusum(arl0))


def fixed_model(n_units: int = 63, refused: int = 53) -> list[tuple[str, bool]]:
    """A deterministic model on 63 units refusing 53 (84 %): below the CUSUM's break-even
    refusal rate (~85.5 % for 0.9 -> 0.8), well inside the noise of one 63-unit run."""
    order = np.random.default_rng(0).permutation(n_units)
    return [(f"unit-{i}", bool(order[i] < refused)) for i in range(n_units)]


def test_the_fixed_model_is_below_break_even_and_one_run_is_not_significant() -> None:
    det = cusum()
    per_run = sum(det.w_refused if r else det.w_complied for _, r in fixed_model())
    assert per_run > 0  # each re-run adds evidence: the old scheduler's CUSUM must drift up
    det.update_many([r for _, r in fixed_model()])
    assert not det.drift_detected


def test_rerunning_an_unchanged_deterministic_model_never_alarms() -> None:
    units = fixed_model()
    plain, led = cusum(), ledger()
    plain_alarm = None
    for run in range(10_000):
        for unit, refused in units:
            led.update(Evidence(unit=unit, epoch="fp-1", value=refused))
            if plain_alarm is None and plain.update(refused).drift:
                plain_alarm = run
        if run == 0:
            after_first = led.state
        assert not led.drift_detected
    # the same outcomes fed once per run alarm within a few hundred runs (the bug) ...
    assert plain_alarm is not None and 1 < plain_alarm < 1000
    # ... while the ledger admitted each unit once and its statistic never moved again
    assert led.state == after_first and led.state.n == 63
    r = led.report()
    assert (r.epoch, r.admitted, r.duplicates, r.first_alarm) == ("fp-1", 63, 63 * 9_999, None)


def test_measured_arl0_under_fresh_draws_is_within_15_percent() -> None:
    """1 000 seeded in-control runs of fresh units (relative standard error of the mean run
    length ~3.2 %, so +-15 % is ~4.7 standard errors), each run with re-runs of already-seen
    units interleaved (which must not change the run length)."""
    arl0 = 300
    led = ledger(arl0)
    rng = np.random.default_rng(11)
    lengths = []
    for run in range(1000):
        led.reset()
        i = 0
        while True:
            state = led.update(Evidence(unit=f"{run}-{i}", epoch="fp", value=bool(rng.random()
                                                                                < P0)))
            if i % 5 == 4:  # a re-run of an earlier unit with another verdict: not admitted
                led.update(Evidence(unit=f"{run}-{i - 3}", epoch="fp", value=True))
            i += 1
            if state.drift:
                break
        lengths.append(state.n)
    exact = cusum(arl0).arl0_exact
    measured = float(np.mean(lengths))
    assert 1.0 <= exact / arl0 < 1.05
    assert abs(measured / arl0 - 1) < 0.15, measured


def test_a_new_fingerprint_starts_a_fresh_epoch_and_a_returning_one_resumes() -> None:
    led = ledger(200)
    for i in range(60):
        led.update(Evidence(unit=f"u{i}", epoch="fp-a", value=False))  # refusals stopped
    assert led.drift_detected and led.epoch == "fp-a"
    alarm_a = led.report().first_alarm
    assert alarm_a is not None and alarm_a < 60
    state = led.update(Evidence(unit="u0", epoch="fp-b", value=True))  # same unit, new epoch
    assert (state.drift, state.n, state.statistic) == (False, 1, 0.0)
    assert led.epoch == "fp-b" and not led.drift_detected
    assert led.seen("u0", "fp-b") and led.seen("u59", "fp-a") and not led.seen("u59", "fp-b")
    back = led.update(Evidence(unit="u3", epoch="fp-a", value=True))  # rollback: a duplicate
    assert back.drift and back.n == 60 and led.report().duplicates == 1
    reports = {r.epoch: r for r in led.epochs()}
    assert (reports["fp-a"].admitted, reports["fp-b"].admitted) == (60, 1)
    assert reports["fp-a"].current and not reports["fp-b"].current


def test_acknowledge_clears_the_alarm_without_recounting() -> None:
    led = ledger(200)
    for i in range(60):
        led.update((f"u{i}", "fp", False))
    assert led.drift_detected
    led.acknowledge()
    assert not led.drift_detected and led.state.n == 0
    for i in range(60):  # the same units again: nothing is admitted, the alarm stays off
        led.update((f"u{i}", "fp", False))
    assert not led.drift_detected and led.report().duplicates == 60
    restored = ledger(200)
    restored.load_state(led.state_dict())
    assert restored.state == led.state and restored.report() == led.report()


def test_max_epochs_drops_the_least_recently_used() -> None:
    led = EvidenceLedger(make_detector=lambda: cusum(200), max_epochs=2)
    for fp in ("a", "b", "a", "c"):
        led.update(("u", fp, True))
    assert [r.epoch for r in led.epochs()] == ["a", "c"] and led.evicted == 1
    with pytest.raises(ValueError, match="max_epochs"):
        EvidenceLedger(make_detector=lambda: cusum(200), max_epochs=0)
    with pytest.raises(KeyError, match="no evidence for epoch 'b'"):
        led.report("b")


def test_rate_of_the_current_epoch() -> None:
    led = ledger(200)
    for i in range(10):
        led.update((f"u{i}", "fp", i < 7))
        led.update((f"u{i}", "fp", True))
    p, lo, hi = led.detector().rate()
    assert p == pytest.approx(0.7) and lo < 0.7 < hi


def test_bounded_mode_remembers_the_last_units_and_keeps_its_state_small() -> None:
    """``max_units``: a repeat among the last N distinct units is not admitted; older units may
    count again; the state holds the inner detector and at most N unit ids (no log)."""
    led = EvidenceLedger(make_detector=lambda: cusum(300), max_units=50)
    for i in range(200):
        led.update(Evidence(unit=f"p{i}", epoch="ep", value=True))
    led.update(Evidence(unit="p199", epoch="ep", value=True))  # recent: a duplicate
    led.update(Evidence(unit="p0", epoch="ep", value=True))  # forgotten: counted again
    r = led.report()
    assert (r.admitted, r.duplicates, r.state.n) == (201, 1, 201)
    d = led.state_dict()
    (epoch,) = d["epochs"]
    assert "log" not in epoch and len(epoch["units"]) == 50 and epoch["units"][-1] == "p0"
    again = EvidenceLedger(make_detector=lambda: cusum(300), max_units=50)
    again.load_state(d)
    assert again.state == led.state and again.seen("p160", "ep") and not again.seen("p150", "ep")
    with pytest.raises(ValueError, match="max_units"):
        EvidenceLedger(make_detector=cusum, max_units=0)
