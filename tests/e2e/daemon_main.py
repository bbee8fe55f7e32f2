"""Run the real daemon as a process for the end-to-end test (not a test module).

Usage: python tests/e2e/daemon_main.py CONFIG.yaml

Does what ``tunewatch serve --config`` does (create_app with the trigger service installed, both
uvicorn servers, SIGTERM/SIGINT handling), with one test-only change read from an ``e2e:`` section:
the scheduled probes are built here with the fast ``static`` refusal classifier and a 1 s first-run
delay, instead of create_app's (MiniLM, 30 s), so a run of the test stays within its time bound.
The scheduler, its baseline comparison and its result listener are the daemon's own.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from monitor.app import create_app
from monitor.config import load_settings
from monitor.server import Bound, bind, serve
from monitor.triggers.install import install


def _wire_probes(daemon: Any, bound: Bound, probes: Any, e2e: dict[str, Any]) -> None:
    from detectors.refusal import load_classifier
    from monitor.probes.scheduler import ProbeScheduler

    sched = ProbeScheduler(settings=probes, metrics=daemon.metrics, store=daemon.store,
                           host=daemon.host, target_base_url=bound.proxy_url + "/v1", clock=daemon.clock,
                           classifier=load_classifier(e2e.get("classifier", "static")),
                           first_run_delay_s=float(e2e.get("first_run_delay_s", 1.0)))
    service = install(daemon)  # the daemon's trigger service (idempotent)
    if service is not None:
        sched.add_result_listener(service.on_probe_result)
    daemon.hooks_startup.append(sched.start)
    daemon.hooks_shutdown.append(sched.shutdown)


async def main(config: Path) -> None:
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    e2e = raw.pop("e2e", {}) or {}
    core = config.with_suffix(".core.yaml")
    core.write_text(yaml.safe_dump(raw), encoding="utf-8")
    settings = load_settings(core)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    probes = settings.probes
    app_settings = settings.model_copy(
        update={"probes": probes.model_copy(update={"enabled": False})})
    bound = Bound(proxy=bind(settings.proxy.listen), admin=bind(settings.admin.listen))
    daemon = create_app(app_settings, CollectorRegistry())
    install(daemon)  # no-op where create_app already installed the triggers
    if probes.enabled:
        _wire_probes(daemon, bound, probes, e2e)

    def ready(b: Bound) -> None:
        print(f"READY {b.proxy_url} {b.admin_url}", flush=True)

    await serve(daemon, bound, stop=asyncio.Event(), on_ready=ready, install_signal_handlers=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
