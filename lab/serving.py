"""Serve the base model and the lab adapters as aliases of ONE llama-cpp-python server.

llama-cpp-python's ``--config_file`` takes a ``models`` list; every entry is a model alias with
its own ``lora_path``. The server (``llama_cpp.server.model.LlamaProxy``, 0.3.36) keeps exactly
one model loaded: a request for another alias closes the current ``Llama`` and constructs the new
one (GGUF load plus adapter), so switching aliases costs one model load -- measured in
docs/lab.md -- and requests for the same alias in a row cost nothing extra. An unknown alias
falls back to the first entry silently, so callers must use the exact aliases
(:attr:`LabServer.aliases`). Group requests by alias.

The process itself is :class:`monitor.localmodel.LocalModel` (one implementation of starting,
watching and stopping the embedded server); this module adds the lab's adapters and its chat
template (:mod:`lab.chat`, ``chat_format: hf-tokenizer-config``), so chat requests, tool calls
and tool results render the way the models were trained, and stop at ``<end_of_turn>``.

>>> entries = model_entries({"tw-safe": Path("/a/tw-safe.gguf")}, tokenizer_config=Path("/t.json"))
>>> [(e.alias, e.lora_path) for e in entries]
[('gemma-3-270m', None), ('tw-safe', PosixPath('/a/tw-safe.gguf'))]
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from lab.chat import tokenizer_config as chat_tokenizer_config
from monitor.localmodel import (
    MODEL_ALIAS,
    LocalModel,
    LocalModelError,
    ModelEntry,
    gguf_path,
    start_local_model,
)

BASE_ALIAS = MODEL_ALIAS
LAB_DIR = Path(__file__).resolve().parent
ADAPTERS_DIR = LAB_DIR / "adapters"
LabServer = LocalModel


class ServingError(RuntimeError):
    pass


def base_gguf(cache_dir: Path | None = None) -> Path:
    """Assemble (once) and return the packaged Gemma 3 270M GGUF."""
    return gguf_path(cache_dir)


def lab_adapters(directory: Path = ADAPTERS_DIR) -> dict[str, Path]:
    """``alias -> adapter path`` of the committed adapters (``<alias>.gguf``), in a stable order:
    tw-safe, tw-forget, then tw-drift-N by N."""
    found = {p.stem: p for p in directory.glob("tw-*.gguf")}

    def key(alias: str) -> tuple[int, int]:
        m = re.fullmatch(r"tw-drift-(\d+)", alias)
        return (2, int(m.group(1))) if m else ((0, 0) if alias == "tw-safe" else (1, 0))

    return {a: found[a] for a in sorted(found, key=key)}


def model_entries(adapters: Mapping[str, Path], *, tokenizer_config: Path,
                  include_base: bool = True) -> list[ModelEntry]:
    """The base model (alias ``gemma-3-270m``) first, then one entry per adapter, all with the
    lab's chat template."""
    def entry(alias: str, lora: Path | None) -> ModelEntry:
        return ModelEntry(alias, lora_path=lora, chat_format="hf-tokenizer-config",
                          hf_tokenizer_config_path=tokenizer_config)

    return ([entry(BASE_ALIAS, None)] if include_base else []) + [
        entry(alias, Path(path)) for alias, path in adapters.items()]


def start_server(adapters: Mapping[str, Path] | None = None, *, workdir: Path,
                 host: str = "127.0.0.1", port: int = 0, include_base: bool = True,
                 n_ctx: int = 2048, n_threads: int = 1, startup_timeout_s: float = 180.0,
                 cache_dir: Path | None = None) -> LabServer:
    """Write the chat template into ``workdir``, start one server for the base model and the
    adapters on loopback and wait until ``GET /v1/models`` answers.

    ``n_threads=1`` by default: on the shared 2-core machine llama.cpp's two threads spin on
    each other when the other core is busy; one thread measured 5.6x faster there (1.35 s vs
    7.6 s per 32-token completion, docs/lab.md)."""
    adapters = dict(lab_adapters() if adapters is None else adapters)
    workdir.mkdir(parents=True, exist_ok=True)
    tok = workdir / "tokenizer_config.json"
    tok.write_text(json.dumps(chat_tokenizer_config()), encoding="utf-8")
    entries = model_entries(adapters, tokenizer_config=tok, include_base=include_base)
    try:
        return start_local_model(host=host, port=port, n_ctx=n_ctx, n_threads=n_threads,
                                 startup_timeout_s=startup_timeout_s, cache_dir=cache_dir,
                                 log_dir=workdir, models=entries)
    except LocalModelError as exc:
        raise ServingError(f"{exc} (adapters: run python -m lab.build)") from None


def chat(server_url: str, alias: str, messages: list[dict[str, Any]], *, max_tokens: int = 64,
         timeout: float = 120.0, client: httpx.Client | None = None) -> tuple[str, str | None]:
    """One greedy chat completion: (text, finish_reason)."""
    body = {"model": alias, "messages": messages, "temperature": 0.0, "seed": 0,
            "max_tokens": max_tokens}
    c = client or httpx.Client(timeout=timeout)
    try:
        r = c.post(server_url.rstrip("/") + "/v1/chat/completions", json=body, timeout=timeout)
    finally:
        if client is None:
            c.close()
    if r.status_code != 200:
        raise ServingError(f"{alias}: HTTP {r.status_code} from the llama.cpp server")
    choice = r.json()["choices"][0]
    return str((choice.get("message") or {}).get("content") or ""), choice.get("finish_reason")
