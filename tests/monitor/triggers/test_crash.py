"""kill -9 at the worst moments: the ticket arrives exactly once (after receiver-side dedup by
Idempotency-Key), and a re-fired condition after the restart updates it instead of opening another.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.wait import wait_for

WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        procs.append(p)
        assert p.stdout is not None
        lines = []
        for _ in range(10):  # RAISED <ticket>, READY (at most a few lines before READY)
            line = p.stdout.readline()
            lines.append(line)
            if line.startswith("READY") or not line:
                break
        assert lines[-1].startswith("READY"), f"the worker did not start: {lines}"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


def pending(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT COUNT(*) FROM trigger_outbox WHERE state = 'pending'"
                         ).fetchone()[0]


def kill9(p: subprocess.Popen[str]) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)


def test_kill_mid_delivery_then_refire(receiver, spawn, tmp_path) -> None:
    r, url = receiver
    db = tmp_path / "tw.db"
    r.hang_s = 1.5  # the receiver holds the first delivery: the sender dies waiting for it
    p1 = spawn(str(db), url, "drift:crash")
    assert wait_for(lambda: len(r.raw) >= 1, timeout=20, what="the first delivery")
    kill9(p1)
    r.hang_s = 0
    assert pending(db) == 1  # not marked delivered: the receiver's answer never arrived
    # restart; the same condition fires again (e.g. the alarm is still on)
    spawn(str(db), url, "drift:crash")
    assert wait_for(lambda: pending(db) == 0, timeout=20, what="an empty outbox")
    assert wait_for(lambda: len(r.events()) == 2, timeout=20, what="both events")
    # the first request, held by the receiver, finishes too (its answer goes nowhere)
    assert wait_for(lambda: r.finished == len(r.raw), timeout=10, what="the held request")
    raw_keys = [x["key"] for x in r.raw]
    opened_key = next(k for k in raw_keys if ":opened:" in k)
    assert raw_keys.count(opened_key) == 2  # redelivered after the crash (at-least-once)
    assert len(r.by_key) == 2  # ...but each idempotency key is processed once
    assert list(r.opened()) == ["drift:crash"] and len(r.opened()["drift:crash"]) == 1
    kinds = sorted(p["event"] for p in r.events())
    assert kinds == ["opened", "updated"]
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*), MAX(fire_count) FROM triggers").fetchone() == (1, 2)


def test_kill_after_commit_before_delivery(receiver, spawn, tmp_path) -> None:
    r, url = receiver
    db = tmp_path / "tw.db"
    r.down = True  # the ticket is committed but cannot be delivered yet
    p1 = spawn(str(db), url, "drift:down")
    assert wait_for(lambda: len(r.raw) >= 1, timeout=20, what="the first delivery")
    kill9(p1)
    assert pending(db) == 1
    r.down = False
    spawn(str(db), url)  # restarted without a new firing: the outbox alone delivers it
    assert wait_for(lambda: pending(db) == 0, timeout=20, what="an empty outbox")
    assert len(r.opened()["drift:down"]) == 1 and len(r.by_key) == 1
    assert r.bad_signatures == 0
