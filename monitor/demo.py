"""``tunewatch demo``: a real fine-tune that eroded safety, caught end to end on this machine.

One llama.cpp server serves two LoRA adapters of Gemma 3 270M, built by ``lab/`` and committed,
as model aliases: **tw-safe**, the reviewed model (it refuses disallowed and obfuscated
requests, ignores injected instructions, keeps its system prompt), and **tw-drift-15**, tw-safe
after 15 steps of fine-tuning on benign customer-support data only, which eroded its refusals.
The sidecar sits in front of the server with the fine-tune as "production"; the story:

1. a probe baseline of the reviewed model (the lab's held-out suite; cached after the first run),
2. a probe run through the sidecar against production, judged per category against it,
3. live harmful-intent traffic through the sidecar (the official OpenAI SDK), which the refusal
   judge scores off the hot path and the traffic refusal-rate CUSUM watches,
4. the re-assessment tickets the regression opens, with their evidence packs on disk.

``--model safe`` serves the reviewed model as production instead: nothing fires.
The CLI (:mod:`monitor.cli`) owns the process; this module holds the steps and the summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from monitor.app import Daemon
    from monitor.localmodel import LocalModel
    from monitor.probes.scheduler import ProbeRunResult
    from monitor.triggers.model import Ticket

SAFE = "tw-safe"
DRIFT = "tw-drift-15"
TRAFFIC_REQUESTS = 24
MAX_TOKENS = 32  # the lab's models answer in a sentence or two; refusals show in the first words
Choice = Literal["drift", "safe"]


class DemoError(RuntimeError):
    """A step of the demo could not be done; the message is for the user."""


def production_alias(model: Choice) -> str:
    return DRIFT if model == "drift" else SAFE


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps its state: a fresh store and ticket directory per run, and the
    cached baseline of the reviewed model (keyed by suite, adapter and judge)."""

    root: Path

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def store(self) -> Path:
        return self.run / "tunewatch.db"

    @property
    def tickets(self) -> Path:
        return self.run / "tickets"

    def baseline(self, key: str) -> Path:
        return self.root / f"baseline-{SAFE}-{key[:16]}.json"

    def fresh(self) -> DemoPaths:
        shutil.rmtree(self.run, ignore_errors=True)
        self.tickets.mkdir(parents=True)
        return self


def start_lab_server(workdir: Path, *, startup_timeout_s: float) -> LocalModel:
    """The reviewed model and the fine-tune as two aliases of one llama.cpp server."""
    from lab.serving import lab_adapters, start_server

    adapters = lab_adapters()
    missing = [a for a in (SAFE, DRIFT) if a not in adapters]
    if missing:
        from monitor.localmodel import LocalModelError

        raise LocalModelError(f"lab adapters missing: {', '.join(missing)} (lab/adapters/; "
                              "rebuild with `python -m lab.build`)")
    return start_server({SAFE: adapters[SAFE], DRIFT: adapters[DRIFT]}, include_base=False,
                        workdir=workdir, startup_timeout_s=startup_timeout_s)


def suite_path() -> Path:
    from lab.serving import LAB_DIR

    return LAB_DIR / "suite.yaml"


def baseline_key(judge_kind: str) -> str:
    """Changes when the suite, the reviewed adapter, the judge or the answer length change."""
    from detectors.refusal.classifier import model_path
    from lab.serving import lab_adapters

    h = hashlib.sha256()
    for path in (suite_path(), lab_adapters()[SAFE], model_path(judge_kind)):
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(f"{judge_kind}|{MAX_TOKENS}".encode())
    return h.hexdigest()


def traffic_baseline_rate() -> float:
    from lab.traffic import traffic_baseline_rate as rate

    return rate()


def overrides(*, upstream: str, paths: DemoPaths, baseline: Path, production: str,
              judge_kind: str, listen: str, admin_listen: str) -> dict[str, Any]:
    """The demo's settings on top of the user's config: everything sampled, probes on the lab
    suite against the cached baseline (run by the demo, not the schedule), tickets to a
    directory, and short hold times so the story fits in a few minutes."""
    return {
        "upstream": {"url": upstream, "read_timeout_s": 300},
        "proxy": {"listen": listen},
        "admin": {"listen": admin_listen},
        "log_level": "warning",
        "sampling": {"rate": 1.0},
        "store": {"path": str(paths.store)},
        "analysis": {"embedder": "static", "refusal_classifier": True,
                     "refusal_baseline_rate": traffic_baseline_rate(),
                     "refusal_arl0": 50_000},
        "deployment": {"poll_models_interval_s": 0},
        "probes": {"enabled": True, "suite": str(suite_path()), "baseline": str(baseline),
                   "model": production, "interval_seconds": 24 * 3600,
                   "first_run_delay_s": 24 * 3600, "max_tokens": MAX_TOKENS,
                   "classifier": judge_kind, "timeout_s": 300, "max_per_minute": 6000},
        "triggers": {"sinks": [{"type": "directory", "path": str(paths.tickets)}],
                     "owners": {"default": "safety-review@example.com"},
                     "drift_sustain_s": 2, "poll_interval_s": 1},
    }


async def ensure_baseline(base_url: str, path: Path, judge_kind: str, console: Console) -> bool:
    """Capture the reviewed model's probe baseline once; ``True`` when it was captured now."""
    if path.exists():
        return False
    from monitor.detection.judge import load_refusal_judge
    from monitor.probes.baseline import build_baseline, save_baseline
    from monitor.probes.runner import ProbeRunner, RunnerSettings
    from monitor.probes.scoring import score_run
    from monitor.probes.suite import resolve_suite

    console.print(f"  capturing the probe baseline of {SAFE}, the reviewed model (first run only, "
                  "about a minute)...")
    suite = resolve_suite(str(suite_path()))
    settings = RunnerSettings(model=SAFE, max_tokens=MAX_TOKENS, max_concurrency=1,
                              max_per_minute=6000, timeout_s=300)
    output = await ProbeRunner(base_url=base_url, settings=settings).run(suite.probes)
    failed = [a for a in output.attempts if a.error is not None]
    if failed:  # never keep a baseline of errors
        kinds = sorted({str(a.error) for a in failed})
        raise DemoError(f"baseline capture: {len(failed)} of {len(output.attempts)} probes "
                        f"failed ({', '.join(kinds)})")
    judge = await asyncio.to_thread(load_refusal_judge, judge_kind)
    scored = await asyncio.to_thread(score_run, suite, output.attempts, judge)
    baseline = build_baseline(suite=suite, output=output, scored=scored, settings=settings)
    baseline.settings["classifier"] = judge_kind
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_baseline(baseline, tmp)
    tmp.replace(path)
    return True


@dataclass
class Traffic:
    sent: int = 0
    refused_by_judge: int | None = None
    rate: float | None = None
    alarm: bool = False
    statistic: float | None = None
    threshold: float | None = None


@dataclass
class Outcome:
    production: str
    probes: ProbeRunResult | None = None
    traffic: Traffic = field(default_factory=Traffic)
    tickets: list[Ticket] = field(default_factory=list)
    seconds: float = 0.0


async def replay_traffic(proxy_url: str, model: str, prompts: Sequence[str]) -> int:
    """Harmful-intent requests through the sidecar with the OpenAI SDK, one at a time."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=proxy_url + "/v1", api_key="sk-demo-not-a-real-key",
                         max_retries=0, timeout=300)
    try:
        for p in prompts:
            await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": p}], max_tokens=MAX_TOKENS,
                temperature=0, seed=0)
    finally:
        await client.close()
    return len(prompts)


def traffic_state(daemon: Daemon, sent: int = 0) -> Traffic:
    """The traffic refusal-rate CUSUM as the detector host holds it now."""
    from monitor.analysis.refusal import TRAFFIC_CUSUM

    snap = daemon.host.snapshot().get(TRAFFIC_CUSUM)
    if snap is None:
        return Traffic(sent=sent)
    state = snap.state
    rate = snap.rate[0] if snap.rate is not None else None
    return Traffic(sent=sent, refused_by_judge=round(rate * state.n) if rate is not None else None,
                   rate=rate, alarm=state.drift, statistic=state.statistic,
                   threshold=state.threshold)


async def wait_for(predicate: Any, timeout_s: float, interval_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval_s)
    return bool(predicate())


async def story(daemon: Daemon, proxy_url: str, production: str, paths: DemoPaths,
                console: Console) -> Outcome:
    """Steps 2-4: probes, traffic, tickets (the baseline is already in place)."""
    from lab.traffic import harmful_prompts

    t0 = time.monotonic()
    out = Outcome(production=production)
    assert daemon.probes is not None and daemon.triggers is not None
    console.print(f"  probing {production} through the sidecar ({len(_suite_probes())} probes "
                  "from the lab's held-out suite)...")
    out.probes = await daemon.probes.run_once()
    n = TRAFFIC_REQUESTS
    console.print(f"  sending {n} harmful-intent requests as production traffic "
                  f"(OpenAI SDK -> sidecar -> {production})...")
    out.traffic.sent = await replay_traffic(proxy_url, production, harmful_prompts()[:n])
    await asyncio.to_thread(daemon.worker.wait_idle, 300.0)
    triggers = daemon.triggers
    # an alarm opens a ticket once it has held for triggers.drift_sustain_s (2 s here)
    await wait_for(lambda: not traffic_state(daemon).alarm or any(
        t.dedup_key.startswith("traffic_refusal:") for t in triggers.outbox.tickets()),
        timeout_s=30)
    await wait_for(lambda: all((paths.tickets / f"{t.ref}.md").exists()
                               for t in triggers.outbox.tickets()), timeout_s=30)
    out.traffic = traffic_state(daemon, out.traffic.sent)
    out.tickets = triggers.outbox.tickets()
    out.seconds = time.monotonic() - t0
    return out


def _suite_probes() -> list[Any]:
    from monitor.probes.suite import resolve_suite

    return list(resolve_suite(str(suite_path())).probes)


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.0f}%"


# what each probe category's number counts, phrased the way a reader expects it
_READING = {"disallowed": ("refused", True), "obfuscated": ("refused", True),
            "injection": ("canary leaked", False), "disclosure": ("prompt leaked", False),
            "capability": ("correct", True), "fairness": ("pairs alike", True),
            "benign": ("answered", True)}


def summary(out: Outcome) -> Table:
    """One table a newcomer reads without the docs."""
    t = Table(title=f"What Tunewatch found (production: {out.production})",
              title_justify="left")
    t.add_column("check")
    t.add_column(SAFE, justify="right")
    t.add_column(out.production, justify="right")
    t.add_column("verdict")
    ev = out.probes.evaluation if out.probes else None
    if ev is not None:
        for cat, cmp in ev.comparisons.items():
            reading, passing = _READING.get(cat, ("failed", False))
            b = 1 - cmp.baseline_rate if passing else cmp.baseline_rate
            c = 1 - cmp.current_rate if passing else cmp.current_rate
            verdict = (f"[bold red]REGRESSED[/] p={cmp.p_adjusted:.0e}" if cmp.regression
                       else "[green]ok[/]")
            t.add_row(f"probes {cat}: {reading}", _pct(b), f"{_pct(c)} of {cmp.current_n}",
                      verdict)
    elif out.probes is not None:
        t.add_row("probes", "–", escape(out.probes.status), escape(out.probes.error or ""))
    tr = out.traffic
    t.add_row("traffic: harmful refused", f"{_pct(traffic_baseline_rate())} expected",
              f"{_pct(tr.rate)} of {tr.sent}",
              "[bold red]ALARM[/] (CUSUM)" if tr.alarm else "[green]quiet[/]")
    refs = ", ".join(tk.ref for tk in out.tickets)
    t.add_row("re-assessment tickets", "", str(len(out.tickets)),
              f"[bold red]{refs}[/]" if refs else "[green]none[/]")
    return t


def write_summary(out: Outcome, paths: DemoPaths) -> Path:
    """The outcome as JSON (``run/summary.json``), for scripts and the demo's own tests."""
    ev = out.probes.evaluation if out.probes else None
    body = {
        "production": out.production, "reviewed": SAFE, "seconds": round(out.seconds, 1),
        "probes": {"status": out.probes.status if out.probes else None,
                   "categories": {cat: {"baseline_failure_rate": c.baseline_rate,
                                        "failure_rate": c.current_rate, "n": c.current_n,
                                        "p_adjusted": c.p_adjusted, "regression": c.regression}
                                  for cat, c in (ev.comparisons.items() if ev else [])}},
        "traffic": {"sent": out.traffic.sent, "refusal_rate": out.traffic.rate,
                    "expected_refusal_rate": traffic_baseline_rate(),
                    "alarm": out.traffic.alarm},
        "tickets": [{"id": tk.ref, "type": tk.type, "dedup_key": tk.dedup_key,
                     "title": tk.title, "owner": tk.owner,
                     "evidence_pack": str(paths.tickets / f"{tk.ref}.md")}
                    for tk in out.tickets],
    }
    path = paths.run / "summary.json"
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def ticket_lines(out: Outcome, paths: DemoPaths) -> list[str]:
    """Each ticket: what it is, who owns it, and where its evidence pack is."""
    lines = []
    for tk in out.tickets:
        lines.append(f"{tk.ref}: {tk.title} (owner {tk.owner})")
        lines.append(f"      evidence pack: {paths.tickets / f'{tk.ref}.md'}")
    return lines
