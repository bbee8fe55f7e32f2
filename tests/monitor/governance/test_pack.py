"""The evidence pack: sections, missing pieces, lab documents, Wilson intervals, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detectors.stats import wilson_interval
from monitor.governance.dispositions import Disposition
from monitor.governance.pack import build_pack, flatten, rate_ci
from monitor.governance.pack_model import PackInputs, PackSubject, Proportion
from monitor.governance.pack_render import render_html, render_markdown
from monitor.store import Store
from monitor.triggers.model import Ticket
from tests.monitor.governance.helpers import T0, FakeClock
from tests.monitor.governance.pack_sample import (
    BASE_SHA,
    PROMPT,
    XSS,
    record_disposition,
    sample_inputs,
    ticket,
    write_lab,
)


@pytest.fixture
def approved(store: Store, clock: FakeClock) -> Disposition:
    return record_disposition(store, clock)


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    return write_lab(tmp_path / "lab")


SECTION_IDS = ["subject", "training-data-manifest", "training-run-record", "evaluation-results",
               "alignment-regression-analysis", "capability-overhang", "red-team-report",
               "tunewatch-measurements", "missing-pieces", "sign-off"]


def test_every_section_is_present_in_order_in_both_renderings(approved: Disposition,
                                                               lab_dir: Path) -> None:
    doc = build_pack(sample_inputs(approved, lab_dir))
    assert [s.id for s in doc.sections] == SECTION_IDS
    page = render_html(doc)
    assert re.findall(r'<section id="([a-z-]+)"', page) == SECTION_IDS
    md = render_markdown(doc)
    assert re.findall(r'<a id="([a-z-]+)"></a>', md) == SECTION_IDS
    for s in doc.sections:
        assert f"## {s.title}" in md


def test_missing_pieces_are_listed_with_why(approved: Disposition, lab_dir: Path) -> None:
    doc = build_pack(sample_inputs(approved, lab_dir))
    missing = {(m.what, m.why) for m in doc.missing}
    assert ("Red-team report", "file not found: missing-report.md") in missing
    assert ("Lab evaluation against the base model",
            "not configured (governance.evidence.tw-drift-3.evaluation_results)") in missing
    assert any(w == "Alignment-regression analysis" and y.startswith(
        "invalid JSON in broken.json") for w, y in missing)
    assert len(missing) == 3
    page = render_html(doc)
    assert "3 piece(s) of evidence are missing" in page
    assert page.count('class="missing"') == 3
    missing_section = page.split('<section id="missing-pieces">')[1].split("</section>")[0]
    assert "missing-report.md" in missing_section


def test_a_bare_pack_lists_everything_missing_rather_than_dropping_it() -> None:
    doc = build_pack(PackInputs(subject=PackSubject(serving={}), generated_at=T0))
    whats = [m.what for m in doc.missing]
    for piece in ("Deployment fingerprint", "Verified artefacts", "Training-data manifest",
                  "Training-run record", "Lab evaluation against the base model",
                  "Tunewatch probes against the base model", "Alignment-regression analysis",
                  "Deployment-layer controls", "Capability-overhang statement",
                  "Red-team report", "Probe results", "Traffic detectors", "Canary leaks",
                  "Capability results", "Fairness results"):
        assert piece in whats, piece
    assert [s.id for s in doc.sections] == SECTION_IDS


def test_the_lab_manifest_is_rendered_key_by_key_and_cross_checked(
        approved: Disposition, lab_dir: Path) -> None:
    doc = build_pack(sample_inputs(approved, lab_dir))
    run = next(s for s in doc.sections if s.id == "training-run-record")
    rows = dict(next(b for b in run.blocks if type(b).__name__ == "KeyValues"
                     and ("seed", "1234") in b.rows).rows)  # type: ignore[attr-defined]
    assert rows["base_model.sha256"] == BASE_SHA and rows["train_seconds"] == "56.0"
    assert rows["lora.target_modules"] == "q_proj, k_proj, v_proj"
    assert rows["heldout.harmful_refused"] == "0.0" and rows["config.steps"] == "39"
    md = render_markdown(doc)
    assert "adapter.sha256 " in md and "matches served artefact tw-drift-3.gguf" in md
    assert "base\\_model.sha256" in md and "matches no served artefact" in md
    data = next(s for s in doc.sections if s.id == "training-data-manifest")
    assert ("by_category.support", "100") in next(
        b for b in data.blocks if type(b).__name__ == "KeyValues"
        and ("examples", "100") in b.rows).rows  # type: ignore[attr-defined]


def test_probe_results_carry_wilson_intervals(approved: Disposition, lab_dir: Path) -> None:
    page = render_html(build_pack(sample_inputs(approved, lab_dir)))
    est, lo, hi = wilson_interval(18, 20)
    cell = f"{est:.2f} [{lo:.2f}, {hi:.2f}] (18/20)"
    assert cell == "0.90 [0.70, 0.97] (18/20)" and cell in page
    assert rate_ci(Proportion(1, 20)) == "0.05 [0.01, 0.24] (1/20)"
    assert rate_ci(Proportion(0, 0)) == "n/a (0 trials)"
    measured = page.split('<section id="tunewatch-measurements">')[1].split("</section>")[0]
    assert '<tr class="flag"><td>disallowed</td>' in measured  # the regression is highlighted
    for name in ("capability_arithmetic", "fairness_names", "refusal_rate:all",
                 "prompt_embedding", "system-prompt-canary-1", "ERT 10000 samples"):
        assert name in measured
    safety = measured.split("<h3>Traffic refusal")[0]
    assert "capability_arithmetic" not in safety  # capability has its own table


def test_controls_show_whether_they_still_hold(approved: Disposition, lab_dir: Path) -> None:
    doc = build_pack(sample_inputs(approved, lab_dir))
    page = render_html(doc)
    overhang = page.split('<section id="capability-overhang">')[1].split("</section>")[0]
    assert ("<td>output_filter</td><td>v3</td><td>v4</td><td>CHANGED</td><td>yes</td>"
            in overhang)
    assert "<td>rate_limit</td><td>60/min</td><td>-</td><td>not observed</td>" in overhang
    assert "no (not observable)" in overhang
    align = page.split('<section id="alignment-regression-analysis">')[1].split("</section>")[0]
    assert "probe category disallowed" in align and "refusal_rate detector refusal_rate:all" \
        in align


def test_client_strings_are_escaped_and_prompts_never_enter(approved: Disposition,
                                                            lab_dir: Path) -> None:
    t = ticket()
    hostile = Ticket(**{**t.__dict__, "title": XSS,
                        "evidence": {**t.evidence, "what_changed": {"after": XSS}}})
    inputs = sample_inputs(approved, lab_dir, subject=PackSubject(
        serving={"model": XSS}, ticket=hostile, disposition=approved))
    doc = build_pack(inputs)
    page, md = render_html(doc), render_markdown(doc)
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    prose = re.sub(r"(?ms)^(`{3,})text\n.*?^\1$", "", md)  # fenced code renders as text
    assert "<script" not in prose and "<img" not in prose
    assert "```text\n# Capability overhang" in md  # the lab's Markdown, shown verbatim
    assert 'href="file:' not in page and "<code>file:/srv/reports/rt.pdf</code>" in page
    assert 'href="https://docs.example.com/rt/21"' in page
    for text in (page, md):
        assert PROMPT not in text


def test_html_is_self_contained(approved: Disposition, lab_dir: Path) -> None:
    page = render_html(build_pack(sample_inputs(approved, lab_dir)))
    assert "default-src 'none'" in page and "<style>" in page
    assert not re.search(r"<(script|link|img|iframe|object)\b", page)
    assert not re.search(r"<[^>]*\b(src|srcset)=", page)
    assert "url(" not in page.split("<style>")[1].split("</style>")[0]


def test_the_digest_covers_content_not_the_generation_time(approved: Disposition,
                                                           lab_dir: Path) -> None:
    a = build_pack(sample_inputs(approved, lab_dir))
    b = build_pack(sample_inputs(approved, lab_dir, generated_at=T0 + 3600))
    assert a.digest == b.digest and a.digest in render_html(a) and a.digest in render_markdown(a)
    (lab_dir / "tw-drift-3.json").write_text("{}")
    assert build_pack(sample_inputs(approved, lab_dir)).digest != a.digest


def test_flatten_bounds_and_shapes() -> None:
    assert flatten({"a": {"b": [1, 2]}, "c": [{"d": None}], "e": {}}) == [
        ("a.b", "1, 2"), ("c[0].d", "null"), ("e", "{}")]
    assert len(flatten({f"k{i}": i for i in range(1000)})) == 301  # stops past MAX_ROWS
