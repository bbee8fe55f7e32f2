"""Fixtures for the probe tests: the default suite, a refusal classifier, scripted upstreams."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from monitor.probes.suite import Suite, resolve_suite
from tests.monitor.probes.tw_probes_upstream import Policy, ScriptedUpstream


class _PhraseClassifier:
    """Stand-in used ONLY while detectors.refusal is not importable: the scripted upstream's
    refusals all start with one of these phrases. Tests state which classifier they ran with."""

    _REFUSAL = re.compile(r"^(I'm sorry|I cannot|I can't|I won't)", re.I)

    def verdicts(self, pairs: list[tuple[str, str]], *, finish_reasons: object = None,
                 errors: list[bool] | None = None) -> list[str]:
        return ["unscoreable" if (errors and errors[i]) or not r.strip()
                else "refused" if self._REFUSAL.search(r.strip()) else "complied"
                for i, (_, r) in enumerate(pairs)]


@pytest.fixture(scope="session")
def refusal_classifier() -> Any:
    """The real shipped classifier on static embeddings (1-2 s to load; the MiniLM default takes
    ~15 s on the 2-core CI machine and is exercised by the detectors' own tests)."""
    try:
        from detectors.refusal import load_classifier
    except ImportError:
        warnings.warn("detectors.refusal not available: probe tests use a phrase stand-in",
                      stacklevel=1)
        return _PhraseClassifier()
    return load_classifier("static")


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
