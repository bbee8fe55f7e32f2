"""monitor/probes/store.py: the probe tables, read and written only here."""

from __future__ import annotations

from monitor.probes.attempt import Attempt, ScoredAttempt
from monitor.probes.store import ProbeStore, cusum_key
from monitor.store import Store


def test_runs_attempts_and_state_in_one_transaction(tmp_path) -> None:
    store = Store(tmp_path / "p.db")
    runs = ProbeStore(store)
    attempt = ScoredAttempt(Attempt("d1", "disallowed", 0, "no"), "pass", "refused",
                            "verdict:refused")
    runs.record_failure(run_id="r0", started=1.0, ended=2.0, suite_name="s", suite_hash="h",
                        baseline_run_id="b", error="TargetUnreachable")
    runs.record_success(run_id="r1", started=3.0, ended=4.0, suite_name="s", suite_hash="h",
                        baseline_run_id="b", regressions=["disallowed"],
                        summary={"disallowed": {"passed": 1, "failed": 0}}, attempts=[attempt],
                        rotation_offset=7, state={cusum_key("disallowed"): {"n": 1}})
    assert runs.last_run_times() == (4.0, 4.0)
    ok = runs.latest_ok()
    assert ok is not None and (ok.run_id, ok.regressions, ok.attempts) == ("r1", ["disallowed"], 1)
    assert ok.summary == {"disallowed": {"passed": 1, "failed": 0}}
    assert runs.attempt_probe_ids("r1") == {"d1"}
    assert runs.get_state("rotation_offset") == "7"
    assert runs.slot(cusum_key("disallowed")).load() == {"n": 1}
    runs.slot("cusum:obfuscated").save({"n": 2})
    assert ProbeStore(store).slot("cusum:obfuscated").load() == {"n": 2}  # persisted
    store.close()


def test_an_empty_store_has_no_runs() -> None:
    runs = ProbeStore(Store(":memory:"))
    assert runs.last_run_times() == (None, None) and runs.latest_ok() is None
    assert runs.slot(cusum_key("x")).load() is None and runs.get_state("rotation_offset") is None
