"""monitor/analysis/fingerprint.py: what is a change, persistence across restarts, listeners, and
the same through the running daemon."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry

from monitor.analysis.fingerprint import Change, FingerprintTracker, SeenValue
from monitor.metrics import Metrics
from monitor.store import Store
from tests.support.daemon import run_daemon, settings_for

CHAT = {"model": "m", "messages": [{"role": "system", "content": "You are Tess."},
                                   {"role": "user", "content": "hello"}]}


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        self.t += 1
        return self.t


def tracker(store: Store, clock: Clock, reg: CollectorRegistry | None = None
            ) -> tuple[FingerprintTracker, CollectorRegistry]:
    reg = reg or CollectorRegistry()
    return FingerprintTracker(metrics=Metrics(reg).deployment, store=store, clock=clock), reg


def test_only_a_never_seen_value_is_a_change(tmp_path) -> None:
    store, clock = Store(tmp_path / "f.db"), Clock()
    t, reg = tracker(store, clock)
    changes: list[Change] = []
    t.add_listener(changes.append)
    assert t.observe("system_prompt", "aaaa") is None  # the first value is not a change
    assert t.observe("system_prompt", "aaaa") is None
    change = t.observe("system_prompt", "bbbb")
    assert change is not None and (change.before, change.after) == ("aaaa", "bbbb")
    assert t.observe("system_prompt", "aaaa") is None  # apps alternating known prompts: no change
    assert changes == [change] and t.current() == {"system_prompt": "aaaa"}
    get = reg.get_sample_value
    assert get("tunewatch_deployment_changes_total", {"component": "system_prompt"}) == 1
    assert get("tunewatch_deployment_info", {"component": "system_prompt", "value": "aaaa"}) == 1
    assert get("tunewatch_deployment_info", {"component": "system_prompt", "value": "bbbb"}) == 0
    assert [(s.component, s.value) for s in t.history()] == [("system_prompt", "aaaa"),
                                                             ("system_prompt", "bbbb")]
    store.close()


def test_restart_keeps_seen_values_current_values_and_the_last_change(tmp_path) -> None:
    store, clock = Store(tmp_path / "f.db"), Clock()
    t, _ = tracker(store, clock)
    t.observe("model", "gemma-3-270m")
    t.observe("model", "gemma-3-270m-ft2")
    store.close()
    store = Store(tmp_path / "f.db")
    again, reg = tracker(store, clock)
    assert again.current() == {"model": "gemma-3-270m-ft2"}
    assert again.observe("model", "gemma-3-270m-ft2") is None  # current: no change
    assert again.observe("model", "gemma-3-270m") is None  # seen before the restart: no change
    assert reg.get_sample_value("tunewatch_deployment_last_change_timestamp_seconds",
                                {"component": "model"}) == 102.0  # alerts stay firing
    assert reg.get_sample_value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
    assert [s.first_seen for s in again.history()] == [101.0, 102.0]
    assert isinstance(again.history()[0], SeenValue)
    store.close()


def test_a_failing_listener_is_counted_and_the_change_still_recorded(tmp_path) -> None:
    store = Store(tmp_path / "f.db")
    t, reg = tracker(store, Clock())

    def broken(change: Change) -> None:
        raise RuntimeError("listener bug")

    t.add_listener(broken)
    t.observe("scope", "v1")
    assert t.observe("scope", "v2") is not None
    assert reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": "trigger"}) == 1
    assert t.current() == {"scope": "v2"}
    store.close()


def test_unknown_components_are_refused(tmp_path) -> None:
    t, _ = tracker(Store(":memory:"), Clock())
    with pytest.raises(ValueError, match="unknown fingerprint component"):
        t.observe("colour", "blue")


def test_fingerprint_change_counted_once_through_the_daemon(upstream, tmp_path) -> None:
    app, url = upstream
    s = settings_for(url, tmp_path)
    analysed = "tunewatch_samples_analyzed_total"
    with run_daemon(s) as d, httpx.Client() as c:
        c.post(d.proxy_url + "/v1/chat/completions", json=CHAT)
        assert d.daemon.worker.wait_idle(10)
        changed = dict(CHAT, messages=[{"role": "system", "content": "You are Tess v2."},
                                       {"role": "user", "content": "hello"}])
        for _ in range(3):
            c.post(d.proxy_url + "/v1/chat/completions", json=changed)
        assert d.daemon.worker.wait_idle(10)
        assert d.value(analysed) == 4  # all four were analysed: the counts below can fail
        assert d.value("tunewatch_deployment_changes_total", {"component": "system_prompt"}) == 1
        assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
        app.model = "scripted-model-v2"
        # a model counts once the upstream lists it (GET /v1/models, polled), so a server that
        # echoes the request's model cannot be made to invent one (issue 13, finding 4)
        c.post(d.proxy_url + "/v1/chat/completions", json=changed)
        assert d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
        d.call(d.daemon.upstream.check())
        c.post(d.proxy_url + "/v1/chat/completions", json=changed)
        assert d.daemon.worker.wait_idle(10)
        assert d.value("tunewatch_deployment_changes_total", {"component": "model"}) == 1
        assert d.value("tunewatch_deployment_info", {"component": "model",
                                                     "value": "scripted-model-v2"}) == 1
    # a restart on the same store does not count the current values as changes
    with run_daemon(s) as d2, httpx.Client() as c:
        c.post(d2.proxy_url + "/v1/chat/completions", json=changed)
        assert d2.daemon.worker.wait_idle(10)
        assert d2.value(analysed) == 1  # the sample was analysed, its model and prompt observed
        assert d2.daemon.fingerprint.current()["model"] == "scripted-model-v2"
        assert d2.value("tunewatch_deployment_changes_total", {"component": "model"}) == 0
        assert d2.value("tunewatch_deployment_changes_total", {"component": "system_prompt"}) == 0
        # ...but the time of the last real change survives the restart (alerts stay firing)
        assert d2.value("tunewatch_deployment_last_change_timestamp_seconds",
                        {"component": "model"}) > 0


def test_current_listeners_hear_every_change_of_a_current_value(tmp_path) -> None:
    """The review state's event: a return to a known value is no change, but it is a new
    current value (a reverted output filter must make the deployment reviewed again)."""
    from monitor.analysis.fingerprint import read_current

    store, clock = Store(tmp_path / "f.db"), Clock()
    t, _ = tracker(store, clock)
    changes: list[Change] = []
    currents: list[tuple[str | None, str, bool]] = []
    t.add_listener(changes.append)
    t.add_current_listener(lambda c: currents.append((c.before, c.after, c.first_seen)))
    t.observe("output_filter", "v3")
    t.observe("output_filter", "v3")  # the same value: nothing
    t.observe("output_filter", "v4")
    t.observe("output_filter", "v3")  # back to the reviewed version
    assert [(c.before, c.after) for c in changes] == [("v3", "v4")]
    assert currents == [(None, "v3", True), ("v3", "v4", True), ("v4", "v3", False)]
    assert read_current(store) == {"output_filter": "v3"}
    store.close()
    # a tool beside the daemon reads what the daemon stored, without a tracker
    other = Store(tmp_path / "f.db")
    assert read_current(other) == {"output_filter": "v3"}
    other.close()
    assert read_current(Store(":memory:")) == {}


def test_a_failing_current_listener_is_counted_and_does_not_stop_the_others(tmp_path) -> None:
    store, clock = Store(tmp_path / "f.db"), Clock()
    t, reg = tracker(store, clock)
    seen: list[str] = []

    def broken(_: Change) -> None:
        raise RuntimeError("listener bug")

    t.add_current_listener(broken)
    t.add_current_listener(lambda c: seen.append(c.after))
    t.observe("scope", "s1")
    assert seen == ["s1"]
    assert reg.get_sample_value("tunewatch_monitor_errors_total", {"stage": "trigger"}) == 1
    store.close()
