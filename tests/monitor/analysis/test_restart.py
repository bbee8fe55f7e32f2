"""After ``kill -9`` (issue 13, Low): detector state is checkpointed every
``analysis.checkpoint_every_samples`` samples, not only every ``checkpoint_interval_s``, and the
drift gauges are exported again at start, before the first new sample."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.daemon import run_daemon, settings_for
from tests.support.net import free_port
from tests.support.procs import stop
from tests.support.wait import wait_for

CHAT = {"model": "m", "messages": [{"role": "user", "content": "tell me about tides"}]}


def _serve(url: str, db: Path, proxy: int, admin: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TUNEWATCH_STORE__PATH=str(db), TUNEWATCH_ANALYSIS__EMBEDDER="none",
               TUNEWATCH_ANALYSIS__REFUSAL_CLASSIFIER="false",
               TUNEWATCH_ANALYSIS__CHECKPOINT_INTERVAL_S="3600",
               TUNEWATCH_ANALYSIS__CHECKPOINT_EVERY_SAMPLES="50",
               TUNEWATCH_DEPLOYMENT__POLL_MODELS_INTERVAL_S="0")
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "serve", "--upstream", url,
         "--listen", f"127.0.0.1:{proxy}", "--admin-listen", f"127.0.0.1:{admin}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _n(admin: int) -> int:
    detectors: dict[str, Any] = httpx.get(f"http://127.0.0.1:{admin}/v1/detectors",
                                          timeout=5).json()
    return int(detectors["detectors"]["prompt_length"]["n"])


def test_kill_9_loses_at_most_one_checkpoint_of_samples(upstream, tmp_path: Path) -> None:
    _, url = upstream
    db = tmp_path / "tw.db"
    proxy, admin = free_port(), free_port()
    proc = _serve(url, db, proxy, admin)
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{admin}/healthz", timeout=1).is_success,
                 timeout=30, interval=0.1, what="the daemon", ignore=(httpx.HTTPError,))
        with httpx.Client() as c:
            for _ in range(130):
                assert c.post(f"http://127.0.0.1:{proxy}/v1/chat/completions",
                              json=CHAT).status_code == 200
        wait_for(lambda: _n(admin) == 130, timeout=30, what="130 samples analysed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc = _serve(url, db, proxy, admin)
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{admin}/healthz", timeout=1).is_success,
                 timeout=30, interval=0.1, what="the restarted daemon", ignore=(httpx.HTTPError,))
        # checkpoints at 50 and 100 samples: at most the 30 after the last one are lost
        assert 100 <= _n(admin) <= 130
    finally:
        stop([proc])


def test_embedding_drift_gauges_are_back_at_start(upstream, tmp_path: Path) -> None:
    _, url = upstream
    s = settings_for(url, tmp_path, analysis={"embedder": "static", "drift_window": 10,
                                              "drift_reference_size": 20})
    gauge = ("tunewatch_drift_samples", {"detector": "prompt_embedding"})
    with run_daemon(s) as d, httpx.Client() as c:
        for i in range(30):
            c.post(d.proxy_url + "/v1/chat/completions",
                   json={**CHAT, "messages": [{"role": "user", "content": f"question {i}"}]})
        assert d.daemon.worker.wait_idle(120)
        before = d.value(*gauge)
        assert before > 0
    with run_daemon(s) as d2:  # no new traffic
        assert d2.wait_for(lambda: d2.value(*gauge) == before, timeout=60,
                           what="the prompt_embedding gauges after the restart")
