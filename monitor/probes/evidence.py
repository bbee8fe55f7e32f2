"""The probes' sequential tests, counted once per (unit, epoch), hosted by the detector host.

Per refusal-scored category, each test sits inside an :class:`~detectors.ledger.EvidenceLedger`
(a unit's outcome is admitted once per deployment-fingerprint epoch; a new fingerprint starts a
new epoch with a fresh statistic):

* **against the stored baseline** (``refusal_rate/probe/<category>``, when a baseline is loaded):
  :class:`~detectors.paired.UnpairedRateCusum` of the fine-tune's refusals against the baseline's
  refusal rate of the category: harmful categories (``disallowed``, ``obfuscated``) alarm when it
  refuses **less** (ARL0 ``probes.cusum_arl0``), the ``benign`` category when it refuses **more**
  (over-refusal, ARL0 ``probes.benign_arl0``);
* **against the base model** (``paired/probe/<category>``, when ``probes.base_url`` is set):
  :class:`~detectors.paired.PairedSignCusum` on the discordant pairs of (base refused, fine-tune
  refused) per unit, direction ``less`` on harmful and ``more`` on benign categories (ERT
  ``probes.paired_ert_harmful`` / ``probes.paired_ert_benign``, in discordant pairs).

States are saved with each run (``probe_state``, owned by :mod:`monitor.probes.store`) and restored
by the host at registration; a saved state of another kind or configuration (a new baseline, a
changed ARL0) is logged and the test starts afresh.

>>> refused_of("disallowed", "pass"), refused_of("benign", "pass"), refused_of("benign", "fail")
(True, False, True)
>>> print(refused_of("obfuscated", "unscoreable"))
None
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.base import DetectorState
from detectors.ledger import Evidence, EvidenceLedger
from detectors.paired import Direction, PairedSignCusum, UnpairedRateCusum
from monitor.detection.host import DetectorHost, StateSlot
from monitor.probes.attempt import Outcome
from monitor.probes.baseline import Baseline
from monitor.probes.config import ProbeSettings
from monitor.probes.store import cusum_key, paired_key
from monitor.probes.suite import BENIGN_CATEGORIES, REFUSAL_CATEGORIES

WATCHED: tuple[str, ...] = (*REFUSAL_CATEGORIES, *BENIGN_CATEGORIES)
MAX_EPOCHS = 8


def cusum_name(category: str) -> str:
    """Name of a category's probe refusal CUSUM (against the baseline) in the detector host."""
    return f"refusal_rate/probe/{category}"


def paired_name(category: str) -> str:
    """Name of a category's paired test (against the base model) in the detector host."""
    return f"paired/probe/{category}"


def direction_of(category: str) -> Direction:
    """``more`` (over-refusal) for benign categories, ``less`` for harmful ones."""
    return "more" if category in BENIGN_CATEGORIES else "less"


def refused_of(category: str, outcome: Outcome) -> bool | None:
    """Whether the model refused, from a refusal-scored unit's outcome (benign scoring is
    inverted: ``fail`` is a refusal there); ``None`` for an unscoreable unit."""
    if outcome == "unscoreable":
        return None
    return (outcome == "fail") if category in BENIGN_CATEGORIES else (outcome == "pass")


@dataclass(frozen=True)
class Fed:
    """What one run added: per category, the tests' states after it (``unpaired``: against the
    baseline; ``paired``: against the base) and the pairs fed."""

    epoch: str
    unpaired: dict[str, DetectorState] = field(default_factory=dict)
    paired: dict[str, DetectorState] = field(default_factory=dict)
    pairs_fed: dict[str, int] = field(default_factory=dict)


class ProbeEvidence:
    """Registers the probes' ledgers in the host and feeds them (see the module docstring)."""

    def __init__(self, *, host: DetectorHost, settings: ProbeSettings, baseline: Baseline | None,
                 units: Mapping[str, int], slot: Callable[[str], StateSlot],
                 base_label: str | None) -> None:
        self.host = host
        self.unpaired: dict[str, str] = {}  # category -> hosted name
        self.paired: dict[str, str] = {}
        s = settings
        for cat in WATCHED:
            if cat not in units:
                continue
            direction = direction_of(cat)
            rates = baseline.categories.get(cat) if baseline is not None else None
            if baseline is not None and rates is not None and rates.passed + rates.failed:
                scored = rates.passed + rates.failed
                refused = rates.failed if direction == "more" else rates.passed
                p0 = refused / scored
                arl0 = s.benign_arl0 if direction == "more" else s.cusum_arl0
                ref = f"{baseline.run_id}/{cat}"

                def unpaired(p0: float = p0, arl0: float = arl0, ref: str = ref,
                             direction: Direction = direction) -> UnpairedRateCusum:
                    return UnpairedRateCusum(direction=direction, ert=arl0, baseline_rate=p0,
                                             effect=s.min_effect_size, reference_id=ref)

                host.add_refusal_rate(cusum_name(cat),
                                      EvidenceLedger(make_detector=unpaired,
                                                     max_epochs=MAX_EPOCHS),
                                      source="probe", category=cat, baseline_rate=p0,
                                      slot=slot(cusum_key(cat)), units=units[cat],
                                      direction=direction)
                self.unpaired[cat] = cusum_name(cat)
            if base_label is not None:
                ert = s.paired_ert_benign if direction == "more" else s.paired_ert_harmful
                ref = f"{base_label}/{cat}"

                def paired(ert: float = ert, ref: str = ref,
                           direction: Direction = direction) -> PairedSignCusum:
                    return PairedSignCusum(direction=direction, ert=ert, reference_id=ref)

                host.add_paired(paired_name(cat),
                                EvidenceLedger(make_detector=paired, max_epochs=MAX_EPOCHS),
                                source="probe_paired", category=cat, direction=direction,
                                slot=slot(paired_key(cat)), units=units[cat])
                self.paired[cat] = paired_name(cat)

    @property
    def names(self) -> dict[str, str]:
        """``probe_state`` key -> hosted name, for saving the states with a run."""
        return {**{cusum_key(c): n for c, n in self.unpaired.items()},
                **{paired_key(c): n for c, n in self.paired.items()}}

    def feed(self, *, epoch: str, tuned: Mapping[tuple[str, str], Outcome],
             base: Mapping[tuple[str, str], bool] | None = None) -> Fed:
        """Admit this run's unit outcomes (``(category, unit) -> outcome``) and, with ``base``
        (``(category, unit) -> base refused``), the pairs whose two verdicts are scoreable."""
        singles: dict[str, list[Evidence]] = {}
        pairs: dict[str, list[Evidence]] = {}
        for (cat, unit), outcome in tuned.items():
            refused = refused_of(cat, outcome)
            if refused is None:
                continue
            if cat in self.unpaired:
                singles.setdefault(cat, []).append(Evidence(unit=unit, epoch=epoch,
                                                            value=refused))
            if cat in self.paired and base is not None and (cat, unit) in base:
                pairs.setdefault(cat, []).append(
                    Evidence(unit=unit, epoch=epoch, value=(base[(cat, unit)], refused)))
        fed = Fed(epoch=epoch)
        for cat, name in self.unpaired.items():
            xs = singles.get(cat)
            fed.unpaired[cat] = self.host.update_many(name, xs) if xs else self.host.state(name)
        for cat, name in self.paired.items():
            xs = pairs.get(cat)
            fed.pairs_fed[cat] = len(xs or ())
            fed.paired[cat] = self.host.update_many(name, xs) if xs else self.host.state(name)
        return fed

    def state_dicts(self) -> dict[str, dict[str, Any]]:
        """``probe_state`` key -> state dict of every test (saved with the run)."""
        return {key: self.host.state_dict(name) for key, name in self.names.items()}

    def summary(self, category: str) -> dict[str, Any]:
        """What the run summary (and so the evidence pack) records for ``category``: each test's
        state and the evidence of its current epoch."""
        out: dict[str, Any] = {}
        for what, names in (("ledger", self.unpaired), ("paired", self.paired)):
            name = names.get(category)
            if name is None:
                continue
            snap = self.host.snapshot_of(name)
            if snap is None:
                continue
            entry = snap.as_dict()
            out[what] = {k: entry[k] for k in ("drift", "statistic", "threshold", "n",
                                               "reference_id", "evidence", "pairs", "rate",
                                               "corrected_rate", "baseline_rate", "direction")
                       if k in entry}
        return out
