"""Sidecar overhead, measured side by side in one run (this machine is noisy: compare ratios).

Starts a fast local upstream (bench/fast_upstream.py) and two sidecars in front of it (upstream
client aiohttp and httpx), then sends the same load direct and through each sidecar, interleaved
in short rounds so that noise hits all targets alike:
  * concurrency 1, non-streaming and streaming (time to first chunk);
  * a fixed open-loop rate (default 200 rps), non-streaming and streaming;
  * closed-loop throughput at concurrency 32, against an upstream with zero service time (the
    sidecar's own CPU ceiling) and with 50 ms of simulated model time per request.
Prints added p50/p99 latency, added time to first chunk and throughput ratios.

    .venv/bin/python bench/proxy_overhead.py [--quick] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = b'{"model": "bench", "messages": [{"role": "user", "content": "Say something."}]}'
STREAM_PAYLOAD = PAYLOAD[:-1] + b', "stream": true}'


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def start_processes(tmp: Path) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    up = free_port()
    procs.append(subprocess.Popen([sys.executable, str(ROOT / "bench/fast_upstream.py"), str(up)]))
    upstream = f"http://127.0.0.1:{up}"
    wait_up(upstream + "/")
    targets = {"direct": upstream}
    for client in ("aiohttp", "httpx"):
        port, admin = free_port(), free_port()
        env = dict(os.environ, TUNEWATCH_UPSTREAM__CLIENT=client, TUNEWATCH_LOG_LEVEL="warning",
                   TUNEWATCH_STORE__PATH=str(tmp / f"{client}.db"),
                   TUNEWATCH_SAMPLING__RATE="1.0", TUNEWATCH_ANALYSIS__EMBEDDER="none",
                   TUNEWATCH_ANALYSIS__REFUSAL_CLASSIFIER="false",
                   TUNEWATCH_DEPLOYMENT__POLL_MODELS_INTERVAL_S="0")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "serve", "--upstream", upstream,
             "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_up(f"http://127.0.0.1:{admin}/healthz")
        targets[f"sidecar-{client}"] = f"http://127.0.0.1:{port}"
    return targets, procs


async def one(session: aiohttp.ClientSession, base: str, stream: bool,
              delay_ms: int = 0) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = None
    headers = {"content-type": "application/json"}
    if delay_ms:
        headers["x-bench-delay-ms"] = str(delay_ms)
    async with session.post(base + "/v1/chat/completions",
                            data=STREAM_PAYLOAD if stream else PAYLOAD,
                            headers=headers) as r:
        async for _ in r.content.iter_any():
            if first is None:
                first = time.perf_counter() - t0
        assert r.status == 200, r.status
    total = time.perf_counter() - t0
    return total, first if first is not None else total


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def sequential(session, targets, n: int, stream: bool) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {k: [] for k in targets}
    for base in targets.values():  # warm-up
        for _ in range(20):
            await one(session, base, stream)
    for _ in range(n):
        for name, base in targets.items():
            out[name].append(await one(session, base, stream))
    return out


async def fixed_rate(session, base: str, rate: float, seconds: float, stream: bool):
    lat: list[tuple[float, float]] = []
    lag: list[float] = []
    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)

    async def fire(at: float) -> None:
        now = time.perf_counter()
        lag.append(now - at)
        lat.append(await one(session, base, stream))

    for i in range(n):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(at)))
    await asyncio.gather(*tasks)
    return lat, lag


async def throughput(session, base: str, seconds: float, concurrency: int,
                     delay_ms: int = 0) -> float:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await one(session, base, False, delay_ms)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0)


def report_latency(title: str, res: dict[str, list[tuple[float, float]]], ttfb: bool) -> None:
    print(f"\n## {title}")
    print(f"{'target':<16}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'added p50':>12}{'added p99':>12}"
          + (f"{'ttfc p50':>10}{'added':>8}" if ttfb else ""))
    d = res["direct"]
    d50, d99 = pct([x[0] for x in d], .5), pct([x[0] for x in d], .99)
    f50 = pct([x[1] for x in d], .5)
    for name, xs in res.items():
        p50, p99 = pct([x[0] for x in xs], .5), pct([x[0] for x in xs], .99)
        line = (f"{name:<16}{len(xs):>6}{p50 * 1e3:>10.3f}{p99 * 1e3:>10.3f}"
                f"{(p50 - d50) * 1e3:>+12.3f}{(p99 - d99) * 1e3:>+12.3f}")
        if ttfb:
            t50 = pct([x[1] for x in xs], .5)
            line += f"{t50 * 1e3:>10.3f}{(t50 - f50) * 1e3:>+8.3f}"
        print(line)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        targets, procs = start_processes(Path(tmp))
        try:
            conn = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=conn, auto_decompress=False) as session:
                n = 100 if args.quick else 400
                print(f"# proxy overhead benchmark  (cores={os.cpu_count()}, "
                      f"sampling rate 1.0, analysis worker on, embedder off)")
                res = await sequential(session, targets, n, stream=False)
                report_latency(f"concurrency 1, non-streaming ({n} requests per target)", res, False)
                res = await sequential(session, targets, n, stream=True)
                report_latency(f"concurrency 1, streaming SSE ({n} per target)", res, True)

                rounds = 2 if args.quick else 4
                secs = 2.0
                for stream in (False, True):
                    agg: dict[str, list[tuple[float, float]]] = {k: [] for k in targets}
                    lags: dict[str, list[float]] = {k: [] for k in targets}
                    for _ in range(rounds):
                        for name, base in targets.items():
                            lat, lag = await fixed_rate(session, base, args.rate, secs, stream)
                            agg[name] += lat
                            lags[name] += lag
                    kind = "streaming" if stream else "non-streaming"
                    report_latency(f"fixed rate {args.rate:g} rps, {kind} "
                                   f"({rounds} interleaved rounds of {secs:g}s)", agg, stream)
                    worst = max(pct(v, .99) for v in lags.values())
                    print(f"(load generator p99 scheduling lag: {worst * 1e3:.2f} ms)")

                for delay_ms in (0, 50):
                    what = ("zero service time: measures the sidecar's own CPU ceiling"
                            if delay_ms == 0 else
                            f"{delay_ms} ms simulated model service time per request")
                    print(f"\n## throughput, closed loop, concurrency 32, upstream with {what}")
                    tp: dict[str, list[float]] = {k: [] for k in targets}
                    for _ in range(rounds):
                        for name, base in targets.items():
                            tp[name].append(await throughput(session, base, 2.0, 32, delay_ms))
                    direct = statistics.median(tp["direct"])
                    for name, xs in tp.items():
                        m = statistics.median(xs)
                        print(f"{name:<16}{m:>10.0f} req/s   ratio {m / direct:.3f}x direct")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=float, default=200.0)
    a = ap.parse_args()
    try:
        import uvloop

        uvloop.run(main(a))
    except ImportError:
        asyncio.run(main(a))
