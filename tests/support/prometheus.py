"""Debian's ``prometheus`` for tests: one launcher, on 127.0.0.1 at a port chosen at run time.

:func:`run_prometheus` writes a config (1 s scrape and rule evaluation) scraping the given targets
as job ``tunewatch``, optionally loading a rule file and sending alerts to an Alertmanager, starts
the binary with a temporary data directory, waits until it is ready, and stops it on exit.
:class:`Prometheus` runs instant queries and waits for series.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.support.net import free_port
from tests.support.procs import stop
from tests.support.wait import wait_for


class PrometheusError(RuntimeError):
    """A query answered with an error (bad PromQL, execution error)."""


class Prometheus:
    def __init__(self, *, base_url: str, log: Path) -> None:
        self.base_url = base_url
        self.log = log

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises :class:`PrometheusError` with Prometheus' message on error."""
        url = f"{self.base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                data = json.load(response)
        except urllib.error.HTTPError as e:
            raise PrometheusError(e.read().decode(errors="replace")[:300]) from None
        if data.get("status") != "success":
            raise PrometheusError(str(data)[:300])
        if data.get("warnings"):
            raise PrometheusError(f"warnings: {data['warnings']}")
        return list(data["data"]["result"])

    def wait_for(self, *exprs: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until every ``expr`` returns a series; the last one's series (AssertionError after
        ``timeout``)."""
        def all_there() -> list[dict[str, Any]] | None:
            results = [self.query(e) for e in exprs]
            return results[-1] if all(results) else None

        return wait_for(all_there, timeout=timeout, interval=0.25,
                        what=f"Prometheus series for {list(exprs)}",
                        ignore=(urllib.error.URLError, ConnectionError, PrometheusError))

    def wait_scraped_after(self, t: float, *, job: str = "tunewatch") -> None:
        """Wait until Prometheus holds a scrape of ``job`` taken after Unix time ``t``."""
        self.wait_for(f'timestamp(up{{job="{job}"}}) > {t:.3f}')

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.base_url}/api/v1/alerts", timeout=5) as response:
            return list(json.load(response)["data"]["alerts"])

    def tail(self, n: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-n:])


@contextmanager
def run_prometheus(binary: str, *, targets: Sequence[str], workdir: Path,
                   rules: Path | None = None, alertmanager: str | None = None,
                   extra_args: Sequence[str] = ()) -> Iterator[Prometheus]:
    """Prometheus scraping ``targets`` (HOST:PORT, path /metrics) every second as job
    ``tunewatch``; ``alertmanager`` (HOST:PORT) receives its alerts."""
    port = free_port()
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)] if rules is not None else [],
        "scrape_configs": [{"job_name": "tunewatch", "scrape_interval": "1s",
                            "static_configs": [{"targets": list(targets)}]}],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log_path = workdir / "prometheus.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={path}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
         f"--web.listen-address=127.0.0.1:{port}", *extra_args],
        stdout=log, stderr=subprocess.STDOUT,
    )
    prom = Prometheus(base_url=f"http://127.0.0.1:{port}", log=log_path)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"prometheus exited ({proc.returncode}):\n{prom.tail()}")
            with urllib.request.urlopen(f"{prom.base_url}/-/ready", timeout=2) as response:
                return response.status == 200

        wait_for(ready, timeout=30, interval=0.1, what="prometheus to be ready",
                 ignore=(urllib.error.URLError, ConnectionError))
        yield prom
    finally:
        stop([proc], timeout=15)
        log.close()
