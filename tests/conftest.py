"""Shared fixtures: scripted upstream, real Gemma 3 270M llama.cpp server, running daemon."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.upstream import ScriptedUpstream, run_upstream

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def upstream() -> Iterator[tuple[ScriptedUpstream, str]]:
    with run_upstream() as pair:
        yield pair


@pytest.fixture(scope="session")
def gemma() -> Iterator[str]:
    """URL (without /v1) of a real llama.cpp server running Gemma 3 270M, shared by the session."""
    from monitor.localmodel import start_local_model

    server = start_local_model(startup_timeout_s=180)
    try:
        yield server.url
    finally:
        server.stop()

