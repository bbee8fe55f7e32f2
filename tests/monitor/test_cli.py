"""The command line as a user runs it: config check, serve as a process, the demo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from monitor.cli import app
from tests.support.net import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_config_check_accepts_the_example() -> None:
    r = runner.invoke(app, ["config", "check", str(ROOT / "tunewatch.example.yaml")])
    assert r.exit_code == 0, r.output
    assert "valid" in r.output


def test_config_check_names_every_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sampling:\n  rate: 3\n  bogus: 1\nupstream:\n  url: ftp://x\n")
    r = runner.invoke(app, ["config", "check", str(bad)], terminal_width=200)
    assert r.exit_code == 1
    for key in ("sampling.rate", "sampling.bogus", "upstream.url"):
        assert key in r.output
    assert "unknown key" in r.output and "between 0 and 1" in r.output


def test_config_check_reports_yaml_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("sampling:\n  rate: 0.5\n  routes: {a: [\n")
    r = runner.invoke(app, ["config", "check", str(bad)], terminal_width=200)
    assert r.exit_code == 1 and "line 4" in r.output


def test_env_override_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "c.yaml"
    good.write_text("sampling:\n  rate: 0.5\n")
    r = runner.invoke(app, ["config", "check", str(good)], env={"TUNEWATCH_SAMPLING__RATE": "-1"},
                      terminal_width=200)
    assert r.exit_code == 1 and "sampling.rate" in r.output


def test_config_check_ignores_service_links_and_rejects_an_empty_token_file(tmp_path: Path
                                                                           ) -> None:
    from tests.monitor.test_config import SERVICE_LINKS

    r = runner.invoke(app, ["config", "check", str(ROOT / "tunewatch.example.yaml")],
                      env=SERVICE_LINKS)
    assert r.exit_code == 0, r.output
    token = tmp_path / "token"
    token.write_text("")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"admin:\n  token_file: {token}\n")
    r = runner.invoke(app, ["config", "check", str(cfg)], terminal_width=200)
    assert r.exit_code == 1 and "admin.token_file" in r.output and "empty" in r.output
    cfg.write_text(f"admin:\n  token_file: {tmp_path / 'missing'}\n")
    r = runner.invoke(app, ["config", "check", str(cfg)], terminal_width=200)
    assert r.exit_code == 1 and "admin.token_file" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_config_check_of_bytes_that_are_not_utf8_says_so(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"deployment:\n  scope_version: caf\xe9\n")
    r = runner.invoke(app, ["config", "check", str(cfg)], terminal_width=200)
    assert r.exit_code == 1 and "UTF-8" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_serve_rejects_bad_flags_with_exit_2() -> None:
    r = runner.invoke(app, ["serve", "--upstream", "not-a-url"], terminal_width=200)
    assert r.exit_code == 2 and "upstream.url" in r.output


def test_serve_process_forwards_and_stops_on_sigterm(upstream, tmp_path: Path) -> None:
    _, url = upstream
    proxy, admin = free_port(), free_port()
    from tests.monitor.test_config import SERVICE_LINKS

    # Kubernetes service links in the environment (issue 13, finding 3): ignored, warned once
    env = dict(os.environ, TUNEWATCH_STORE__PATH=str(tmp_path / "s.db"),
               TUNEWATCH_ANALYSIS__EMBEDDER="none", TUNEWATCH_ANALYSIS__REFUSAL_CLASSIFIER="false",
               **SERVICE_LINKS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "serve", "--upstream", url,
         "--listen", f"127.0.0.1:{proxy}", "--admin-listen", f"127.0.0.1:{admin}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{admin}/healthz", timeout=1).status_code
                 == 200, timeout=30, interval=0.1, what="the admin port", ignore=(httpx.HTTPError,))
        r = httpx.get(f"http://127.0.0.1:{proxy}/v1/models")
        assert r.json()["data"][0]["id"] == "scripted-model-v1"
        metrics = httpx.get(f"http://127.0.0.1:{admin}/metrics").text
        assert 'tunewatch_requests_total{method="GET",route="/v1/models",status_class="2xx"} 1.0' in metrics
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert proc.stdout is not None
        log = proc.stdout.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # one lifecycle line each, naming both ports (uvicorn's own came once per server, unnamed)
    assert log.count("serving: proxy") == 1 and log.count("stopped: proxy") == 1, log
    assert f"127.0.0.1:{proxy}" in log and f"127.0.0.1:{admin}" in log
    assert "Started server process" not in log and "Finished server process" not in log
    assert "Traceback" not in log
    assert log.count("ignoring environment variables that are not settings") == 1, log
    assert "TUNEWATCH_PORT_8000_TCP_ADDR" in log and "10.96.0.12" not in log


def test_serve_on_a_port_in_use_says_so_without_traceback(upstream) -> None:
    _, url = upstream
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "serve", "--upstream", url,
             "--listen", f"127.0.0.1:{port}", "--admin-listen", "127.0.0.1:0"],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, TUNEWATCH_ANALYSIS__EMBEDDER="none",
                     TUNEWATCH_ANALYSIS__REFUSAL_CLASSIFIER="false"))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "cannot listen" in out and f"127.0.0.1:{port}" in out and "--listen" in out
    assert "Traceback" not in out
