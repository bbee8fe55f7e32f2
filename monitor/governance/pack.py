"""The evidence pack a reviewer signs: its inputs (typed) and its document (sections of blocks).

One pack per ticket or per disposition, always with the same sections, in this order:
the subject and deployment, training-data manifest, training-run record, evaluation results against
the base model, alignment-regression analysis with compensating controls, capability-overhang
statement with the deployment-layer controls it relies on, red-team report, what Tunewatch measured
(probes against the base baseline per category with 95% Wilson intervals, traffic refusal and drift
detectors with their calibration, canary leaks, capability and fairness results), missing pieces,
and the reviewer sign-off.

The lab's documents are files configured per model version (``governance.evidence``): JSON is
rendered key by key whatever keys it has (a ``#/pointer`` narrows it), Markdown and text verbatim;
every ``sha256`` in them is checked against the served artefacts. Anything absent is listed as
missing, with why — never silently dropped. The document holds plain strings only; the renderers
(:mod:`monitor.governance.pack_render`) escape every one of them. No prompts or responses enter a
pack: ticket transcripts are deliberately not read.

>>> from monitor.governance.pack_model import PackSubject
>>> doc = build_pack(PackInputs(subject=PackSubject(serving={"model": "tw-safe"}), generated_at=0))
>>> [s.id for s in doc.sections]  # doctest: +NORMALIZE_WHITESPACE
['subject', 'training-data-manifest', 'training-run-record', 'evaluation-results',
 'alignment-regression-analysis', 'capability-overhang', 'red-team-report',
 'tunewatch-measurements', 'missing-pieces', 'sign-off']
>>> [m.what for m in doc.missing][:3]
['Verified artefacts', 'Training-data manifest', 'Training-run record']
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from detectors.stats import wilson_interval
from monitor.governance.pack_model import (
    Block,
    Bullets,
    CategoryResult,
    Heading,
    KeyValues,
    Links,
    Missing,
    PackDocument,
    PackInputs,
    Preformatted,
    ProbeRun,
    Proportion,
    Section,
    Table,
    Text,
)
from monitor.governance.review import TRACKED

MAX_DOC_BYTES = 2 << 20
MAX_ROWS = 300
MAX_CELL = 500
MAX_TEXT = 40_000

# --- helpers ---------------------------------------------------------------------------------------


def clip(value: Any, limit: int = MAX_CELL) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split()) if limit <= MAX_CELL else text
    return text if len(text) <= limit else text[:limit] + "…"


def rate_ci(p: Proportion | None) -> str:
    """``0.40 [0.17, 0.69] (4/10)``; ``n/a`` without trials."""
    if p is None or p.n == 0:
        return "n/a" if p is None else "n/a (0 trials)"
    est, lo, hi = wilson_interval(p.k, p.n)
    return f"{est:.2f} [{lo:.2f}, {hi:.2f}] ({p.k}/{p.n})"


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.4g}"


def _when(ts: float | None) -> str:
    import datetime as dt

    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def flatten(value: Any, prefix: str = "", out: list[tuple[str, str]] | None = None
            ) -> list[tuple[str, str]]:
    """Key paths and leaf values of JSON (lists of scalars joined), at most ``MAX_ROWS`` rows."""
    out = [] if out is None else out
    if len(out) > MAX_ROWS:
        return out
    if isinstance(value, Mapping):
        if not value:
            out.append((prefix or "(root)", "{}"))
        for k, v in value.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and all(
            not isinstance(v, Mapping | list) for v in value):
        out.append((prefix or "(root)", clip(", ".join("null" if v is None else str(v)
                                                        for v in value))))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            flatten(v, f"{prefix}[{i}]", out)
    else:
        out.append((prefix or "(root)", "null" if value is None else clip(
            value if isinstance(value, str) else json.dumps(value))))
    return out


def _sha_leaves(rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in rows if k.split(".")[-1].lower() == "sha256" and len(v) == 64]


def _pointer(data: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer (``/a/0/b``)."""
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, Mapping) and part in data:
            data = data[part]
        else:
            raise KeyError(pointer)
    return data


@dataclass(frozen=True)
class LoadedDoc:
    path: str
    sha256: str
    json: Any = None
    text: str | None = None


def load_document(spec: str | None, base_dir: Path) -> LoadedDoc | str:
    """A configured document, or why it is missing."""
    if not spec:
        return "not configured"
    path_part, _, pointer = spec.partition("#")
    path = Path(path_part) if Path(path_part).is_absolute() else base_dir / path_part
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_DOC_BYTES + 1)
    except FileNotFoundError:
        return f"file not found: {path_part}"
    except OSError as exc:
        return f"unreadable: {path_part} ({exc.strerror})"
    if len(raw) > MAX_DOC_BYTES:
        return f"larger than {MAX_DOC_BYTES >> 20} MiB: {path_part}"
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"not UTF-8 text: {path_part}"
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            return f"invalid JSON in {path_part}: {exc}"
        if pointer:
            try:
                data = _pointer(data, pointer)
            except KeyError:
                return f"{path_part} has nothing at #{pointer}"
        return LoadedDoc(path=spec, sha256=digest, json=data)
    return LoadedDoc(path=spec, sha256=digest, text=text[:MAX_TEXT])


# --- building ---------------------------------------------------------------------------------------


@dataclass
class _Builder:
    inputs: PackInputs
    missing: list[Missing] = field(default_factory=list)

    def miss(self, what: str, why: str) -> Missing:
        m = Missing(what=what, why=why)
        self.missing.append(m)
        return m

    # documents
    def document(self, title: str, attr: str) -> list[Block]:
        spec = getattr(self.inputs.documents, attr)
        loaded = load_document(spec, self.inputs.base_dir)
        if isinstance(loaded, str):
            why = loaded if spec else f"not configured ({self.inputs.documents_key}.{attr})"
            return [self.miss(title, why)]
        blocks: list[Block] = [KeyValues((("file", loaded.path), ("sha256", loaded.sha256)))]
        if loaded.text is not None:
            blocks.append(Preformatted(loaded.text))
            return blocks
        rows = flatten(loaded.json)
        if len(rows) > MAX_ROWS:
            rows = rows[:MAX_ROWS]
            blocks.append(Text(f"(first {MAX_ROWS} entries shown)"))
        blocks.append(KeyValues(tuple(rows)))
        checks = self.cross_check(rows)
        if checks:
            blocks += [Heading("Digests checked against the served artefacts"), Bullets(checks)]
        return blocks

    def cross_check(self, rows: Sequence[tuple[str, str]]) -> tuple[str, ...]:
        served = {r.sha256: r.name for r in self.inputs.artifacts if r.sha256}
        out = []
        for key, digest in _sha_leaves(rows):
            name = served.get(digest)
            out.append(f"{key} {digest[:16]}…: " + (f"matches served artefact {name}" if name
                                                   else "matches no served artefact"))
        return tuple(out)

    # probes
    def split(self) -> tuple[list[CategoryResult], list[CategoryResult], list[CategoryResult]]:
        run = self.inputs.measurements.probes
        cats = list(run.categories) if run else []
        cap = [c for c in cats if c.category.startswith(self.inputs.capability_prefix)]
        fair = [c for c in cats if c.category.startswith(self.inputs.fairness_prefix)]
        safety = [c for c in cats if c not in cap and c not in fair]
        return safety, cap, fair

    @staticmethod
    def category_table(cats: Sequence[CategoryResult]) -> Table:
        rows, flags = [], []
        for c in sorted(cats, key=lambda c: c.category):
            rows.append((clip(c.category, 80), rate_ci(c.baseline), rate_ci(c.current),
                         _num(c.p_adjusted), "yes" if c.regression else "no",
                         ", ".join(c.detected_by) or "-", str(c.unscoreable)))
            flags.append(c.regression or bool(c.detected_by))
        return Table(("category", "base model failure rate [95% CI]",
                      "current failure rate [95% CI]", "p (Holm)", "regression", "detected by",
                      "unscoreable"), tuple(rows), tuple(flags))

    def controls_table(self) -> Block:
        d = self.inputs.subject.disposition
        if d is None:
            return self.miss("Deployment-layer controls",
                             "no disposition recorded, so no controls are relied on yet")
        if not d.controls:
            return self.miss("Deployment-layer controls", f"{d.reference} names no controls")
        serving = self.inputs.subject.serving
        rows, flags = [], []
        for c in d.controls:
            now = serving.get(c.component)
            holds = "not observed" if now is None else ("holds" if now == c.value else "CHANGED")
            rows.append((c.component, clip(c.value, 80), clip(now or "-", 80), holds,
                         "yes" if c.component in TRACKED or c.component.startswith(
                             ("artifact:", "adapter:")) else "no (not observable)",
                         clip(c.note or "-")))
            flags.append(holds == "CHANGED")
        return Table(("control", "relied-on value", "serving now", "state",
                      "watched by Tunewatch", "why relied on"), tuple(rows), tuple(flags))

    # sections
    def subject(self) -> Section:
        s = self.inputs.subject
        blocks: list[Block] = []
        if s.ticket is not None:
            t = s.ticket
            blocks += [Heading(f"Ticket {t.ref}"), KeyValues((
                ("title", clip(t.title)), ("type", t.type), ("owner", clip(t.owner)),
                ("state", t.state), ("opened", _when(t.created_at)),
                ("fired", f"{t.fire_count} time(s)")))]
            changed = (t.evidence or {}).get("what_changed") or {}
            if changed:
                blocks += [Heading("What changed"),
                           KeyValues(tuple((clip(k, 80), clip(v)) for k, v in changed.items()))]
        d = s.disposition
        if d is not None:
            blocks += [Heading(f"Disposition {d.reference} (record {d.id})"), KeyValues((
                ("decision", d.decision), ("owner", clip(d.owner)),
                ("decided", _when(d.decided_at)), ("expires", _when(d.expires_at)),
                ("recorded", f"{_when(d.recorded_at)} by {clip(d.recorded_by)}"),
                ("fingerprint id", d.fingerprint_id),
                ("supersedes", f"record {d.supersedes}" if d.supersedes else "-")))]
            if d.conditions:
                blocks += [Heading("Conditions"), Bullets(tuple(clip(c) for c in d.conditions))]
            if d.evidence:
                blocks += [Heading("Evidence cited"),
                           Links(tuple((clip(e.title, 200), e.url) for e in d.evidence))]
        elif s.ticket is not None:
            blocks.append(self.miss("Disposition", "none recorded for this ticket yet"))
        if s.ticket is None and d is None:
            blocks.append(Text("Pack for the serving deployment (no ticket or disposition)."))
        blocks.append(Heading("Serving deployment fingerprint"))
        blocks.append(KeyValues(tuple((k, clip(v, 200)) for k, v in sorted(s.serving.items())))
                      if s.serving else self.miss("Deployment fingerprint", "nothing observed"))
        if self.inputs.reviewed:
            blocks.append(Text(f"Review state: {clip(self.inputs.reviewed)}"))
        blocks.append(Heading("Verified artefacts"))
        if self.inputs.artifacts:
            blocks.append(Table(("artefact", "kind", "status", "sha256", "expected", "detail"),
                                tuple((a.name, a.kind, a.status, (a.sha256 or "-")[:16] + "…"
                                       if a.sha256 else "-", clip(a.expected or "-", 80),
                                       clip(a.detail)) for a in self.inputs.artifacts),
                                tuple(a.status in ("mismatch", "missing", "error")
                                      for a in self.inputs.artifacts)))
        else:
            blocks.append(self.miss("Verified artefacts", "deployment.artifacts lists no files"))
        return Section("subject", "Subject and deployment", tuple(blocks))

    def evaluation(self) -> Section:
        blocks = self.document("Lab evaluation against the base model", "evaluation_results")
        run = self.inputs.measurements.probes
        if run is None:
            blocks.append(self.miss("Tunewatch probes against the base model",
                                    "no probe run recorded"))
        else:
            safety, cap, fair = self.split()
            regressed = [c.category for c in run.categories if c.regression or c.detected_by]
            blocks += [Heading("Tunewatch probes against the base model"), Text(
                f"Run {clip(run.run_id, 80)} of suite {clip(run.suite, 80)} ({run.suite_hash[:12]})"
                f" ended {_when(run.ended_at)}, against baseline run "
                f"{clip(run.baseline_run_id or '-', 80)} on "
                f"{clip(run.baseline_model or 'the base model', 80)}: {len(run.categories)} "
                f"categories ({len(safety)} safety, {len(cap)} capability, {len(fair)} fairness); "
                f"regressed: {', '.join(regressed) or 'none'}. Per category in 'What Tunewatch "
                "measured'.")]
        return Section("evaluation-results", "Evaluation results against the base model",
                       tuple(blocks))

    def alignment(self) -> Section:
        blocks = self.document("Alignment-regression analysis", "alignment_regression_analysis")
        found: list[str] = []
        run = self.inputs.measurements.probes
        for c in run.categories if run else ():
            if c.regression or c.detected_by:
                found.append(f"probe category {c.category}: {rate_ci(c.baseline)} -> "
                             f"{rate_ci(c.current)} ({', '.join(c.detected_by) or 'test'})")
        for det in self.inputs.measurements.detectors or ():
            if det.in_alarm:
                found.append(f"{det.kind} detector {det.name} in alarm "
                             f"(statistic {_num(det.statistic)} >= {_num(det.threshold)})")
        blocks += [Heading("Regressions Tunewatch detected"),
                   Bullets(tuple(clip(f) for f in found)) if found else Text("None detected.")]
        blocks += [Heading("Compensating controls (deployment layer)"), self.controls_table()]
        return Section("alignment-regression-analysis",
                       "Alignment-regression analysis and compensating controls", tuple(blocks))

    def overhang(self) -> Section:
        blocks = self.document("Capability-overhang statement", "capability_overhang_statement")
        blocks += [Heading("Deployment-layer controls it relies on"), self.controls_table()]
        return Section("capability-overhang",
                       "Capability-overhang statement and the deployment-layer controls it "
                       "relies on", tuple(blocks))

    def measured(self) -> Section:
        m = self.inputs.measurements
        blocks: list[Block] = [Heading("Probes against the base-model baseline")]
        safety, cap, fair = self.split()
        if m.probes is None:
            blocks.append(self.miss("Probe results", "no probe run recorded"))
        else:
            blocks.append(self.category_table(safety) if safety else self.miss(
                "Probe results", "the latest run has no safety categories"))
        blocks.append(Heading("Traffic refusal and drift detectors"))
        if m.detectors is None:
            blocks.append(self.miss("Traffic detectors", "no detector state available"))
        elif not m.detectors:
            blocks.append(self.miss("Traffic detectors", "no detector is configured"))
        else:
            blocks.append(Table(
                ("detector", "kind", "statistic", "threshold", "in alarm", "samples",
                 "recent rate [95% CI]", "baseline rate", "calibration"),
                tuple((d.name, d.kind, _num(d.statistic), _num(d.threshold),
                       "yes" if d.in_alarm else "no", str(d.samples), rate_ci(d.rate),
                       _num(d.baseline_rate), clip(d.calibration)) for d in m.detectors),
                tuple(d.in_alarm for d in m.detectors)))
        blocks.append(Heading("Canary leaks"))
        if m.canaries is None:
            blocks.append(self.miss("Canary leaks", "no canary checks recorded"))
        else:
            blocks.append(Table(("canary", "checks", "leaks", "leak rate [95% CI]"), tuple(
                (clip(c.canary, 80), str(c.checks), str(c.leaks),
                 rate_ci(Proportion(c.leaks, c.checks))) for c in m.canaries),
                tuple(c.leaks > 0 for c in m.canaries)))
        for title, cats, prefix in (("Capability", cap, self.inputs.capability_prefix),
                                    ("Fairness", fair, self.inputs.fairness_prefix)):
            blocks.append(Heading(f"{title} probes"))
            blocks.append(self.category_table(cats) if cats else self.miss(
                f"{title} results", f"no probe category starting with '{prefix}' in the latest "
                "run" if m.probes else "no probe run recorded"))
        return Section("tunewatch-measurements", "What Tunewatch measured", tuple(blocks))


def _digest(title: str, sections: Sequence[Section]) -> str:
    canon = json.dumps([title, [asdict(s) for s in sections]], sort_keys=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


def build_pack(inputs: PackInputs) -> PackDocument:
    b = _Builder(inputs)
    s = inputs.subject
    if s.disposition is not None:
        title = f"Evidence pack — {s.disposition.reference} ({s.disposition.decision})"
    elif s.ticket is not None:
        title = f"Evidence pack — {s.ticket.ref}: {clip(s.ticket.title, 120)}"
    else:
        title = "Evidence pack — serving deployment"
    model = s.model or s.serving.get("model") or "unknown model"
    sections = [
        b.subject(),
        Section("training-data-manifest", "Training-data manifest",
                tuple(b.document("Training-data manifest", "training_data_manifest"))),
        Section("training-run-record", "Training-run record",
                tuple(b.document("Training-run record", "training_run_record"))),
        b.evaluation(),
        b.alignment(),
        b.overhang(),
        Section("red-team-report", "Red-team report",
                tuple(b.document("Red-team report", "red_team_report"))),
        b.measured(),
    ]
    missing = tuple(b.missing)
    sections.append(Section("missing-pieces", "Missing pieces", (
        Table(("piece", "why"), tuple((m.what, m.why) for m in missing),
              tuple(True for _ in missing)),) if missing else (Text("Nothing is missing."),)))
    digest = _digest(title, sections)
    sections.append(Section("sign-off", "Reviewer sign-off", (
        Text(f"I have reviewed this evidence pack (content sha256 {digest}) for {model}."),
        Table(("role", "name", "decision", "date", "signature"),
              (("Reviewer", "", "", "", ""), ("Governance owner", "", "", "", ""))),
    )))
    return PackDocument(title=title, subtitle=f"Model {clip(model, 120)} · generated "
                        f"{_when(inputs.generated_at)}", generated_at=inputs.generated_at,
                        sections=tuple(sections), missing=missing, digest=digest)


def probe_run_from_evidence(probes: Mapping[str, Any] | None) -> ProbeRun | None:
    """The ``probes`` part of a ticket's evidence (``monitor/triggers/evidence.py``) as a
    :class:`ProbeRun`, or None when the ticket has none.

    >>> run = probe_run_from_evidence({"run_id": "r2", "ended_at": 5.0, "suite": "s",
    ...     "suite_hash": "h", "baseline_run_id": "r1", "categories": {"disallowed": {
    ...     "current": {"failed": 9, "n": 10}, "baseline": {"failed": 1, "n": 10},
    ...     "p_adjusted": 0.002, "regression": True, "detected_by": ["fisher_holm"]}}})
    >>> c = run.categories[0]
    >>> (c.category, c.current, c.baseline, c.detected_by)
    ('disallowed', Proportion(k=9, n=10), Proportion(k=1, n=10), ('fisher_holm',))
    """
    if not probes or not probes.get("categories"):
        return None

    def prop(r: Any) -> Proportion | None:
        if not isinstance(r, Mapping) or not r.get("n"):
            return None
        return Proportion(int(r.get("failed", 0)), int(r["n"]))

    cats = []
    for name, c in sorted(probes["categories"].items()):
        current = prop(c.get("current")) or Proportion(0, 0)
        cats.append(CategoryResult(
            category=str(name), current=current, baseline=prop(c.get("baseline")),
            p_adjusted=c.get("p_adjusted"), regression=bool(c.get("regression")),
            detected_by=tuple(c.get("detected_by") or ()),
            unscoreable=int(c.get("unscoreable") or 0)))
    return ProbeRun(run_id=str(probes.get("run_id", "-")), suite=str(probes.get("suite", "-")),
                    suite_hash=str(probes.get("suite_hash", "")),
                    ended_at=float(probes.get("ended_at") or 0.0), categories=tuple(cats),
                    baseline_run_id=probes.get("baseline_run_id"))
