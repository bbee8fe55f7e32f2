"""Run the Tunewatch sidecar (``tunewatch serve``) as a subprocess in front of a lab server.

Only the stable interfaces are used: the CLI (``python -m monitor.cli serve --config FILE``),
the admin API (``/healthz``, ``/v1/detectors``, ``/v1/detectors/reset``, ``/v1/probes/run``) and
``/metrics``. Ports are chosen at run time on loopback; :meth:`Sidecar.stop` ends the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from monitor.localmodel import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent


class SidecarError(RuntimeError):
    pass


def sidecar_config(upstream_url: str, *, state_dir: Path, proxy_port: int, admin_port: int,
                   refusal_baseline_rate: float | None = None, refusal_arl0: float = 50_000,
                   probes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``tunewatch serve`` configuration: every request sampled, the refusal judge on static
    embeddings, the traffic refusal-rate CUSUM against ``refusal_baseline_rate``."""
    analysis: dict[str, Any] = {"embedder": "static", "refusal_classifier": True,
                                "refusal_arl0": refusal_arl0, "checkpoint_interval_s": 3600}
    if refusal_baseline_rate is not None:
        analysis["refusal_baseline_rate"] = refusal_baseline_rate
    cfg: dict[str, Any] = {
        "upstream": {"url": upstream_url, "read_timeout_s": 300},
        "proxy": {"listen": f"127.0.0.1:{proxy_port}"},
        "admin": {"listen": f"127.0.0.1:{admin_port}"},
        "sampling": {"rate": 1.0},
        "store": {"path": str(state_dir / "tunewatch.db")},
        "analysis": analysis,
        "deployment": {"poll_models_interval_s": 0},
        "log_level": "warning",
    }
    if probes is not None:
        cfg["probes"] = {"enabled": True, **probes}
    return cfg


@dataclass
class Sidecar:
    proxy_url: str
    admin_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)

    def detectors(self) -> dict[str, Any]:
        r = httpx.get(self.admin_url + "/v1/detectors", timeout=10)
        r.raise_for_status()
        return dict(r.json()["detectors"])

    def reset(self, name: str) -> None:
        httpx.post(self.admin_url + "/v1/detectors/reset", params={"name": name},
                   timeout=10).raise_for_status()

    def run_probes(self, timeout: float = 600) -> dict[str, Any]:
        r = httpx.post(self.admin_url + "/v1/probes/run", timeout=timeout)
        r.raise_for_status()
        return dict(r.json())

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(self.admin_url + "/metrics", timeout=10).text
        want = labels or {}
        total = 0.0
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in want.items()):
                    total += s.value
        return total

    def wait_verdicts(self, n: int, timeout: float = 120.0) -> float:
        """Wait until ``n`` traffic verdicts were scored (the analysis runs off the hot path)."""
        deadline = time.monotonic() + timeout
        got = 0.0
        while time.monotonic() < deadline:
            got = self.metric("tunewatch_refusal_verdicts_total", {"source": "traffic"})
            if got >= n:
                return got
            if self.process.poll() is not None:
                raise SidecarError(f"sidecar exited: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        raise SidecarError(f"only {got:g} of {n} traffic verdicts after {timeout:.0f}s")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Sidecar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sidecar(upstream_url: str, *, state_dir: Path, startup_timeout_s: float = 120.0,
                  **config: Any) -> Sidecar:
    """Start ``python -m monitor.cli serve --config ...`` and wait for ``/healthz``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    proxy_port, admin_port = free_port(), free_port()
    cfg = sidecar_config(upstream_url, state_dir=state_dir, proxy_port=proxy_port,
                         admin_port=admin_port, **config)
    cfg_path = state_dir / "tunewatch.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    log_path = state_dir / "sidecar.log"
    log = log_path.open("wb")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "serve", "--config",
                             str(cfg_path)], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    sc = Sidecar(proxy_url=f"http://127.0.0.1:{proxy_port}",
                 admin_url=f"http://127.0.0.1:{admin_port}", process=proc, log_path=log_path,
                 _log=log)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sc.stop()
            raise SidecarError(f"tunewatch serve exited with {proc.returncode}:\n"
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(sc.admin_url + "/healthz", timeout=1.0).status_code == 200:
                return sc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sc.stop()
    raise SidecarError(f"tunewatch serve did not answer within {startup_timeout_s:.0f}s")
