"""The embedded model's safety net: the kernel check, the smoke check and the crash watcher.

A natively compiled llama-cpp-python faulted on ``ldtilecfg`` (AMX) at the first completion, the
server exited, and nothing said so. These tests build tiny shared libraries with the offending
instructions to show the kernel check finds them, and run a server that dies exactly like that
to show the watcher, the smoke check and the CLI name the cause and keep the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from monitor import localmodel
from monitor.cli import app
from monitor.localmodel import (
    LocalModel,
    LocalModelError,
    cpu_flags,
    describe_exit,
    llama_libraries,
    unsupported_instructions,
)
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _shared_lib(tmp_path: Path, name: str, asm: str) -> Path:
    if shutil.which("gcc") is None or shutil.which("objdump") is None:
        pytest.fail("gcc and objdump are needed (Debian's gcc and binutils)")
    src = tmp_path / f"{name}.c"
    src.write_text(f'void f(void *p) {{ __asm__ volatile ("{asm}" :: "D"(p)); }}\n')
    lib = tmp_path / f"lib{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(lib), str(src)], check=True)
    return lib


def test_kernel_check_flags_amx_and_avx512_even_when_the_cpu_reports_them(tmp_path: Path) -> None:
    amx = _shared_lib(tmp_path, "amx", "ldtilecfg (%%rdi)")
    zmm = _shared_lib(tmp_path, "zmm", "vaddps %%zmm1, %%zmm2, %%zmm3")
    plain = _shared_lib(tmp_path, "plain", "addl $1, (%%rdi)")
    everything = {"amx_tile", "avx512f", "avx2", "avx", "fma", "f16c", "avx_vnni"}
    found = unsupported_instructions([amx, zmm, plain], everything)
    assert found == {"libamx.so": {"amx_tile": 1}, "libzmm.so": {"avx512f": 1}}


def test_kernel_check_flags_instruction_sets_the_cpu_lacks(tmp_path: Path) -> None:
    fma = _shared_lib(tmp_path, "fma", "vfmadd231ps %%ymm1, %%ymm2, %%ymm3")
    assert unsupported_instructions([fma], {"avx", "fma"}) == {}
    assert unsupported_instructions([fma], {"avx"}) == {"libfma.so": {"fma": 1}}
    assert unsupported_instructions([fma], set()) == {"libfma.so": {"fma": 1, "avx": 1}}


def test_installed_llama_cpp_kernels_run_on_this_cpu() -> None:
    """The build scripts/install.sh made: nothing this CPU lacks, no AMX, no AVX-512."""
    libs = llama_libraries()
    assert any(p.name.startswith("libggml-cpu") for p in libs), [p.name for p in libs]
    assert unsupported_instructions(libs, cpu_flags()) == {}


def test_describe_exit() -> None:
    assert describe_exit(-11) == "signal SIGSEGV (11)"
    assert describe_exit(-4) == "signal SIGILL (4)"
    assert describe_exit(3) == "exit code 3"


# A stand-in for llama.cpp's server that loads fine, then dies on its first completion the way
# the AMX build did (a fault, the process gone).
_CRASHING_SERVER = textwrap.dedent("""
    import os, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def do_GET(self):
            body = b'{"object": "list", "data": [{"id": "gemma-3-270m"}]}'
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_POST(self):
            print("ggml_backend_amx_mul_mat: general protection fault", flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)

    print("model loaded", flush=True)
    HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
""")


def _crashing_model(tmp_path: Path) -> LocalModel:
    port = free_port()
    log_path = tmp_path / f"llama-server-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-c", _CRASHING_SERVER, str(port)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    lm = LocalModel(url=f"http://127.0.0.1:{port}", process=proc, log_path=log_path, _log=log)
    deadline = time.monotonic() + 20
    while not lm.accepts_connections():
        assert time.monotonic() < deadline, "scripted server did not start"
        assert proc.poll() is None, lm.log_tail()
        time.sleep(0.05)
    return lm


def test_watch_names_the_signal_and_keeps_the_log(tmp_path: Path) -> None:
    lm = _crashing_model(tmp_path)
    try:
        async def scenario() -> str:
            watcher = asyncio.ensure_future(lm.watch(interval_s=0.05))
            await asyncio.sleep(0.1)
            assert not watcher.done()  # alive and listening: nothing to report
            with pytest.raises(httpx.HTTPError):
                await asyncio.to_thread(httpx.post, lm.url + "/v1/completions", json={},
                                        timeout=10)
            return await asyncio.wait_for(watcher, timeout=10)

        why = asyncio.run(scenario())
        assert why == "exited with signal SIGSEGV (11)"
        text = lm.explain(why)
        assert str(lm.log_path) in text and "scripts/install.sh" in text
        assert "general protection fault" in text  # the log's tail is shown
    finally:
        lm.stop(keep_log=True)
    assert lm.log_path.exists()


def test_watch_notices_a_server_that_stops_listening(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "llama-server.log"
    log = log_path.open("wb")
    script = ("import socket, sys, time\n"
              "s = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
              "time.sleep(0.5); s.close(); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    lm = LocalModel(url=f"http://127.0.0.1:{port}", process=proc, log_path=log_path, _log=log)
    try:
        why = asyncio.run(asyncio.wait_for(
            lm.watch(interval_s=0.05, unreachable_after_s=0.5), timeout=20))
        assert why == "stopped accepting connections for 0.5s"
        assert proc.poll() is None  # alive, but no longer serving
    finally:
        lm.stop()


def test_smoke_check_fails_with_cause_and_log_tail(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[LocalModel] = []

    def fake_start(**_: object) -> LocalModel:
        started.append(_crashing_model(tmp_path))
        return started[0]

    monkeypatch.setattr(localmodel, "start_local_model", fake_start)
    with pytest.raises(LocalModelError) as info:
        localmodel.smoke_completion(timeout_s=10)
    message = str(info.value)
    assert "signal SIGSEGV (11)" in message and "general protection fault" in message
    assert started[0].log_path.exists() and started[0].process.poll() is not None

    r = CliRunner().invoke(app, ["doctor", "--timeout", "10"], terminal_width=200)
    assert r.exit_code == 1, r.output
    assert "failed its check" in r.output and "SIGSEGV" in r.output
    assert "Traceback" not in r.output


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them."""
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
            for c in (task / "children").read_text().split()]


@pytest.mark.llm
@pytest.mark.slow
def test_demo_reports_a_dying_model_server_and_exits_non_zero(tmp_path: Path) -> None:
    """The real demo models, killed the way a CPU fault kills them, while the demo uses them."""
    env = dict(os.environ, TUNEWATCH_STORE__PATH=str(tmp_path / "demo.db"),
               TUNEWATCH_ANALYSIS__CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    # the analysis cache dir is where the log goes; share the assembled GGUF to save a copy
    (tmp_path / "cache").mkdir()
    gguf = localmodel.gguf_path()
    (tmp_path / "cache" / gguf.name).symlink_to(gguf)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "demo", "--listen", "127.0.0.1:0",
         "--admin-listen", "127.0.0.1:0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    lines: list[str] = []
    left: list[int] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        for raw in proc.stdout:  # the models are up once the demo starts using them
            lines.append(raw.decode(errors="replace"))
            if "capturing the probe baseline" in lines[-1]:
                break
            assert time.monotonic() < deadline, "the demo did not start its story"
        servers = [c for c in _children(proc.pid)
                   if b"llama_cpp.server" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(servers) == 1, (servers, "".join(lines))
        left = servers
        os.kill(servers[0], signal.SIGSEGV)
        rest, _ = proc.communicate(timeout=60)
    finally:
        # the model server runs in its own session: a killed demo would leave it behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    text = "".join(lines) + rest.decode(errors="replace")
    assert proc.returncode == 1, text[-3000:]
    assert "the embedded model server stopped" in text
    assert "SIGSEGV" in text and "scripts/install.sh" in text
    assert "Traceback" not in text
    logs = list((tmp_path / "cache" / "demo" / "run" / "llama").glob("llama-server-*.log"))
    assert len(logs) == 1 and str(logs[0]) in text.replace("\n", "")
