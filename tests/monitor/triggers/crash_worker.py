"""A trigger service in its own process, for the kill -9 tests (not a test module).

Usage: python crash_worker.py DB URL [DEDUP_KEY]
Raises (or re-fires) the trigger DEDUP_KEY when given, prints READY, then runs the delivery loop
to a webhook sink at URL until killed.
"""

from __future__ import annotations

import asyncio
import sys

from prometheus_client import CollectorRegistry

from monitor.metrics import Metrics
from monitor.store import Store
from monitor.triggers.config import TriggerSettings
from monitor.triggers.model import TriggerEvent
from monitor.triggers.service import TriggerService


async def main(db: str, url: str, key: str | None) -> None:
    reg = CollectorRegistry()
    settings = TriggerSettings(
        sinks=[{"type": "webhook", "url": url, "secret": "s3cret", "timeout_s": 60}],
        retry={"base_backoff_s": 0.05, "max_backoff_s": 0.2})
    svc = TriggerService(settings=settings, store=Store(db), metrics=Metrics(reg).triggers)
    await svc.start()
    if key:
        t = svc.raise_trigger(TriggerEvent(type="drift", dedup_key=key, title="crash test",
                                           source="drift"))
        print(f"RAISED {t.ref} {t.fire_count}", flush=True)
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
