"""CPU cost of the token and per-token latency accounting per response, in-process.

Runs monitor/proxy/tokens.py (observer start, the byte scan of every chunk, the observations at
the end) on the bodies of bench/fast_upstream.py (a 500-byte JSON completion with usage, an
8-chunk SSE stream without usage) and on larger ones (a 64-chunk stream with include_usage, a
200 KiB JSON body), beside the same loop without accounting, and prints µs per response. The
proxy's own relay is not in the loop; bench/proxy_overhead.py --token-ab measures the whole path.

    .venv/bin/python bench/token_accounting.py [--n 50] [--repeat 400]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fast_upstream import BODY, SSE
from monitor.metrics import Metrics
from monitor.proxy.catalog import ModelLabels
from monitor.proxy.tokens import TokenAccounting

REQUEST = b'{"model": "bench", "messages": [{"role": "user", "content": "Say something."}]}'


def _stream(n: int, usage: bool) -> list[bytes]:
    chunks = [b"data: " + json.dumps({"id": "c", "model": "bench", "choices": [
        {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}]}).encode()
        + b"\n\n" for i in range(n)]
    if usage:
        chunks.append(b"data: " + json.dumps({"id": "c", "model": "bench", "choices": [],
                                               "usage": {"prompt_tokens": 10,
                                                         "completion_tokens": n}}).encode()
                      + b"\n\n")
    return [*chunks, b"data: [DONE]\n\n"]


def _big_json() -> list[bytes]:
    body = json.dumps({"model": "bench", "choices": [{"message": {"content": "x" * 200_000}}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 50_000}}).encode()
    return [body[i:i + 65536] for i in range(0, len(body), 65536)]


CASES = {
    "JSON completion, 1 chunk (fast_upstream)": ([BODY], False),
    "SSE, 8 chunks, no usage (fast_upstream)": (list(SSE), True),
    "SSE, 64 chunks + usage chunk": (_stream(64, True), True),
    "JSON 200 KiB, 64 KiB chunks": (_big_json(), False),
}


def _best(block: Callable[[], None], n: int, repeat: int) -> float:
    """µs per call of ``block``: the fastest of ``repeat`` blocks of ``n`` calls (the machine is
    shared; the minimum is the least disturbed estimate)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            block()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def run(n: int, repeat: int) -> None:
    acc = TokenAccounting(metrics=Metrics(CollectorRegistry()).tokens,
                          labels=ModelLabels(limit=20))
    print("| body | µs per response, loop only | with accounting | added µs |\n|---|---|---|---|")
    for name, (chunks, streaming) in CASES.items():
        sink: list[int] = []

        def plain(chunks: list[bytes] = chunks, sink: list[int] = sink) -> None:
            for c in chunks:
                sink.append(len(c))
            sink.clear()

        def accounted(chunks: list[bytes] = chunks, streaming: bool = streaming,
                      sink: list[int] = sink) -> None:
            obs = acc.observe("/v1/chat/completions", "POST", REQUEST, streaming)
            assert obs is not None
            for c in chunks:
                sink.append(len(c))
                obs.feed(c)
            sink.clear()
            acc.finish(obs, error_type="", duration=0.01, t0=0.0)

        base, full = _best(plain, n, repeat), _best(accounted, n, repeat)
        print(f"| {name} | {base:.2f} | {full:.2f} | {full - base:+.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="responses per timed block")
    ap.add_argument("--repeat", type=int, default=400, help="timed blocks; the fastest counts")
    args = ap.parse_args()
    run(args.n, args.repeat)


if __name__ == "__main__":
    main()
