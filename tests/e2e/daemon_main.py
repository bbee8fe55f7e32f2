"""Run the real daemon as a process for the end-to-end test (not a test module).

Usage: python tests/e2e/daemon_main.py CONFIG.yaml

It does what ``tunewatch serve --config`` does (create_app, both uvicorn servers, SIGTERM/SIGINT
handling) and, where the app factory does not do it yet, wires the trigger service
(``monitor.triggers.install``) and the scheduled probes (``ProbeScheduler`` against the daemon's
own proxy, results fed to ``TriggerService.on_probe_result``). A ``triggers:`` section the root
Settings does not know yet is read separately. Extra test-only keys under ``e2e:`` pick the probe
classifier and the first-run delay.
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
from monitor.config import Settings, load_settings
from monitor.server import Bound, bind, serve
from monitor.triggers.config import TriggerSettings
from monitor.triggers.install import install


def _wire_probes(daemon: Any, bound: Bound, e2e: dict[str, Any]) -> None:
    from detectors.refusal import load_classifier
    from monitor.probes.scheduler import ProbeScheduler

    sched = ProbeScheduler(settings=daemon.settings.probes, metrics=daemon.metrics,
                           store=daemon.store, target_base_url=bound.proxy_url + "/v1",
                           clock=daemon.clock,
                           classifier=load_classifier(e2e.get("classifier", "static")),
                           first_run_delay_s=float(e2e.get("first_run_delay_s", 1.0)))
    service = daemon.extras.get("triggers")
    inner = sched.run_once

    async def run_once() -> Any:
        result = await inner()
        if service is not None and result.status == "ok":
            await asyncio.to_thread(service.on_probe_result, result)
        return result

    sched.run_once = run_once  # type: ignore[method-assign]
    daemon.extras["probe_scheduler"] = sched
    daemon.hooks_startup.append(sched.start)
    daemon.hooks_shutdown.append(sched.shutdown)


async def main(config: Path) -> None:
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    e2e = raw.pop("e2e", {}) or {}
    trig_raw = raw.get("triggers") if "triggers" not in Settings.model_fields else None
    if trig_raw is not None:
        raw.pop("triggers")
    stripped = config.with_suffix(".core.yaml")
    stripped.write_text(yaml.safe_dump(raw), encoding="utf-8")
    settings = load_settings(stripped)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bound = Bound(proxy=bind(settings.proxy.listen), admin=bind(settings.admin.listen))
    daemon = create_app(settings, CollectorRegistry())
    if "triggers" not in daemon.extras:
        install(daemon, settings=TriggerSettings.model_validate(trig_raw or {}))
    if settings.probes.enabled and "probe_scheduler" not in daemon.extras:
        _wire_probes(daemon, bound, e2e)

    def ready(b: Bound) -> None:
        print(f"READY {b.proxy_url} {b.admin_url}", flush=True)

    await serve(daemon, bound, stop=asyncio.Event(), on_ready=ready, install_signal_handlers=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
