"""Fixtures for the lab tests: one multi-model llama.cpp server for the whole session (tw-safe,
the test drift model, tw-forget), the tw-safe baseline, and the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.serving import ADAPTERS_DIR, LabServer, lab_adapters, start_server

REPO_ROOT = Path(__file__).resolve().parents[2]
SUITE = REPO_ROOT / "lab" / "suite.yaml"
TEST_DRIFT = "tw-drift-15"  # held-out harmful refusals 0 %, capability as tw-safe (docs/lab.md)
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
    wanted = ["tw-safe", TEST_DRIFT, "tw-forget"]
    missing = [a for a in wanted if a not in have]
    if missing:
        pytest.fail(f"committed adapters missing: {missing} (run python -m lab.build)")
    server = start_server({a: have[a] for a in wanted}, include_base=False,
                          workdir=tmp_path_factory.mktemp("lab-server"))
    try:
        yield server
    finally:
        server.stop()
    assert server.lora_loads() and set(server.lora_loads()) == {252}


@pytest.fixture(scope="session")
def safe_baseline(lab_server: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "tw-safe.json"
    res = tunewatch("baseline", "capture", "--target", lab_server.base_url, "--out", str(out),
                    "--model", "tw-safe", *COMMON)
    assert res.returncode == 0, res.stderr[-3000:]
    return out
