"""monitor/detection/host.py: one host for every stateful detector — restore and save through
slots, reset, snapshot, alarm events, concurrent readers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from detectors.cusum import BernoulliCusum
from detectors.scalar import AdwinDetector
from monitor.detection.host import AlarmEvent, DetectorHost
from monitor.detection.state import StateTable
from monitor.store import Store


class Slot:
    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = state
        self.saves = 0

    def load(self) -> dict[str, Any] | None:
        return self.state

    def save(self, state: Any) -> None:
        self.state = dict(state)
        self.saves += 1


def cusum() -> BernoulliCusum:
    return BernoulliCusum(p0=0.5, p1=0.25, arl0=100, reference_id="base")


def test_restores_from_its_slot_and_ignores_an_incompatible_state(caplog) -> None:
    old = cusum()
    old.update_many([True, False, True])
    host = DetectorHost()
    host.add_refusal_rate("a", cusum(), source="traffic", category="all", baseline_rate=0.5,
                          slot=Slot(old.state_dict()))
    assert host.state("a").n == 3
    other = BernoulliCusum(p0=0.4, p1=0.2, arl0=100).state_dict()  # another configuration
    host.add_refusal_rate("b", cusum(), source="probe", category="x", baseline_rate=0.5,
                          slot=Slot(other))
    assert host.state("b").n == 0 and "not restoring b" in caplog.text
    with pytest.raises(ValueError, match="already hosted"):
        host.add_drift("a", AdwinDetector())


def test_alarm_events_on_raise_and_reset_and_replay_for_late_subscribers() -> None:
    host = DetectorHost(clock=lambda: 7.0)
    early: list[AlarmEvent] = []
    host.subscribe(early.append)
    host.add_refusal_rate("a", cusum(), source="traffic", category="all", baseline_rate=0.5)
    host.update_many("a", [False] * 20)
    assert [(e.name, e.drift) for e in early] == [("a", True)]
    host.update_many("a", [False] * 20)  # still in alarm: no second event
    assert len(early) == 1
    late: list[AlarmEvent] = []
    host.subscribe(late.append)  # gets the alarm that is already on
    assert [(e.name, e.drift, e.info.labels["source"]) for e in late] == [("a", True, "traffic")]
    assert host.reset() == ["a"]
    assert [e.drift for e in early] == [True, False] and late[-1].drift is False
    host.reset()  # nothing in alarm: no event
    assert len(early) == 2


def test_a_restored_alarm_is_announced_and_a_failing_listener_does_not_stop_it() -> None:
    tripped = cusum()
    tripped.update_many([False] * 30)
    host = DetectorHost()
    got: list[AlarmEvent] = []

    def broken(event: AlarmEvent) -> None:
        raise RuntimeError("listener bug")

    host.subscribe(broken)
    host.subscribe(got.append)
    host.add_refusal_rate("a", cusum(), source="traffic", category="all", baseline_rate=0.5,
                          slot=Slot(tripped.state_dict()))
    assert [(e.name, e.drift) for e in got] == [("a", True)]


def test_reset_saves_at_once_and_checkpoint_saves_every_slot() -> None:
    slot_a, slot_b = Slot(), Slot()
    host = DetectorHost()
    host.add_drift("a", AdwinDetector(), slot=slot_a)
    host.add_drift("b", AdwinDetector(), slot=slot_b)
    host.add_drift("c", AdwinDetector())  # no slot: never saved
    host.update_many("a", [1.0, 2.0])
    host.checkpoint()
    assert (slot_a.saves, slot_b.saves, slot_a.state["n"]) == (1, 1, 2)
    with pytest.raises(KeyError):
        host.reset("nope")
    assert host.reset("a") == ["a"]
    assert slot_a.saves == 2 and slot_a.state["n"] == 0 and slot_b.saves == 1


def test_snapshot_and_states_describe_every_detector() -> None:
    host = DetectorHost()
    host.add_drift("latency", AdwinDetector())
    host.add_refusal_rate("r", cusum(), source="probe", category="disallowed", baseline_rate=0.9)
    host.update_many("r", [True, False, False, False])
    snap = host.snapshot()
    assert list(snap) == ["latency", "r"] and host.names() == ["latency", "r"]
    assert snap["latency"].rate is None and snap["r"].rate[0] == 0.25
    d = snap["r"].as_dict()
    assert (d["family"], d["source"], d["category"], d["rate"], d["baseline_rate"], d["n"]) == (
        "refusal_rate", "probe", "disallowed", 0.25, 0.9, 4)
    assert host.states()["latency"]["threshold"] is None  # NaN: not JSON
    assert "r" in host and "nope" not in host


def test_readers_never_see_a_half_updated_detector() -> None:
    """Snapshots taken while another thread feeds the detector always show a state some prefix of
    the stream produced (n moves only forward; k <= n)."""
    host = DetectorHost()
    host.add_refusal_rate("r", cusum(), source="traffic", category="all", baseline_rate=0.5)
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            host.update_many("r", [True, False] * 50)

    t = threading.Thread(target=feed)
    t.start()
    try:
        last = 0
        for _ in range(200):
            snap = host.snapshot()["r"]
            assert snap.state.n >= last and snap.state.n % 2 == 0  # whole batches only
            last = snap.state.n
    finally:
        stop.set()
        t.join(10)
    assert last > 0


def test_state_table_slots_round_trip(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    table = StateTable(store, clock=lambda: 5.0)
    host = DetectorHost()
    host.add_drift("latency", AdwinDetector(), slot=table.slot("latency"))
    host.update_many("latency", [1.0, 2.0, 3.0])
    host.checkpoint()
    again = DetectorHost()
    again.add_drift("latency", AdwinDetector(), slot=StateTable(store).slot("latency"))
    assert again.state("latency").n == 3
    assert store.query("SELECT kind, updated FROM detector_state") == [("adwin", 5.0)]
    store.close()


def ledger() -> Any:
    from detectors.ledger import EvidenceLedger

    return EvidenceLedger(make_detector=cusum)


def test_a_ledger_is_acknowledged_on_reset_and_forgotten_on_request() -> None:
    """Reset of a ledger clears its alarm but keeps the counted units (the same evidence does not
    alarm again); ``forget=True`` forgets the evidence. Snapshots name the epoch and coverage."""
    from detectors.ledger import Evidence

    host = DetectorHost()
    slot = Slot()
    events: list[AlarmEvent] = []
    host.subscribe(events.append)
    host.add_refusal_rate("l", ledger(), source="probe", category="x", baseline_rate=0.5,
                          slot=slot, units=40)
    units = [Evidence(unit=f"u{i}", epoch="ep-1", value=False) for i in range(20)]
    assert host.update_many("l", units).drift
    snap = host.snapshot()["l"]
    assert snap.evidence is not None and (snap.evidence.epoch, snap.evidence.admitted) == (
        "ep-1", 20)
    assert snap.coverage == 0.5 and snap.rate is not None and snap.rate[0] == 0.0
    assert host.reset("l") == ["l"] and [e.drift for e in events] == [True, False]
    assert not host.update_many("l", units).drift  # re-sent: repeats, no alarm
    report = host.report("l")
    assert report is not None and (report.admitted, report.duplicates) == (20, 20)
    assert slot.state is not None and slot.state["kind"] == "evidence_ledger"
    host.reset("l", forget=True)
    assert host.report("l") is None and host.update_many("l", units).drift  # counted anew


def test_an_epoch_change_turns_a_ledger_alarm_off() -> None:
    """A new fingerprint starts a new epoch: the host reports the old epoch's alarm as ended."""
    from detectors.ledger import Evidence

    host = DetectorHost()
    events: list[AlarmEvent] = []
    host.subscribe(events.append)
    host.add_refusal_rate("l", ledger(), source="probe", category="x", baseline_rate=0.5)
    host.update_many("l", [Evidence(unit=f"u{i}", epoch="ep-1", value=False) for i in range(20)])
    host.update("l", Evidence(unit="v", epoch="ep-2", value=True))
    assert [e.drift for e in events] == [True, False]
    epochs = {e.epoch: e.state.drift for e in host.snapshot()["l"].epochs}
    assert epochs == {"ep-1": True, "ep-2": False}


def test_refusal_rates_are_also_given_corrected_for_the_judge_of_their_source() -> None:
    from detectors.refusal.rates import JudgeError, corrected_rate

    err = JudgeError(tp=80, fn=20, tn=90, fp=10, source="toy counts")
    host = DetectorHost()
    host.add_refusal_rate("t", cusum(), source="traffic", category="all", baseline_rate=0.5)
    host.add_refusal_rate("p", cusum(), source="probe", category="disallowed", baseline_rate=0.5)
    host.update_many("t", [True] * 3 + [False] * 7)
    host.update_many("p", [True] * 3 + [False] * 7)
    assert "corrected_rate" not in host.states()["t"]
    host.set_judge_error("traffic", err)
    states = host.states()
    got = states["t"]["corrected_rate"]
    want = corrected_rate(3, 10, err)
    assert want is not None
    assert got["refused"] == 3 and got["scored"] == 10 and got["raw"] == 0.3
    assert got["corrected"] == round(want.corrected, 4) == round((0.3 + 0.9 - 1) / 0.7, 4)
    assert got["low"] <= got["corrected"] <= got["high"]
    assert got["method"] == "rogan-gladen" and got["judge"]["sensitivity"] == 0.8
    assert states["t"]["rate"] == pytest.approx(0.3)  # the raw rate stays beside it
    assert "corrected_rate" not in states["p"]  # the probe judge's error is not set
    host.set_judge_error("traffic", None)
    assert "corrected_rate" not in host.states()["t"]
