"""Types of the evidence pack: the document (sections of plain-string blocks) and its inputs.

The detector host, probe store and triggers fill the inputs; :func:`monitor.governance.pack.
build_pack` turns them into a :class:`PackDocument`; :mod:`monitor.governance.pack_render` writes
it as Markdown or static HTML, escaping every string.

>>> Proportion(3, 10)
Proportion(k=3, n=10)
>>> Proportion(11, 10)
Traceback (most recent call last):
ValueError: need 0 <= k <= n, got k=11, n=10
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monitor.governance.artifacts import ArtifactResult
from monitor.governance.config import EvidenceFiles
from monitor.governance.dispositions import Disposition
from monitor.triggers.model import Ticket

# --- the document ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class KeyValues:
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    flags: tuple[bool, ...] = ()  # per row: highlight (a regression, a leak, a broken control)


@dataclass(frozen=True)
class Preformatted:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Links:
    items: tuple[tuple[str, str], ...]  # (title, url)


@dataclass(frozen=True)
class Missing:
    what: str
    why: str


@dataclass(frozen=True)
class Heading:
    text: str


Block = Text | KeyValues | Table | Preformatted | Bullets | Links | Missing | Heading


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class PackDocument:
    title: str
    subtitle: str
    generated_at: float
    sections: tuple[Section, ...]
    missing: tuple[Missing, ...]
    digest: str  # sha256 of the content (everything but the generation time)


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proportion:
    """``k`` of ``n`` (failures of a probe category, leaks of a canary, refusals)."""

    k: int
    n: int

    def __post_init__(self) -> None:
        if not 0 <= self.k <= self.n:
            raise ValueError(f"need 0 <= k <= n, got k={self.k}, n={self.n}")


@dataclass(frozen=True)
class CategoryResult:
    category: str
    current: Proportion
    baseline: Proportion | None = None
    p_adjusted: float | None = None
    regression: bool = False
    detected_by: tuple[str, ...] = ()
    unscoreable: int = 0


@dataclass(frozen=True)
class ProbeRun:
    run_id: str
    suite: str
    suite_hash: str
    ended_at: float
    categories: tuple[CategoryResult, ...]
    baseline_run_id: str | None = None
    baseline_model: str | None = None


@dataclass(frozen=True)
class DetectorReading:
    name: str  # e.g. refusal_rate:disallowed, prompt_embedding
    kind: Literal["refusal_rate", "drift"]
    in_alarm: bool
    samples: int
    calibration: str  # how the threshold was set, e.g. "CUSUM, ARL0 50000 samples"
    statistic: float | None = None
    threshold: float | None = None
    rate: Proportion | None = None  # refusal detectors: recent refusals of n
    baseline_rate: float | None = None


@dataclass(frozen=True)
class CanaryResult:
    canary: str  # the canary's name, never its secret
    checks: int
    leaks: int


@dataclass(frozen=True)
class Measurements:
    probes: ProbeRun | None = None
    detectors: tuple[DetectorReading, ...] | None = None
    canaries: tuple[CanaryResult, ...] | None = None


@dataclass(frozen=True)
class PackSubject:
    serving: Mapping[str, str]
    ticket: Ticket | None = None
    disposition: Disposition | None = None
    model: str | None = None  # model version whose documents are configured


@dataclass(frozen=True)
class PackInputs:
    subject: PackSubject
    generated_at: float
    measurements: Measurements = Measurements()
    artifacts: tuple[ArtifactResult, ...] = ()
    documents: EvidenceFiles = EvidenceFiles()
    documents_key: str = "governance.evidence.<model>"  # named in "missing" reasons
    base_dir: Path = Path(".")
    capability_prefix: str = "capability"
    fairness_prefix: str = "fairness"
    reviewed: str | None = None  # the review state's reason line
