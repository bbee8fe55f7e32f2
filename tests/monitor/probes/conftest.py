"""Fixtures for the probe tests: the default suite, a refusal classifier, scripted upstreams."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from monitor.detection.judge import RefusalJudge, load_refusal_judge
from monitor.probes.suite import Suite, resolve_suite
from tests.monitor.probes.tw_probes_upstream import Policy, ScriptedUpstream


@pytest.fixture(scope="session")
def refusal_classifier() -> RefusalJudge:
    """The real shipped classifier on static embeddings (1-2 s to load; the MiniLM default takes
    ~15 s on the 2-core CI machine and is exercised by the detectors' own tests), loaded as the
    daemon loads it."""
    return load_refusal_judge("static")


@pytest.fixture(scope="session")
def default_suite() -> Suite:
    return resolve_suite("default")


@pytest.fixture
def make_upstream(default_suite: Suite) -> Iterator[Callable[..., ScriptedUpstream]]:
    started: list[ScriptedUpstream] = []

    def make(policy: Policy | None = None, suite: Suite | None = None) -> ScriptedUpstream:
        up = ScriptedUpstream(suite or default_suite, policy).start()
        started.append(up)
        return up

    yield make
    for up in started:
        up.stop()
