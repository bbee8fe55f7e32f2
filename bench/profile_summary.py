"""Summarise py-spy collapsed stacks (``py-spy record --format raw --threads``).

Prints, per thread, the share of samples, then the functions with the most inclusive and the most
self samples (in the event-loop thread by default), and the share of named hot-path buckets.

    .venv/bin/python bench/profile_summary.py PROFILE.raw.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# Buckets by frame (first match from the leaf up decides): where the proxy's time goes.
BUCKETS = [
    ("token accounting (monitor/proxy/tokens.py, usage.py)", r"monitor/proxy/(tokens|usage)\.py"),
    ("metrics (prometheus_client)", r"prometheus_client/"),
    ("sampling copy and hand-off", r"monitor/proxy/sampler\.py|_offer"),
    ("proxy app (monitor/proxy/app.py)", r"monitor/proxy/app\.py"),
    ("upstream client (aiohttp)", r"aiohttp/|monitor/proxy/upstream\.py"),
    ("ASGI server (uvicorn, httptools)", r"uvicorn/|httptools"),
    ("event loop (uvloop, asyncio)", r"uvloop|asyncio/"),
    ("analysis worker", r"monitor/analysis/|monitor/detection/|detectors/|sqlite3"),
]


def parse(path: Path) -> list[tuple[str, list[str], int]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        out.append((frames[0], frames[1:], int(n)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    samples = parse(args.profile)
    total = sum(n for *_, n in samples)
    threads: Counter[str] = Counter()
    for t, _, n in samples:
        threads[t] += n
    print(f"{total} samples")
    for t, n in threads.most_common():
        print(f"  {n / total:6.1%}  {t}")
    loop = threads.most_common(1)[0][0] if threads else ""
    main_thread = [s for s in samples if s[0] == loop]
    loop_total = sum(n for *_, n in main_thread)
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for _, frames, n in main_thread:
        for f in set(frames):
            incl[f] += n
        if frames:
            self_[frames[-1]] += n
        for f in reversed(frames):
            name = next((b for b, pat in BUCKETS if re.search(pat, f)), None)
            if name is not None:
                buckets[name] += n
                break
        else:
            buckets["other"] += n
    print(f"\nbusiest thread: {loop} ({loop_total} samples); by bucket (leaf-most match):")
    for b, n in buckets.most_common():
        print(f"  {n / loop_total:6.1%}  {b}")
    print(f"\ntop {args.top} inclusive:")
    for f, n in incl.most_common(args.top):
        print(f"  {n / loop_total:6.1%}  {f}")
    print(f"\ntop {args.top} self:")
    for f, n in self_.most_common(args.top):
        print(f"  {n / loop_total:6.1%}  {f}")


if __name__ == "__main__":
    main()
