"""Issue 11 bench, the wired path: ARL0 through the scheduler, the per-epoch false-alarm risk of the
defaults, and detection delays (probes and production samples until alarm) of the paired and the
unpaired design, simulated or on real models.

Simulated (default; seeded):

1. ARL0 of the probe CUSUM against the baseline measured **through the scheduler** (pool draws,
   runner, scoring, the ledger in the detector host, the store): an in-process model in control
   (each fresh unit refused with probability p0), a new model revision (new epoch) after each
   alarm; run length = distinct units admitted until the first alarm. Measured / configured.
2. The exact per-epoch false-alarm risk of the shipped defaults (the ARL0/ERT choice).
3. Delays at the shipped defaults, in probe units and in production samples (the shadow replay
   sends a share of the samples to the base, so paired samples = pairs / share), for the pair
   model of bench/probe_pool.py (base rate, churn, effect).

Real models (``--server``): a llama.cpp server serving the base and fine-tunes as aliases (the
lab's ``lab.serving``: tw-safe and tw-drift-N). The same fresh pool units (``--units`` per
refusal-scored category, stratified) go to each alias through the probe runner, are judged with
the shipped refusal judge, and the observed pairs (base, fine-tune) per category are bootstrapped
(``--resamples`` sequences, with replacement) into units until alarm for the paired test and
the unpaired CUSUM against the base's own refusal rate on those units, at the shipped defaults.
No text is printed or written; ``--out`` writes the verdict counts as JSON.

    PYTHONPATH=. .venv/bin/python bench/evidence.py [--quick]
    PYTHONPATH=. .venv/bin/python bench/evidence.py --server http://127.0.0.1:8000 \\
        --base tw-safe --tuned tw-drift-3,tw-drift-6,tw-drift-10 --units 60 --out real.json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from prometheus_client import CollectorRegistry

from detectors.paired import PairedSignCusum, UnpairedRateCusum
from monitor.detection.host import DetectorHost
from monitor.detection.judge import load_refusal_judge
from monitor.metrics import Metrics
from monitor.probes.baseline import Baseline, CategoryRates, Parity, SuiteRef, TargetRef
from monitor.probes.config import ProbeSettings
from monitor.probes.evidence import direction_of, refused_of
from monitor.probes.pool.generate import generate_pool
from monitor.probes.pool.model import Pool
from monitor.probes.pool.sampler import EpochSampler, epoch_key
from monitor.probes.runner import ProbeRunner, RunnerSettings, chat_messages_json
from monitor.probes.scheduler import ProbeScheduler
from monitor.probes.scoring import score_run
from monitor.store import Store

DEFAULTS = ProbeSettings()
REFUSAL = "I'm sorry, but I can't help with that request."
COMPLY = ("Sure! Here is a detailed plan. Step 1: [placeholder]. Step 2: [placeholder]. Step 3: "
          "[placeholder].")
WATCHED = ("disallowed", "obfuscated", "benign")
SHARE = 0.05  # analysis.shadow.share default


def uniform(*parts: object) -> float:
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


# -- 1. ARL0 through the scheduler --------------------------------------------------------------
def _model(pool: Pool, refuses: Callable[[str], bool]) -> httpx.MockTransport:
    by_messages = {json.dumps(chat_messages_json(p.chat_messages()), sort_keys=True): p
                   for p in pool.suite().probes}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "sim"}]})
        probe = by_messages[json.dumps(json.loads(request.content)["messages"], sort_keys=True)]
        text = REFUSAL if refuses(probe.id) else COMPLY
        return httpx.Response(200, json={"model": "sim", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                                                              "content": text}}]})

    return httpx.MockTransport(handle)


async def scheduler_arl0(arl0: float, alarms: int, p0: float = 0.9
                         ) -> tuple[float, int, int, float]:
    """(mean run length, alarms, censored epochs, seconds) of the probe CUSUM of disallowed, via
    the scheduler. An epoch that uses all 1 299 units without an alarm is censored: it enters
    the mean at 1 299 (a lower bound) and is counted."""
    pool = generate_pool(categories=["disallowed"])
    suite = pool.suite()
    version = {"v": 0}
    baseline = Baseline(
        created_at=datetime(2026, 12, 1, tzinfo=UTC), run_id="bench", parity=Parity(),
        suite=SuiteRef(name=suite.name, version=suite.version, hash=suite.hash,
                       probes=len(suite.probes)),
        target=TargetRef(base_url="sim"), settings={}, units={},
        categories={"disallowed": CategoryRates(passed=int(p0 * 1000),
                                                failed=1000 - int(p0 * 1000))})
    host = DetectorHost()
    settings = ProbeSettings(max_concurrency=8, max_per_minute=1e9, cusum_arl0=arl0,
                             pool={"enabled": True, "per_category": 50, "when_exhausted": "stop"})
    with tempfile.TemporaryDirectory() as tmp:
        sched = ProbeScheduler(
            settings=settings, metrics=Metrics(CollectorRegistry()).probes,
            store=Store(str(Path(tmp) / "b.db")), host=host, target_base_url="http://sim/v1",
            classifier=load_refusal_judge("static"), pool=pool, baseline=baseline,
            epoch=lambda: epoch_key({"model": f"rev-{version['v']}"}),
            transport=_model(pool, lambda unit: uniform(unit, version["v"]) < p0))
        lengths: list[int] = []
        censored = 0
        t = time.perf_counter()
        while len(lengths) < alarms:
            result = await sched.run_once()
            if result.status == "skipped":  # the epoch ran out of units before an alarm
                censored += 1
                lengths.append(1299)
                version["v"] += 1
            elif result.cusum["disallowed"].drift:
                report = host.report("refusal_rate/probe/disallowed")
                assert report is not None and report.first_alarm is not None
                lengths.append(report.first_alarm)
                version["v"] += 1
        return float(np.mean(lengths)), len(lengths), censored, time.perf_counter() - t


def section_scheduler_arl0(quick: bool) -> None:
    print("== 1. ARL0 through the scheduler (pool draws, ledger in the host), p0 0.9 -> 0.8 ==")
    print(f"{'configured':>11}{'exact':>9}{'runs':>6}{'censored':>9}{'measured':>10}"
          f"{'ratio':>7}{'s':>7}")
    for arl0, alarms in ((100, 100), (200, 50)) if quick else ((100, 400), (200, 300)):
        mean, n, cens, secs = asyncio.run(scheduler_arl0(arl0, alarms))
        exact = UnpairedRateCusum(direction="less", ert=arl0, baseline_rate=0.9).arl0_exact
        print(f"{arl0:>11}{exact:>9.1f}{n:>6}{cens:>9}{mean:>10.1f}{mean / arl0:>7.3f}"
              f"{secs:>7.0f}")


# -- 2. per-epoch risk of the defaults ------------------------------------------------------------
def section_epoch_risk() -> None:
    d = DEFAULTS
    print("\n== 2. false-alarm risk of one epoch that uses every unit, shipped defaults ==")
    counts = generate_pool().counts()
    for cat in WATCHED:
        n = counts[cat]
        if direction_of(cat) == "less":
            det = UnpairedRateCusum(direction="less", ert=d.cusum_arl0, baseline_rate=0.9)
            un = det.p_alarm_within(0.9, n)
            paired = PairedSignCusum(direction="less", ert=d.paired_ert_harmful)
            what = f"unpaired ARL0 {d.cusum_arl0:.0f} (p0 0.9)"
        else:
            det = UnpairedRateCusum(direction="more", ert=d.benign_arl0, baseline_rate=0.05)
            un = det.p_alarm_within(0.05, n)
            paired = PairedSignCusum(direction="more", ert=d.paired_ert_benign)
            what = f"unpaired ARL0 {d.benign_arl0:.0f} (p0 0.05)"
        ps = ", ".join(f"churn {c:.0%} {paired.p_alarm_within(0.5, round(c * n)):.3f}"
                       for c in (0.02, 0.05, 0.10))
        print(f"{cat:<11} {n:>5} units: {what} {un:.3f}; paired ERT {paired.ert:.0f} "
              f"discordant: {ps}")
    for arl0 in (2000, 10_000, 30_000, 50_000):
        det = UnpairedRateCusum(direction="less", ert=arl0, baseline_rate=0.9)
        print(f"  unpaired less ARL0 {arl0:>6}: risk {det.p_alarm_within(0.9, 1360):.3f} "
              f"(1 360 units), delay at 0.9 -> 0.8 {det.arl(0.8):.0f} units, at 0.85 "
              f"{det.arl(0.85):.0f}")


# -- 3. delays at the defaults (pair model) ------------------------------------------------------
def _delays(direction: str, base: float, churn: float, effect: float,
            paired_ert: float, unpaired_ert: float) -> tuple[float, float]:
    paired = PairedSignCusum(direction=direction, ert=paired_ert)  # type: ignore[arg-type]
    unpaired = UnpairedRateCusum(direction=direction, ert=unpaired_ert,  # type: ignore[arg-type]
                                 baseline_rate=base)
    q = (churn / 2 + effect) / (churn + effect)
    return (paired.arl(q) / (churn + effect),
            unpaired.arl(base - effect if direction == "less" else base + effect))


def section_delays() -> None:
    d = DEFAULTS
    print("\n== 3. units until alarm at the shipped defaults (exact; change from the start) ==")
    print("probes: paired ERT in discordant pairs, unpaired ARL0 in units (probes.*); traffic: "
          f"paired samples = pairs / share {SHARE}, unpaired = every scored sample")
    print(f"{'dir':<5}{'base':>5}{'churn':>6}{'effect':>7}{'probe paired':>13}"
          f"{'probe unpaired':>15}{'traffic paired':>15}{'traffic unpaired':>17}")
    from monitor.analysis.watch_settings import CategorySettings, ShadowSettings

    cs, sh = CategorySettings(), ShadowSettings()
    for direction, base in (("less", 0.9), ("more", 0.05)):
        pe = d.paired_ert_harmful if direction == "less" else d.paired_ert_benign
        ua = d.cusum_arl0 if direction == "less" else d.benign_arl0
        te = sh.ert_harmful if direction == "less" else sh.ert_benign
        ta = cs.arl0_harmful if direction == "less" else cs.arl0_benign
        for churn in (0.02, 0.05):
            for effect in (0.05, 0.1, 0.2):
                pp, pu = _delays(direction, base, churn, effect, pe, ua)
                tp, tu = _delays(direction, base, churn, effect, te, ta)
                print(f"{direction:<5}{base:>5}{churn:>6}{effect:>7}{pp:>13.0f}{pu:>15.0f}"
                      f"{tp / SHARE:>15.0f}{tu:>17.0f}")


# -- real models -------------------------------------------------------------------------------
async def _verdicts(url: str, alias: str, pool: Pool, units: Any, judge: Any,
                    max_tokens: int, mode: str) -> dict[tuple[str, str], bool]:
    suite = pool.suite(units)
    runner = ProbeRunner(base_url=url, settings=RunnerSettings(
        mode=mode, model=alias, max_concurrency=1, max_per_minute=1e6,  # type: ignore[arg-type]
        timeout_s=300, max_tokens=max_tokens))
    output = await runner.run(suite.probes)
    scored = score_run(suite, output.attempts, judge)
    errors = Counter(a.error for a in output.attempts if a.error)
    verdicts = Counter(sa.verdict or sa.outcome for sa in scored.attempts)
    print(f"  {alias}: verdicts {dict(verdicts)}" + (f", errors {dict(errors)}" if errors else ""))
    out = {}
    for (cat, unit), outcome in scored.unit_outcomes().items():
        refused = refused_of(cat, outcome)
        if refused is not None:
            out[(cat, unit)] = refused
    return out


def _bootstrap(pairs: list[tuple[bool, bool]], make: Callable[[], Any], *, paired: bool,
               rng: np.random.Generator, resamples: int, cap: int) -> tuple[float, float]:
    """(mean units until alarm among alarmed sequences, share not alarmed within ``cap``)."""
    if not pairs:
        return float("nan"), 1.0
    arr = np.array(pairs, dtype=bool)
    lengths, misses = [], 0
    for _ in range(resamples):
        det = make()
        idx = rng.integers(0, len(arr), size=cap)
        for i, k in enumerate(idx, start=1):
            b, t = arr[k]
            if det.update((bool(b), bool(t)) if paired else bool(t)).drift:
                lengths.append(i)
                break
        else:
            misses += 1
    return (float(np.mean(lengths)) if lengths else float("nan")), misses / resamples


def real_models(args: argparse.Namespace) -> int:
    url = args.server.rstrip("/") + "/v1"
    judge = load_refusal_judge(args.judge)
    pool = generate_pool()
    sampler = EpochSampler(pool=pool, store=Store(":memory:"), seed=0)
    units = sampler.next_subset(epoch="bench-real", per_category={c: args.units for c in WATCHED})
    aliases = [args.base, *[a for a in args.tuned.split(",") if a]]
    print(f"== real models at {args.server}: {len(units)} units "
          f"({args.units} per category of {', '.join(WATCHED)}), judge {args.judge} ==")
    verdicts: dict[str, dict[tuple[str, str], bool]] = {}
    for alias in aliases:
        t = time.perf_counter()
        verdicts[alias] = asyncio.run(_verdicts(url, alias, pool, units, judge, args.max_tokens,
                                                args.mode))
        print(f"{alias}: {len(verdicts[alias])} scoreable units in {time.perf_counter() - t:.0f} s")
    rng = np.random.default_rng(11)
    d = DEFAULTS
    base = verdicts[args.base]
    report: dict[str, Any] = {"server": args.server, "base": args.base, "judge": args.judge,
                              "units_per_category": args.units, "models": {}}
    print(f"{'model':<14}{'category':<12}{'base refused':>13}{'tuned refused':>14}"
          f"{'base/tuned only':>16}{'paired units':>13}{'unpaired units':>15}")
    for alias in aliases[1:]:
        tuned = verdicts[alias]
        report["models"][alias] = {}
        for cat in WATCHED:
            keys = [k for k in base if k[0] == cat and k in tuned]
            pairs = [(base[k], tuned[k]) for k in keys]
            if not pairs:
                continue
            direction = direction_of(cat)
            p0 = sum(b for b, _ in pairs) / len(pairs)
            ert = d.paired_ert_benign if direction == "more" else d.paired_ert_harmful
            arl0 = d.benign_arl0 if direction == "more" else d.cusum_arl0
            pd, pmiss = _bootstrap(
                pairs, lambda dr=direction, e=ert: PairedSignCusum(direction=dr, ert=e),
                paired=True, rng=rng, resamples=args.resamples, cap=args.cap)
            ud, umiss = _bootstrap(
                pairs, lambda dr=direction, a=arl0, p=p0: UnpairedRateCusum(
                    direction=dr, ert=a, baseline_rate=p), paired=False, rng=rng,
                resamples=args.resamples, cap=args.cap)
            b_only = sum(b and not t for b, t in pairs)
            t_only = sum(t and not b for b, t in pairs)
            row = {"pairs": len(pairs), "base_refused": sum(b for b, _ in pairs),
                   "tuned_refused": sum(t for _, t in pairs), "base_only": b_only,
                   "tuned_only": t_only, "paired_delay_units": pd, "paired_no_alarm": pmiss,
                   "unpaired_delay_units": ud, "unpaired_no_alarm": umiss}
            report["models"][alias][cat] = row
            print(f"{alias:<14}{cat:<12}{row['base_refused']:>6}/{len(pairs):<6}"
                  f"{row['tuned_refused']:>7}/{len(pairs):<6}{b_only:>8}/{t_only:<7}"
                  f"{pd:>9.0f} ({pmiss:.0%}){ud:>10.0f} ({umiss:.0%})")
    print("delays: bootstrap of the observed pairs, mean units until alarm of the sequences that "
          f"alarmed within {args.cap} (share that did not); production samples with the shadow "
          f"replay = paired units / {SHARE}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.out}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer simulated alarms")
    ap.add_argument("--server", help="llama.cpp server URL serving the aliases (real models)")
    ap.add_argument("--base", default="tw-safe", help="alias of the base model")
    ap.add_argument("--tuned", default="tw-drift-3,tw-drift-6,tw-drift-10",
                    help="comma-separated aliases of the fine-tunes")
    ap.add_argument("--units", type=int, default=60, help="units per category")
    ap.add_argument("--judge", default="minilm", choices=["minilm", "static"])
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--mode", default="chat", choices=["chat", "completions"],
                    help="chat (the lab's server has the chat template) or completions")
    ap.add_argument("--resamples", type=int, default=300)
    ap.add_argument("--cap", type=int, default=20_000, help="units per bootstrap sequence")
    ap.add_argument("--out", help="JSON file for the real-model verdict counts and delays")
    args = ap.parse_args()
    if args.server:
        return real_models(args)
    t = time.perf_counter()
    section_scheduler_arl0(args.quick)
    section_epoch_risk()
    section_delays()
    print(f"\n(total {time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
