"""Sidecar overhead beside its peers, measured side by side in one run (compare ratios).

Starts a fast local upstream (bench/fast_upstream.py) and, in front of it, Tunewatch with sampling
off and with its defaults, plus the peers that are installed (``--peers nginx,litellm``): nginx
(Debian; ``proxy_buffering off`` and upstream keepalive, the practical floor) and the LiteLLM
proxy (PyPI, in its own virtualenv, ``--litellm-venv``; pass-through to the same upstream). The
same load goes direct and through each target, interleaved in short rounds so that noise hits all
targets alike; the load generator is pinned to one core:

  * concurrency 1, non-streaming and streaming (time to first chunk, TTFC);
  * a fixed open-loop rate (default 200 rps), non-streaming;
  * closed-loop throughput at concurrency 32 against an upstream with zero service time (the
    proxy's own CPU ceiling) and with 50 ms of simulated model time per request;
  * CPU time per request of each server process (user + system from /proc, whole process tree),
    and what each proxy adds over the upstream alone.

``--token-ab`` adds Tunewatch with sampling off and ``metrics.token_usage: false``: beside the
sampling-off row (token accounting on, no analysis to add noise), the cost of the token and
per-token latency accounting is the difference of two rows of one run.
``--calibration-ab`` adds Tunewatch with its defaults but ``analysis.drift_calibration: inline``:
the embedding-drift threshold simulated on the analysis thread, as before it moved to a child
process, beside the default row (the difference is what the move buys).
``--profile DIR`` records the Tunewatch-defaults process with py-spy (PyPI) while the benchmark
runs, into ``DIR/tunewatch.raw.txt`` (collapsed stacks per thread of the GIL holder;
``bench/profile_summary.py`` summarises them); sampling slows the profiled process, so take the table from a run without it.

    .venv/bin/python bench/proxy_overhead.py [--quick] [--rate 200] [--peers nginx,litellm]
        [--token-ab] [--profile DIR]

LiteLLM's environment: ``python3 -m venv ~/.cache/tunewatch/bench-litellm &&
~/.cache/tunewatch/bench-litellm/bin/pip install 'litellm[proxy]'`` (kept out of the project's
dependencies; started with ``LITELLM_LOCAL_MODEL_COST_MAP=True`` so it never fetches anything).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from monitor.localmodel import free_port

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = b'{"model": "bench", "messages": [{"role": "user", "content": "Say something."}]}'
STREAM_PAYLOAD = PAYLOAD[:-1] + b', "stream": true}'
DEFAULT_LITELLM_VENV = Path.home() / ".cache" / "tunewatch" / "bench-litellm"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Sent to every target; LiteLLM refuses to start without a master key and checks it.
BENCH_KEY = "sk-bench-" + "5f0c" * 8


def wait_up(url: str, timeout: float = 120, proc: subprocess.Popen[bytes] | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live descendants (nginx workers, uvicorn workers)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Target:
    name: str
    url: str
    proc: subprocess.Popen[bytes] | None  # None: the upstream itself (direct)
    admin: str | None = None  # Tunewatch's admin URL
    own_cpu_s: float = 0.0
    upstream_cpu_s: float = 0.0
    requests: int = 0
    latency: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    rps: dict[int, list[float]] = field(default_factory=dict)


class Stack:
    """The upstream and every proxy in front of it, as processes."""

    def __init__(self, tmp: Path, peers: set[str], litellm_venv: Path,
                 token_ab: bool = False, calibration_ab: bool = False) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        up = free_port()
        self.upstream = self._spawn([sys.executable, str(ROOT / "bench/fast_upstream.py"),
                                     str(up)])
        self.upstream_url = f"http://127.0.0.1:{up}"
        wait_up(self.upstream_url + "/", proc=self.upstream)
        self.targets = [Target("direct", self.upstream_url, None)]
        try:
            if "nginx" in peers:
                self._nginx()
            if token_ab:
                self._tunewatch("tunewatch-nosample-notokens",
                                {"TUNEWATCH_SAMPLING__RATE": "0",
                                 "TUNEWATCH_METRICS__TOKEN_USAGE": "false"})
            self._tunewatch("tunewatch-nosample", {"TUNEWATCH_SAMPLING__RATE": "0"})
            self._tunewatch("tunewatch", {})
            if calibration_ab:
                self._tunewatch("tunewatch-inline-calibration",
                                {"TUNEWATCH_ANALYSIS__DRIFT_CALIBRATION": "inline"})
            if "litellm" in peers:
                self._litellm(litellm_venv)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def _tunewatch(self, name: str, extra: dict[str, str]) -> None:
        port, admin = free_port(), free_port()
        env = dict(os.environ, TUNEWATCH_LOG_LEVEL="warning", HF_HUB_OFFLINE="1",
                   TUNEWATCH_STORE__PATH=str(self.tmp / f"{name}.db"),
                   TUNEWATCH_DEPLOYMENT__POLL_MODELS_INTERVAL_S="0", **extra)
        p = self._spawn([sys.executable, "-m", "monitor.cli", "serve", "--upstream",
                         self.upstream_url, "--listen", f"127.0.0.1:{port}", "--admin-listen",
                         f"127.0.0.1:{admin}"], env)
        wait_up(f"http://127.0.0.1:{admin}/healthz", proc=p)
        self.targets.append(Target(name, f"http://127.0.0.1:{port}", p,
                                   admin=f"http://127.0.0.1:{admin}"))

    def _nginx(self) -> None:
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                          else None)
        if nginx is None:
            print("(nginx not installed: apt-get install nginx; skipped)")
            return
        port = free_port()
        d = self.tmp / "nginx"
        d.mkdir()
        up = self.upstream_url.removeprefix("http://")
        temps = "".join(f"  {k}_temp_path {d}/{k};\n"
                        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (d / "nginx.conf").write_text(
            f"worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{\n  access_log off;\n{temps}"
            f"  upstream up {{ server {up}; keepalive 64; }}\n"
            f"  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n"
            "      proxy_pass http://up;\n      proxy_http_version 1.1;\n"
            '      proxy_set_header Connection "";\n      proxy_buffering off;\n'
            "      proxy_request_buffering off;\n    }\n  }\n}\n")
        p = self._spawn([nginx, "-p", str(d), "-c", str(d / "nginx.conf")])
        wait_up(f"http://127.0.0.1:{port}/", proc=p)
        version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
        self.targets.append(Target(f"nginx ({version.rsplit('/', 1)[-1]})",
                                   f"http://127.0.0.1:{port}", p))

    def _litellm(self, venv: Path) -> None:
        exe = venv / "bin" / "litellm"
        if not exe.exists():
            print(f"(LiteLLM not installed in {venv}: see this script's docstring; skipped)")
            return
        port = free_port()
        cfg = self.tmp / "litellm.yaml"
        cfg.write_text("model_list:\n  - model_name: bench\n    litellm_params:\n"
                       f"      model: openai/bench\n      api_base: {self.upstream_url}/v1\n"
                       "      api_key: sk-bench-not-a-key\n"
                       "litellm_settings:\n  drop_params: true\n  telemetry: false\n")
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR",
                   LITELLM_MASTER_KEY=BENCH_KEY, NO_PROXY="*", no_proxy="*")
        p = self._spawn([str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port",
                         str(port), "--num_workers", "1"], env)
        wait_up(f"http://127.0.0.1:{port}/health/liveliness", timeout=240, proc=p)
        self.targets.append(Target("litellm", f"http://127.0.0.1:{port}", p))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def one(session: aiohttp.ClientSession, base: str, stream: bool,
              delay_ms: int = 0) -> tuple[float, float]:
    """(total, time to first chunk) of one request."""
    body = STREAM_PAYLOAD if stream else PAYLOAD
    if delay_ms:  # the upstream reads the delay from the body, which every proxy forwards
        body = body[:-1] + f', "user": "delay-{delay_ms}"}}'.encode()
    t0 = time.perf_counter()
    first = None
    async with session.post(base + "/v1/chat/completions", data=body,
                            headers={"content-type": "application/json",
                                     "authorization": f"Bearer {BENCH_KEY}"}) as r:
        async for _ in r.content.iter_any():
            if first is None:
                first = time.perf_counter() - t0
        if r.status != 200:
            raise RuntimeError(f"{base}: HTTP {r.status}")
    total = time.perf_counter() - t0
    return total, first if first is not None else total


def metric_total(text: str, name: str) -> float:
    """Sum of every series of ``name`` in a Prometheus exposition."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + " ", name + "{")))


def wait_analysis_idle(admin: str, timeout: float = 180) -> None:
    """Until the sidecar has analysed every pair it sampled in the warm-up (its analysis loads
    its models at the first sample), so one-time loading is not charged to measured requests."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(admin + "/metrics", timeout=5).text
        if (metric_total(text, "tunewatch_samples_analyzed_total")
                >= metric_total(text, "tunewatch_samples_total")):
            return
        time.sleep(0.5)
    print(f"({admin}: the analysis did not catch up with the warm-up in {timeout:.0f} s)")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def measured(stack: Stack, t: Target, coro: Any) -> Any:
    """Await one measured phase of ``t``, charging it the CPU its process tree (and the upstream,
    which serves every target's requests) spent meanwhile."""
    own0 = tree_cpu_seconds(t.proc.pid) if t.proc is not None else 0.0
    up0 = tree_cpu_seconds(stack.upstream.pid)
    result = await coro
    t.own_cpu_s += (tree_cpu_seconds(t.proc.pid) - own0) if t.proc is not None else 0.0
    t.upstream_cpu_s += tree_cpu_seconds(stack.upstream.pid) - up0
    t.requests += len(result) if isinstance(result, list) else int(result[1])
    return result


async def sequential(session: aiohttp.ClientSession, base: str, n: int,
                     stream: bool) -> list[tuple[float, float]]:
    return [await one(session, base, stream) for _ in range(n)]


async def fixed_rate(session: aiohttp.ClientSession, base: str, rate: float, seconds: float,
                     stream: bool) -> list[tuple[float, float]]:
    start = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(session, base, stream)))
    return list(await asyncio.gather(*tasks))


async def throughput(session: aiohttp.ClientSession, base: str, seconds: float,
                     concurrency: int, delay_ms: int) -> tuple[float, int]:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await one(session, base, False, delay_ms)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0), done


async def run(args: argparse.Namespace) -> None:
    peers = {p for p in args.peers.split(",") if p}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), peers, args.litellm_venv, args.token_ab,
                      args.calibration_ab)  # stops it on failure
        # pin the load generator only now: the servers it started keep every core
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {args.core})
        profilers = start_profilers(stack, args.profile) if args.profile else []
        try:
            await measure(stack, args)
        finally:
            stop_profilers(profilers)
            stack.stop()


def start_profilers(stack: Stack, out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy on the Tunewatch-defaults process, collapsed stacks (``bench/profile_summary.py``
    summarises them)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.mkdir(parents=True, exist_ok=True)
    target = next(t for t in stack.targets if t.name == "tunewatch")
    assert target.proc is not None
    return [subprocess.Popen(
        # --gil: only the thread holding the GIL is sampled, so the shares are of interpreter
        # time (threads waiting on a lock or a queue are never counted as busy)
        [py_spy, "record", "--pid", str(target.proc.pid), "--rate", "250", "--format", "raw",
         "--threads", "--gil", "--output", str(out / "tunewatch.raw.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]


def stop_profilers(procs: list[subprocess.Popen[bytes]]) -> None:
    import signal

    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


async def measure(stack: Stack, args: argparse.Namespace) -> None:
    targets = stack.targets
    n = 100 if args.quick else 400
    rounds = 2 if args.quick else 4
    print(f"# proxy overhead benchmark (cores={os.cpu_count()}, load generator on core "
          f"{sorted(os.sched_getaffinity(0))}, targets: {', '.join(t.name for t in targets)})")
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, auto_decompress=False) as session:
        for t in targets:  # warm-up
            for stream in (False, True):
                await sequential(session, t.url, 20, stream)
        for t in targets:  # the analysis loads its models at the first sample: not measured
            if t.admin is not None:
                await asyncio.to_thread(wait_analysis_idle, t.admin)
        for key, stream in (("c1", False), ("c1-stream", True)):
            for _ in range(rounds):
                for t in targets:
                    res = await measured(stack, t, sequential(session, t.url, n // rounds, stream))
                    t.latency.setdefault(key, []).extend(res)
        for _ in range(rounds):
            for t in targets:
                res = await measured(stack, t, fixed_rate(session, t.url, args.rate, 2.0, False))
                t.latency.setdefault("rate", []).extend(res)
        for delay_ms in (0, 50):
            for _ in range(rounds):
                for t in targets:
                    rps, _ = await measured(stack, t, throughput(session, t.url, 2.0, 32,
                                                                 delay_ms))
                    t.rps.setdefault(delay_ms, []).append(rps)
    report(targets, args.rate)
    for t in targets:  # how much of the sampled traffic the analysis kept up with
        if t.admin is not None:
            text = (await asyncio.to_thread(httpx.get, t.admin + "/metrics", timeout=5)).text
            print(f"({t.name}: sampled {metric_total(text, 'tunewatch_samples_total'):.0f}, "
                  f"analysed {metric_total(text, 'tunewatch_samples_analyzed_total'):.0f}, "
                  f"dropped {metric_total(text, 'tunewatch_samples_dropped_total'):.0f})")


def report(targets: list[Target], rate: float) -> None:
    d = targets[0]

    def lat(t: Target, key: str, i: int, q: float) -> float:
        return pct([x[i] for x in t.latency[key]], q) * 1e3

    print("\n| target | added p50 / p99 c=1 (ms) | added TTFC p50 / p99 (ms) | "
          f"p50 / p99 at {rate:g} rps (ms) | req/s ratio 0 ms / 50 ms | CPU µs/req of the "
          "proxy process | CPU µs/req added (proxy + upstream vs direct) |")
    print("|---|---|---|---|---|---|---|")
    d_rps = {k: statistics.median(v) for k, v in d.rps.items()}
    d_cpu = d.upstream_cpu_s / max(1, d.requests) * 1e6
    for t in targets:
        rps = {k: statistics.median(v) / d_rps[k] for k, v in t.rps.items()}
        own = t.own_cpu_s / max(1, t.requests) * 1e6
        total = (t.own_cpu_s + t.upstream_cpu_s) / max(1, t.requests) * 1e6
        print(f"| {t.name} "
              f"| {lat(t, 'c1', 0, .5) - lat(d, 'c1', 0, .5):+.2f} / "
              f"{lat(t, 'c1', 0, .99) - lat(d, 'c1', 0, .99):+.2f} "
              f"| {lat(t, 'c1-stream', 1, .5) - lat(d, 'c1-stream', 1, .5):+.2f} / "
              f"{lat(t, 'c1-stream', 1, .99) - lat(d, 'c1-stream', 1, .99):+.2f} "
              f"| {lat(t, 'rate', 0, .5):.2f} / {lat(t, 'rate', 0, .99):.2f} "
              f"| {rps[0]:.2f}x / {rps[50]:.2f}x | {own:.0f} | {total - d_cpu:+.0f} |")
    print(f"\n(direct: {d_rps[0]:.0f} req/s at 0 ms, {d_rps[50]:.0f} req/s at 50 ms, upstream "
          f"{d_cpu:.0f} CPU µs/req; {d.requests} requests per target)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--peers", default="", help="comma-separated: nginx,litellm")
    ap.add_argument("--litellm-venv", type=Path, default=DEFAULT_LITELLM_VENV)
    ap.add_argument("--core", type=int, default=0, help="core the load generator is pinned to")
    ap.add_argument("--token-ab", action="store_true",
                    help="add Tunewatch with sampling off and metrics.token_usage off")
    ap.add_argument("--calibration-ab", action="store_true",
                    help="add Tunewatch with analysis.drift_calibration: inline")
    ap.add_argument("--profile", type=Path, default=None,
                    help="record the Tunewatch-defaults process with py-spy into this folder")
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.run(run(args))
    except ImportError:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
