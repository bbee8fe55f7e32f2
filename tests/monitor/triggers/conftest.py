"""Fixtures for the trigger tests: a fake clock, service factory, fake sink servers."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.analysis.fingerprint import FingerprintTracker
from monitor.detection.host import DetectorHost
from monitor.metrics import Metrics
from monitor.store import Store
from monitor.triggers.config import TriggerSettings
from monitor.triggers.evidence import EvidenceSources
from monitor.triggers.service import TriggerService
from tests.monitor.triggers.fakes import FakeGithub, FakeJira, Receiver
from tests.support.upstream import run_upstream


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_service(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., TriggerService]]:
    stores: list[Store] = []

    def make(*, sinks: list[dict[str, Any]] | None = None, db: Path | None = None,
             host: DetectorHost | None = None, fingerprint: FingerprintTracker | None = None,
             evidence: EvidenceSources | None = None, lineage: Any = None,
             ack_gate: Any = None, **settings: Any) -> TriggerService:
        """A service on ``db`` (wired to ``host``/``fingerprint`` as create_app does), its signals
        handled by the test (``svc.handle_pending()``) unless it is started."""
        store = Store(db or tmp_path / "tw.db")
        stores.append(store)
        ts = TriggerSettings(sinks=sinks or [], **settings)
        if evidence is None and host is not None:
            evidence = EvidenceSources(detectors=host.snapshot)
        svc = TriggerService(settings=ts, store=store,
                             metrics=Metrics(CollectorRegistry()).triggers, clock=clock,
                             rng=random.Random(7), fingerprint=fingerprint, evidence=evidence,
                             lineage=lineage, ack_gate=ack_gate)
        if host is not None:
            host.subscribe(svc.notify)
        if fingerprint is not None:
            fingerprint.add_listener(svc.notify)
        return svc

    yield make
    for s in stores:
        s.close()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    r = Receiver(secret="s3cret")
    with run_upstream(r.app) as (_, url):  # type: ignore[arg-type]
        yield r, url + "/hook"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[FakeGithub, dict[str, Any]]]:
    gh = FakeGithub(token="ghp_test")
    (tmp_path / "gh-token").write_text("ghp_test\n")
    with run_upstream(gh.app) as (_, url):  # type: ignore[arg-type]
        yield gh, {"type": "github", "repo": "acme/gov", "token_file": str(tmp_path / "gh-token"),
                   "api_url": url, "labels": ["tunewatch", "governance"], "timeout_s": 5}


@pytest.fixture
def jira(tmp_path: Path) -> Iterator[tuple[FakeJira, dict[str, Any]]]:
    fj = FakeJira(user="bot@acme.example", token="jira-token")
    (tmp_path / "jira-token").write_text("jira-token")
    with run_upstream(fj.app) as (_, url):  # type: ignore[arg-type]
        yield fj, {"type": "jira", "url": url, "project": "GOV", "user": "bot@acme.example",
                   "token_file": str(tmp_path / "jira-token"), "timeout_s": 5}
