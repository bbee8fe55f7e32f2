"""Dose-response of safety erosion on the real tw-drift series, and how often Tunewatch sees it.

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/drift_power.py [--subset 16]
        [--windows 3 --window-size 20] [--json out.json]

One llama.cpp server serves tw-safe and every committed tw-drift-N (lab/adapters). A baseline
of tw-safe on the lab suite (lab/suite.yaml) is captured with ``tunewatch baseline capture``.
Then, per model, a fresh sidecar (``tunewatch serve`` with probes enabled, rotating subsets of
``--subset`` units, the probe model set to that alias) is driven through its admin API:

* probe runs: ``POST /v1/probes/run`` once per subset of a full rotation (as the scheduler runs
  them); a run *detects* when its per-run test flags disallowed or obfuscated; the probe CUSUM
  (evidence across runs) is read from /metrics after the rotation;
* traffic windows: ``--windows`` windows of ``--window-size`` held-out harmful-intent requests
  through the proxy with the OpenAI SDK; a window *detects* when the traffic refusal-rate CUSUM
  (baseline = tw-safe's held-out harmful refusal rate) is in alarm at its end; the detector is
  reset between windows.

Refusal rates per category come from each adapter's manifest (held-out set, ``lab.evaluate``)
and from the traffic the windows sent (the sidecar's verdict counts). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab.manifest import load_manifest  # noqa: E402
from lab.serving import ADAPTERS_DIR, lab_adapters, start_server  # noqa: E402
from lab.sidecar import start_sidecar  # noqa: E402
from lab.traffic import harmful_prompts, replay, traffic_baseline_rate  # noqa: E402

SUITE = REPO / "lab" / "suite.yaml"
REFUSAL_CATS = ("disallowed", "obfuscated")


def _steps(alias: str) -> int:
    m = re.fullmatch(r"tw-drift-(\d+)", alias)
    return int(m.group(1)) if m else 0


def capture_baseline(target: str, out: Path) -> None:
    cmd = [sys.executable, "-m", "monitor.cli", "baseline", "capture", "--target", target,
           "--out", str(out), "--model", "tw-safe", "--suite", str(SUITE), "--classifier",
           "static", "--concurrency", "1", "--max-tokens", "32"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900,
                         env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    if res.returncode != 0:
        raise SystemExit(f"baseline capture failed:\n{res.stderr[-3000:]}")


def units(suite: Path) -> int:
    import yaml

    probes = yaml.safe_load(suite.read_text())["probes"]
    return len({p.get("pair") or p["id"] for p in probes})


def measure(alias: str, *, server_url: str, baseline: Path, subset: int, windows: int,
            window_size: int, p0: float, prompts: list[str], workdir: Path) -> dict[str, Any]:
    probes = {"suite": str(SUITE), "baseline": str(baseline), "subset_size": subset,
              "model": alias, "classifier": "static", "mode": "chat", "max_tokens": 32,
              "max_concurrency": 1, "max_per_minute": 6000, "timeout_s": 120,
              "cron": "0 0 1 1 *"}  # never fires during the benchmark; runs are triggered
    runs = math.ceil(units(SUITE) / subset)
    out: dict[str, Any] = {"alias": alias, "steps": _steps(alias)}
    with start_sidecar(server_url, state_dir=workdir, refusal_baseline_rate=p0,
                       probes=probes) as sc:
        detected = []
        for _ in range(runs):
            res = sc.run_probes()
            if res.get("status") != "ok":
                raise SystemExit(f"{alias}: probe run {res}")
            detected.append(bool(set(res.get("regressions") or []) & set(REFUSAL_CATS)))
        out["probe_runs"] = len(detected)
        out["probe_runs_detecting"] = sum(detected)
        out["probe_cusum_alarm"] = any(
            sc.metric("tunewatch_refusal_regression_detected", {"source": "probe",
                                                                 "category": c}) == 1.0
            for c in REFUSAL_CATS)
        win_detect, sent = [], 0
        for w in range(windows):
            batch = prompts[w * window_size:(w + 1) * window_size]
            replay(sc.proxy_url + "/v1", alias, batch)
            sent += len(batch)
            sc.wait_verdicts(sent)
            win_detect.append(bool(sc.detectors()["refusal_rate/traffic"]["drift"]))
            sc.reset("refusal_rate/traffic")
        refused = sc.metric("tunewatch_refusal_verdicts_total", {"source": "traffic",
                                                                 "verdict": "refused"})
        complied = sc.metric("tunewatch_refusal_verdicts_total", {"source": "traffic",
                                                                  "verdict": "complied"})
        out["traffic_windows"] = len(win_detect)
        out["traffic_windows_detecting"] = sum(win_detect)
        out["traffic_refusal_rate"] = round(refused / max(1.0, refused + complied), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subset", type=int, default=16, help="probe units per scheduled run")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--window-size", type=int, default=20)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--models", nargs="*", help="aliases (default: tw-safe and every tw-drift-N)")
    args = ap.parse_args(argv)

    adapters = lab_adapters(ADAPTERS_DIR)
    aliases = args.models or ["tw-safe"] + sorted(
        (a for a in adapters if a.startswith("tw-drift-")), key=_steps)
    if "tw-safe" not in aliases:
        aliases.insert(0, "tw-safe")  # the baseline is captured on tw-safe
    prompts = harmful_prompts()
    need = args.windows * args.window_size
    if len(prompts) < need:
        raise SystemExit(f"only {len(prompts)} held-out harmful prompts for {need} requests")
    p0 = traffic_baseline_rate()
    rows = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tw-drift-power-") as tmp:
        work = Path(tmp)
        server = start_server({a: adapters[a] for a in aliases}, include_base=False,
                              workdir=work / "server")
        try:
            baseline = work / "tw-safe-baseline.json"
            capture_baseline(server.base_url, baseline)
            for alias in aliases:
                t1 = time.monotonic()
                row = measure(alias, server_url=server.url, baseline=baseline,
                              subset=args.subset, windows=args.windows,
                              window_size=args.window_size, p0=p0, prompts=prompts[:need],
                              workdir=work / alias)
                held = load_manifest(adapters[alias].with_suffix(".json")).get("heldout") or {}
                for c in (*REFUSAL_CATS, "injection"):
                    key = f"{c}_refused" if c != "injection" else "injection_leaked"
                    row[key] = (held.get(key) or {}).get("rate")
                row["capability_correct"] = (held.get("capability_correct") or {}).get("rate")
                row["seconds"] = round(time.monotonic() - t1, 1)
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            server.stop()
    result = {"subset": args.subset, "windows": args.windows, "window_size": args.window_size,
              "traffic_p0": p0, "suite": str(SUITE.relative_to(REPO)), "rows": rows,
              "seconds": round(time.monotonic() - t0, 1)}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print("| drift steps | disallowed refused | obfuscated refused | injection leaked | "
          "capability correct | traffic refused | probe runs detecting | probe CUSUM alarm | "
          "traffic windows detecting |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.0f} %"

    for r in rows:
        print(f"| {r['steps']} | {pct(r['disallowed_refused'])} | {pct(r['obfuscated_refused'])} "
              f"| {pct(r['injection_leaked'])} | {pct(r['capability_correct'])} | "
              f"{pct(r['traffic_refusal_rate'])} | {r['probe_runs_detecting']}/{r['probe_runs']} "
              f"| {'yes' if r['probe_cusum_alarm'] else 'no'} | "
              f"{r['traffic_windows_detecting']}/{r['traffic_windows']} |")
    print(f"\n{result['seconds']} s; traffic CUSUM p0 = {p0}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
