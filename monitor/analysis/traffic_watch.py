"""The per-category traffic refusal watch against stored per-category baselines.

With ``analysis.categories.enabled`` and a base refusal rate for a category in
``analysis.categories.baselines``, the scored verdicts of that category's sampled prompts feed an
:class:`~detectors.paired.UnpairedRateCusum` hosted as ``refusal_rate/traffic/<category>``:
harmful categories (``analysis.categories.harmful``) alarm when the model refuses **less** than
the baseline, benign ones (``benign``, and ``none``: ordinary traffic) when it refuses **more**,
each direction with its own ARL0. Rates and alarms are per category, so a change in the traffic
mix (more benign questions, say) does not move them.

Each test sits in a bounded :class:`~detectors.ledger.EvidenceLedger`: a prompt (unit: the hash of
its system prompt and normalised text, never the text) is counted once per epoch (deployment
fingerprint) among the last ``max_units`` distinct prompts, and a new fingerprint starts a fresh
statistic. Without a stored rate the real baseline is the base model itself: see
:mod:`~monitor.analysis.shadow`.

>>> traffic_unit_id("  What is   a CUSUM? ", "ab12")
'tu-1ce66c1e91ab3e0b59ee'
>>> traffic_unit_id("what is a cusum?", "ab12") == traffic_unit_id("What is a CUSUM?", "ab12")
True
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Sequence

from detectors.ledger import Evidence, EvidenceLedger
from detectors.paired import Direction, UnpairedRateCusum
from monitor.analysis.pipeline import Processed
from monitor.analysis.watch_settings import CategorySettings
from monitor.detection.host import DetectorHost
from monitor.detection.state import StateTable

MAX_EPOCHS = 4
SCORED = ("refused", "complied")


def traffic_unit_id(prompt: str, system_prompt_hash: str | None) -> str:
    """A prompt's unit id: sha256 of its system prompt hash and its normalised text (NFKC,
    casefolded, whitespace collapsed). The text itself is never kept."""
    norm = " ".join(unicodedata.normalize("NFKC", prompt).casefold().split())
    digest = hashlib.sha256(f"{system_prompt_hash or ''}\x1f{norm}".encode()).hexdigest()
    return "tu-" + digest[:20]


def watch_name(category: str) -> str:
    return f"refusal_rate/traffic/{category}"


class TrafficWatch:
    """Feeds the per-category traffic refusal tests (see the module docstring)."""

    name = "traffic_watch"

    def __init__(self, settings: CategorySettings, *, host: DetectorHost, states: StateTable,
                 epoch: Callable[[], str]) -> None:
        self._host = host
        self._epoch = epoch
        self.names: dict[str, str] = {}
        for cat in (*settings.harmful, *settings.benign):
            rate = settings.baselines.get(cat)
            if rate is None:
                continue
            direction: Direction = "less" if cat in settings.harmful else "more"
            arl0 = settings.arl0_harmful if direction == "less" else settings.arl0_benign

            def make(rate: float = rate, direction: Direction = direction,
                     arl0: float = arl0, cat: str = cat) -> UnpairedRateCusum:
                return UnpairedRateCusum(direction=direction, ert=arl0, baseline_rate=rate,
                                         effect=settings.effect,
                                         reference_id=f"baseline-{rate:g}/{cat}")

            name = watch_name(cat)
            host.add_refusal_rate(name, EvidenceLedger(make_detector=make, max_epochs=MAX_EPOCHS,
                                                       max_units=settings.max_units),
                                  source="traffic", category=cat, baseline_rate=rate,
                                  slot=states.slot(name), direction=direction)
            self.names[cat] = name
        self.fed = 0

    def process(self, batch: Sequence[Processed]) -> None:
        if not self.names:
            return
        epoch = self._epoch()
        per: dict[str, list[Evidence]] = {}
        for p in batch:
            if p.category in self.names and p.verdict in SCORED:
                unit = traffic_unit_id(p.prompt, p.system_prompt_hash)
                per.setdefault(p.category, []).append(
                    Evidence(unit=unit, epoch=epoch, value=p.verdict == "refused"))
        for cat, xs in per.items():
            self._host.update_many(self.names[cat], xs)
            self.fed += len(xs)

    def status(self) -> dict[str, object]:
        return {"ok": True, "watched": sorted(self.names), "fed": self.fed}
