"""The adapters the model server says it serves, kept current and durable (table
``server_adapters``, owned here).

The upstream poller (:class:`monitor.proxy.health.UpstreamMonitor`) hands this module what the
server reports: the ``GET /v1/models`` body (vLLM lists each LoRA module with its ``parent``), and
llama.cpp's ``GET /props`` and ``GET /lora-adapters`` where the server has them. The parsers are
:mod:`monitor.governance.adapters`; a body that is not in the documented shape raises
:class:`~monitor.governance.adapters.AdapterParseError`, which the poller counts as a monitor
error (stage ``fingerprint``) and otherwise ignores. Each server kind keeps its own list, so the
llama.cpp poll never erases what ``/v1/models`` reported.

What comes out: :meth:`ServerAdapters.components` (``adapter:<name>`` for the serving
fingerprint), :meth:`ServerAdapters.digest` (one value for the tracker's bounded
``server_adapters`` component) and :meth:`ServerAdapters.parents` (served model id -> parent: the
lineage that tells a re-fine-tune from a base-model change). Listeners hear of each change.

>>> from monitor.store import Store
>>> s = ServerAdapters(store=Store(":memory:"), clock=lambda: 1.0)
>>> s.models({"object": "list", "data": [
...     {"id": "gemma-3-270m", "object": "model", "parent": None},
...     {"id": "tw-safe", "object": "model", "root": "/adapters/tw-safe", "parent": "gemma-3-270m"}]})
True
>>> s.components(), s.parents()
({'adapter:tw-safe': 'parent=gemma-3-270m;source=/adapters/tw-safe'}, {'tw-safe': 'gemma-3-270m'})
>>> s.llamacpp({"model_path": "/m/gemma.gguf"}, [{"id": 0, "path": "/a/tw-drift-3.gguf",
...                                               "scale": 1.0}])
True
>>> sorted(s.components())
['adapter:tw-drift-3.gguf', 'adapter:tw-safe']
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from monitor.governance.adapters import (
    ServedAdapter,
    adapter_components,
    parse_llamacpp_lora_adapters,
    parse_llamacpp_props,
    parse_vllm_models,
)
from monitor.governance.schema import Migration, migrate
from monitor.store import Store

log = logging.getLogger("tunewatch.governance.adapters")

Server = Literal["vllm", "llama.cpp"]
COMPONENT = "adapters"
MIGRATIONS = (
    Migration(1, "server_adapters: the adapters each server kind last reported", (
        "CREATE TABLE server_adapters ("
        " server TEXT PRIMARY KEY, adapters TEXT NOT NULL, reported_at REAL NOT NULL)",
    )),
)


def _encode(adapters: Sequence[ServedAdapter]) -> str:
    return json.dumps([{"name": a.name, "parent": a.parent, "source": a.source,
                        "scale": a.scale, "server": a.server} for a in adapters], sort_keys=True)


def _decode(text: str) -> tuple[ServedAdapter, ...]:
    return tuple(ServedAdapter(**a) for a in json.loads(text))


def components_digest(components: dict[str, str]) -> str:
    """One 16-hex-digit value for the adapter components (the tracker's ``server_adapters``).

    >>> components_digest({"adapter:a": "parent=b;source=c"})
    '049310bfbb30456a'
    """
    lines = "".join(f"{k}={v}\n" for k, v in sorted(components.items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


class ServerAdapters:
    """What the server reports about its adapters (a :class:`monitor.proxy.health.ServerReports`).

    Thread-safe; the poller calls it on the event loop (the SQLite write is one small row)."""

    def __init__(self, *, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, str]], None]] = []
        migrate(store, component=COMPONENT, migrations=MIGRATIONS, clock=clock)
        self._by_server: dict[str, tuple[ServedAdapter, ...]] = {
            server: _decode(text) for server, text in store.query(
                "SELECT server, adapters FROM server_adapters")}

    def add_change_listener(self, listener: Callable[[dict[str, str]], None]) -> None:
        """``listener(components)`` when the reported adapters change."""
        self._listeners.append(listener)

    # -- what the poller hands over (raises AdapterParseError) -----------------------------------
    def models(self, body: Any) -> bool:
        """A ``GET /v1/models`` body; returns whether the adapters changed."""
        return self._update("vllm", parse_vllm_models(body).adapters)

    def llamacpp(self, props: Any, lora_adapters: Any | None) -> bool:
        """llama.cpp's ``GET /props`` and ``GET /lora-adapters`` bodies (``None``: the server has
        no such route); returns whether the adapters changed."""
        parsed = parse_llamacpp_props(props)
        adapters = (() if lora_adapters is None else
                    parse_llamacpp_lora_adapters(lora_adapters, parent=parsed.model_path))
        return self._update("llama.cpp", adapters)

    def _update(self, server: Server, adapters: Sequence[ServedAdapter]) -> bool:
        new = tuple(sorted(adapters, key=lambda a: a.name))
        with self._lock:
            if self._by_server.get(server, ()) == new:
                return False
            self._by_server[server] = new
            with self._store.transaction() as db:
                db.execute("INSERT OR REPLACE INTO server_adapters VALUES (?, ?, ?)",
                           (server, _encode(new), self._clock()))
        components = self.components()
        log.info("server adapters changed: server=%s adapters=%d", server, len(new))
        for listener in list(self._listeners):
            try:
                listener(components)
            except Exception:
                log.exception("adapter change listener failed")
        return True

    # -- reading ---------------------------------------------------------------------------------
    def adapters(self) -> list[ServedAdapter]:
        with self._lock:
            return [a for server in sorted(self._by_server) for a in self._by_server[server]]

    def components(self) -> dict[str, str]:
        """``adapter:<name>`` -> ``parent=...;source=...[;scale=...]`` for the fingerprint."""
        return adapter_components(self.adapters())

    def digest(self) -> str | None:
        """The tracker's ``server_adapters`` value (None while no adapter is reported)."""
        components = self.components()
        return components_digest(components) if components else None

    def parents(self) -> dict[str, str]:
        """Served model id -> the model it applies to, from vLLM's LoRA cards (llama.cpp's
        adapters are files, not model ids)."""
        return {a.name: a.parent for a in self.adapters()
                if a.server == "vllm" and a.parent is not None}


def stored_adapter_components(store: Store) -> dict[str, str]:
    """The adapter components last recorded in ``store`` (tools beside the daemon)."""
    migrate(store, component=COMPONENT, migrations=MIGRATIONS)
    adapters = [a for _, text in store.query("SELECT server, adapters FROM server_adapters "
                                              "ORDER BY server") for a in _decode(text)]
    return adapter_components(adapters)
