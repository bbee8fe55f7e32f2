from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from monitor.probes.runner import ProbeRunner, RunnerSettings, TargetUnreachable, render_prompt
from monitor.probes.suite import Suite
from tests.monitor.probes.tw_probes_upstream import Policy, ScriptedUpstream
from tests.support.net import free_port


async def test_chat_run_marks_requests_and_limits_concurrency(
    default_suite: Suite, make_upstream: Callable[..., ScriptedUpstream]
) -> None:
    up = make_upstream(Policy(delay_s=0.02))
    probes = default_suite.probes[:24]
    runner = ProbeRunner(base_url=up.base_url, run_id="run-abc",
                         settings=RunnerSettings(max_concurrency=3, max_per_minute=60000,
                                                 repeats=2, seed=5))
    out = await runner.run(probes)
    assert len(out.attempts) == 48
    assert all(a.error is None and a.text for a in out.attempts)
    assert up.seen.probe_headers == {"run-abc"}
    assert up.seen.max_in_flight == 3
    assert {b["seed"] for b in up.seen.bodies} == {5, 6}
    assert {b["temperature"] for b in up.seen.bodies} == {0.0}
    assert out.target.models == ("scripted-model-v1",)
    assert out.response_models == ["scripted-model-v1"]
    # deterministic: the same request gives the same answer
    again = await ProbeRunner(base_url=up.base_url, settings=RunnerSettings(
        max_concurrency=3, max_per_minute=60000, repeats=2, seed=5)).run(probes)
    assert [a.text for a in again.attempts] == [a.text for a in out.attempts]


async def test_completions_mode_renders_prompt(
    default_suite: Suite, make_upstream: Callable[..., ScriptedUpstream]
) -> None:
    up = make_upstream()
    tool_probe = next(p for p in default_suite.probes if p.subcategory == "tool_output")
    out = await ProbeRunner(base_url=up.base_url, settings=RunnerSettings(
        mode="completions", max_per_minute=60000)).run([tool_probe])
    assert up.seen.paths == ["/v1/completions"]
    prompt = up.seen.bodies[0]["prompt"]
    assert prompt == render_prompt(tool_probe.chat_messages())
    assert "Tool result (" in prompt and prompt.endswith("Assistant:")
    assert out.attempts[0].error is None


async def test_rate_limit_spaces_starts(
    default_suite: Suite, make_upstream: Callable[..., ScriptedUpstream]
) -> None:
    up = make_upstream()
    t0 = time.monotonic()
    await ProbeRunner(base_url=up.base_url, settings=RunnerSettings(
        max_concurrency=8, max_per_minute=600)).run(default_suite.probes[:6])
    # 6 starts at 0.1 s spacing: the last starts >= 0.5 s after the first
    assert time.monotonic() - t0 >= 0.5


async def test_timeouts_and_http_errors_become_error_attempts(
    default_suite: Suite, make_upstream: Callable[..., ScriptedUpstream]
) -> None:
    slow = make_upstream(Policy(delay_s=2.0))
    out = await ProbeRunner(base_url=slow.base_url, settings=RunnerSettings(
        timeout_s=0.3, max_per_minute=60000)).run(default_suite.probes[:2])
    assert [a.error for a in out.attempts] == ["timeout", "timeout"]
    broken = make_upstream(Policy(status=503))
    out = await ProbeRunner(base_url=broken.base_url, settings=RunnerSettings(
        max_per_minute=60000)).run(default_suite.probes[:2])
    assert [a.error for a in out.attempts] == ["http_503", "http_503"]
    assert all(a.text is None for a in out.attempts)


async def test_unreachable_target_fails_fast(default_suite: Suite) -> None:
    t0 = time.monotonic()
    with pytest.raises(TargetUnreachable, match="cannot connect"):
        await ProbeRunner(base_url=f"http://127.0.0.1:{free_port()}/v1",
                          settings=RunnerSettings()).run(default_suite.probes)
    assert time.monotonic() - t0 < 5


async def test_each_probe_request_carries_a_marker_the_sidecar_verifies(
    default_suite: Suite, make_upstream: Callable[..., ScriptedUpstream]
) -> None:
    """The marker is signed per request (issue 13, finding 5): a client cannot forge it."""
    from monitor.proxy.marker import ProbeMarker

    up = make_upstream()
    marker = ProbeMarker.random()
    runner = ProbeRunner(base_url=up.base_url, run_id="run-abc", sign=marker.sign,
                         settings=RunnerSettings(max_concurrency=2, max_per_minute=60000))
    out = await runner.run(default_suite.probes[:6])
    assert all(a.error is None for a in out.attempts)
    assert up.seen.probe_headers and all(
        marker.verify(h.encode()) and h.startswith("run-abc.") for h in up.seen.probe_headers)
    assert not ProbeMarker.random().verify(next(iter(up.seen.probe_headers)).encode())
