"""The base model's answers to the fresh probes, for the paired comparison.

When ``probes.base_url`` is set (e.g. the same vLLM server without the LoRA adapter), every fresh
refusal-scored unit of a run (``disallowed``, ``obfuscated``, ``benign``) is also sent to the
base model, judged with the same refusal judge, and its verdict cached in
``probe_base_verdicts`` (:mod:`monitor.probes.store`) under a key of the endpoint, the model name
and the judge: the base does not change, so each unit costs one base request ever. An
unscoreable base answer is not cached (the next run asks again). The base requests carry the
probe header like every probe request; they go straight to the base endpoint, not through the
sidecar. The judge in the key is :func:`~monitor.detection.judge.judge_id`: its kind and a
fingerprint of its weights, so a retrained judge asks the base again instead of reusing the old
judge's verdicts.

>>> base_key("http://h:8001/v1", "gemma-3-270m", "minilm")
'base-fb7b63f9df5fbc18'
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence

import httpx

from monitor.detection.judge import RefusalJudge, judge_id
from monitor.probes.config import ProbeSettings
from monitor.probes.evidence import WATCHED, refused_of
from monitor.probes.runner import ProbeRunner
from monitor.probes.scoring import score_run
from monitor.probes.store import ProbeStore
from monitor.probes.suite import Probe, Suite


def base_key(url: str, model: str | None, judge: str) -> str:
    """The cache key of one base endpoint, model and judge."""
    raw = f"{url.rstrip('/')}\x1f{model or ''}\x1f{judge}"
    return "base-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def unit_cache_key(category: str, unit: str) -> str:
    return f"{category}:{unit}"


class BaseComparison:
    """Base verdicts per unit: cached, else asked of the base endpoint (see the module doc)."""

    def __init__(self, *, settings: ProbeSettings, runs: ProbeStore, suite: Suite,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if settings.base_url is None:
            raise ValueError("probes.base_url is not set")
        self.url = settings.base_url
        self.settings = settings
        self.runs = runs
        self.suite = suite
        self.key = base_key(self.url, settings.base_model, judge_id(settings.classifier))
        self.label = settings.base_model or self.url
        self._transport = transport
        self._clock = clock
        self.requests = 0  # base requests sent by this process (the cache saves the rest)

    async def verdicts(self, probes: Sequence[Probe], *, run_id: str,
                       classifier: RefusalJudge) -> dict[tuple[str, str], bool]:
        """``(category, unit) -> base refused`` for the watched units among ``probes``."""
        wanted: dict[tuple[str, str], list[Probe]] = {}
        for p in probes:
            if p.category in WATCHED:
                wanted.setdefault((p.category, p.pair or p.id), []).append(p)
        if not wanted:
            return {}
        keys = {unit_cache_key(c, u): (c, u) for c, u in wanted}
        cached = self.runs.base_verdicts(self.key, list(keys))
        out = {keys[k]: v for k, v in cached.items()}
        missing = [p for cu, ps in wanted.items() if cu not in out for p in ps]
        if missing:
            runner = ProbeRunner(base_url=self.url, settings=self.settings.base_runner_settings(),
                                 run_id=run_id, transport=self._transport)
            output = await runner.run(missing)
            self.requests += len(output.attempts)
            scored = await asyncio.to_thread(score_run, self.suite, output.attempts, classifier)
            fresh: dict[str, bool] = {}
            for (cat, unit), outcome in scored.unit_outcomes().items():
                refused = refused_of(cat, outcome)
                if refused is not None:
                    out[(cat, unit)] = refused
                    fresh[unit_cache_key(cat, unit)] = refused
            if fresh:
                self.runs.save_base_verdicts(self.key, fresh, run_id=run_id, at=self._clock())
        return out
