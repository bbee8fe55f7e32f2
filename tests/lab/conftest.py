"""Fixtures for the lab tests: one multi-model llama.cpp server for the whole session (tw-safe,
tw-forget), the tw-safe baseline, and the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.serving import ADAPTERS_DIR, LabServer, lab_adapters, start_server
from monitor.config import default_cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
SUITE = REPO_ROOT / "lab" / "suite.yaml"
COMMON = ["--suite", str(SUITE), "--classifier", "static", "--concurrency", "1",
          "--max-tokens", "32", "--timeout", "120"]


def tunewatch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m monitor.cli ARGS`` from this worktree (the stable CLI, not monitor/ APIs)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=REPO_ROOT)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    have = lab_adapters(ADAPTERS_DIR)
    wanted = ["tw-safe", "tw-forget"]
    missing = [a for a in wanted if a not in have]
    if missing:
        pytest.fail(f"committed adapters missing: {missing} (run python -m lab.build)")
    server = start_server({a: have[a] for a in wanted}, include_base=False,
                          workdir=tmp_path_factory.mktemp("lab-server"))
    try:
        yield server
        # every adapter load read all 252 tensors (a wrong-shaped one is only logged)
        assert server.lora_loads() and set(server.lora_loads()) == {252}, server.log_tail()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def safe_baseline(lab_server: LabServer) -> Path:
    """tw-safe's probe baseline on the lab suite, captured the way ``tunewatch demo`` captures
    it and into the same cache entry (keyed by suite, adapter, judge and answer length), so a
    test run captures it once for the lab and the demo tests."""
    from rich.console import Console

    from monitor import demo

    path = demo.DemoPaths(default_cache_dir() / "demo").baseline(demo.baseline_key("static"))
    asyncio.run(demo.ensure_baseline(lab_server.base_url, path, "static", Console(stderr=True)))
    return path
