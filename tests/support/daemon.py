"""Run the real daemon (both uvicorn servers) in a background thread for tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry

from monitor.app import Daemon, create_app
from monitor.config import Settings, load_settings
from monitor.server import Bound, bind, serve
from tests.support.wait import wait_for

T = TypeVar("T")


@dataclass
class RunningDaemon:
    daemon: Daemon
    bound: Bound
    loop: asyncio.AbstractEventLoop

    @property
    def proxy_url(self) -> str:
        return self.bound.proxy_url

    @property
    def admin_url(self) -> str:
        return self.bound.admin_url

    @property
    def registry(self) -> CollectorRegistry:
        return self.daemon.registry

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        v = self.registry.get_sample_value(name, labels or {})
        return 0.0 if v is None else v

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def task_count(self) -> int:
        async def count() -> int:
            return len(asyncio.all_tasks())

        return self.call(count())

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0,
                 what: str = "the condition") -> T:
        """:func:`tests.support.wait.wait_for`: the predicate's truthy value, or AssertionError."""
        return wait_for(predicate, timeout=timeout, what=what)



def settings_for(upstream_url: str, tmp_path: Any = None, **sections: Any) -> Settings:
    data: dict[str, Any] = {
        "upstream": {"url": upstream_url, "read_timeout_s": 5, "connect_timeout_s": 2},
        "proxy": {"listen": "127.0.0.1:0"},
        "admin": {"listen": "127.0.0.1:0"},
        "store": {"path": str(tmp_path / "tw.db") if tmp_path is not None else ":memory:"},
        "analysis": {"embedder": "none", "refusal_classifier": False},
        "deployment": {"poll_models_interval_s": 0},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return load_settings(None, environ={}, **data)


@contextmanager
def run_daemon(settings: Settings, **create_kwargs: Any) -> Iterator[RunningDaemon]:
    bound = Bound(proxy=bind(settings.proxy.listen), admin=bind(settings.admin.listen))
    daemon = create_app(settings, CollectorRegistry(), **create_kwargs)
    loop = asyncio.new_event_loop()
    stop: asyncio.Event | None = None
    ready = threading.Event()
    errors: list[BaseException] = []

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        await serve(daemon, bound, stop=stop, on_ready=lambda b: ready.set())

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # surfaced to the test
            errors.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="tunewatch-test-daemon", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("daemon did not become ready")
    if errors:
        raise errors[0]
    running = RunningDaemon(daemon=daemon, bound=bound, loop=loop)
    try:
        yield running
    finally:
        if stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        if thread.is_alive():
            raise RuntimeError("daemon thread did not stop")
