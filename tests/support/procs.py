"""Stopping the processes a test started: SIGTERM, a bounded wait, then SIGKILL."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any


def stop(procs: Sequence[subprocess.Popen[Any]], *, timeout: float = 10.0) -> None:
    """Terminate every process still running, wait up to ``timeout`` for each, kill the rest."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=timeout)
