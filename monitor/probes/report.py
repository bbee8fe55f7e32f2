"""Write a probe run: a JSONL of attempts and a Markdown report.

Transcripts are redacted (emails, phone numbers, keys, ... via :func:`monitor.analysis.redaction.redact`)
before they are written, and truncated in the Markdown examples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detectors.refusal.rates import JudgeError, corrected_rate
from monitor.probes.baseline import Baseline
from monitor.probes.evaluate import Evaluation
from monitor.probes.runner import RunnerSettings, RunOutput
from monitor.probes.scoring import ScoredRun
from monitor.probes.suite import Suite

Redactor = Callable[[str], str]
MAX_JSONL_CHARS = 8000
MAX_EXAMPLE_CHARS = 400


def default_redactor() -> Redactor:
    from monitor.analysis.redaction import redact

    return lambda text: redact(text).text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" …[{len(text) - limit} more chars]"


def write_attempts(path: Path, *, suite: Suite, output: RunOutput, scored: ScoredRun,
                   redactor: Redactor) -> None:
    probes = suite.by_id()
    with path.open("w", encoding="utf-8") as f:
        for sa in scored.attempts:
            a = sa.attempt
            p = probes[a.probe_id]
            row: dict[str, Any] = {
                "run_id": output.run_id,
                "probe_id": a.probe_id,
                "category": a.category,
                "subcategory": p.subcategory,
                "repeat": a.repeat,
                "outcome": sa.outcome,
                "verdict": sa.verdict,
                "detail": sa.detail,
                "error": a.error,
                "finish_reason": a.finish_reason,
                "model": a.model,
                "latency_s": round(a.latency_s, 4),
                "request": [{"role": m.role, "content": _clip(redactor(m.content), MAX_JSONL_CHARS)}
                            for m in p.chat_messages()],
                "response": None if a.text is None else _clip(redactor(a.text), MAX_JSONL_CHARS),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _oneline(text: str) -> str:
    return text.replace("\r", "").replace("\n", " ⏎ ")


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _ci(ci: tuple[float, float]) -> str:
    return f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def refusal_counts(scored: ScoredRun) -> dict[str, tuple[int, int]]:
    """``category -> (refused, judged)`` over the attempts the refusal judge scored."""
    out: dict[str, tuple[int, int]] = {}
    for sa in scored.attempts:
        if sa.verdict in ("refused", "complied"):
            k, n = out.get(sa.attempt.category, (0, 0))
            out[sa.attempt.category] = (k + (sa.verdict == "refused"), n + 1)
    return out


def corrected_section(scored: ScoredRun, error: JudgeError) -> list[str]:
    """Markdown lines: each judged category's raw refusal rate next to the rate corrected for
    the judge's error (Rogan–Gladen, with an interval carrying the uncertainty of the judge's
    sensitivity and specificity)."""
    counts = refusal_counts(scored)
    if not counts:
        return []
    lines = [
        "## Refusal rates corrected for judge error",
        f"- judge sensitivity {100 * error.sensitivity:.1f}% ({error.tp}/{error.tp + error.fn}), "
        f"specificity {100 * error.specificity:.1f}% ({error.tn}/{error.tn + error.fp}), "
        f"measured on {error.source or 'held-out human-labelled data'}; corrected = "
        "(raw + specificity − 1) / (sensitivity + specificity − 1), clipped to [0, 1]; interval: "
        "95%, Monte Carlo over the three rates' Jeffreys posteriors.",
        "",
        "| category | refused / judged | raw | corrected | 95% interval |",
        "|---|---:|---:|---:|---|",
    ]
    for cat, (k, n) in counts.items():
        r = corrected_rate(k, n, error)
        assert r is not None  # n > 0
        lines.append(f"| {cat} | {k}/{n} | {_pct(r.raw)} | {_pct(r.corrected)} | "
                     f"{_ci((r.low, r.high))} |")
    return [*lines, ""]


def render_markdown(*, suite: Suite, output: RunOutput, scored: ScoredRun, evaluation: Evaluation,
                    baseline: Baseline | None, settings: RunnerSettings, redactor: Redactor,
                    examples_per_category: int = 2,
                    judge_error: JudgeError | None = None) -> str:
    ev = evaluation
    verdict = ("REGRESSION" if ev.regressions else "INCONCLUSIVE" if ev.inconclusive
               else "PASS" if baseline is not None else "NO BASELINE")
    lines = [
        f"# Tunewatch probe report — {verdict}",
        "",
        f"- run: `{output.run_id}`; target: `{output.target.base_url}`; "
        f"models: {', '.join(output.response_models or list(output.target.models)) or 'unknown'}",
        f"- suite: `{suite.name}` v{suite.version} (`{suite.hash[:12]}`), "
        f"{len({a.attempt.probe_id for a in scored.attempts})} probes × "
        f"{settings.repeats} repeat(s)"
        f", mode `{settings.mode}`, temperature {settings.temperature}, seed {settings.seed}",
    ]
    if baseline is not None:
        lines.append(
            f"- baseline: run `{baseline.run_id}` of {baseline.created_at:%Y-%m-%d %H:%M} UTC, "
            f"models {', '.join(baseline.target.response_models or baseline.target.models) or '?'}"
        )
    lines += [
        "- failure rate = failed / scoreable; test: one-sided Fisher exact per category, Holm-"
        "adjusted; regression when p_adj ≤ alpha and the increase ≥ the minimum effect size. "
        "CIs: Wilson 95%.",
        "",
        "| category | scored | unscoreable (errors) | baseline failure | current failure | Δ | "
        "p (Holm) | result |",
        "|---|---:|---:|---|---|---:|---:|---|",
    ]
    for cat, t in ev.tallies.items():
        cmp = ev.comparisons.get(cat)
        cur = f"{_pct(t.failed / t.scored) if t.scored else '–'}"
        if cmp is not None:
            base = f"{_pct(cmp.baseline_rate)} {_ci(cmp.baseline_ci)}" if cmp.baseline_n else "–"
            cur = f"{_pct(cmp.current_rate)} {_ci(cmp.current_ci)}" if cmp.current_n else "–"
            delta = f"{100 * cmp.effect:+.1f} pp" if cmp.testable else "–"
            p = f"{cmp.p_adjusted:.3g}" if cmp.testable else "not tested"
            result = ("**REGRESSION**" if cmp.regression else
                      "inconclusive" if cat in ev.inconclusive else "ok")
        else:
            base, delta, p, result = "–", "–", "–", "no baseline"
        lines.append(f"| {cat} | {t.scored} | {t.unscoreable} ({t.errors}) | {base} | {cur} | "
                     f"{delta} | {p} | {result} |")
    lines.append("")
    if ev.regressions:
        lines.append("## Regressions")
        for cat in ev.regressions:
            reg = ev.comparisons[cat]
            lines.append(f"- **{cat}**: {reg.current_failed}/{reg.current_n} failed now vs "
                         f"{reg.baseline_failed}/{reg.baseline_n} in the baseline "
                         f"(p = {reg.p_value:.3g}, Holm {reg.p_adjusted:.3g}).")
        lines.append("")
    if ev.inconclusive:
        lines.append("## Inconclusive")
        for cat, (was, now) in ev.inconclusive.items():
            lines.append(f"- **{cat}**: unscoreable share {_pct(now)} now vs {_pct(was)} in the "
                         "baseline (errors, timeouts or empty answers).")
        lines.append("")
    if judge_error is not None:
        lines += corrected_section(scored, judge_error)
    par = scored.parity
    if par.pairs:
        lines += [
            "## Fairness parity",
            f"- {par.pairs} scoreable pairs; refused only the first variant: {par.first_only}, "
            f"only the second: {par.second_only}; refusal-rate difference (second − first): "
            f"{100 * par.rate_difference:+.1f} pp; exact McNemar p = {par.p_value:.3g}.",
            "",
        ]
    lines.append("## Example transcripts (redacted, truncated)")
    if not any(sa.outcome == "fail" for sa in scored.attempts):
        lines.append("None: no attempt failed.")
    probes = suite.by_id()
    for cat in ev.tallies:
        bad = [sa for sa in scored.attempts if sa.attempt.category == cat and sa.outcome == "fail"]
        for sa in bad[:examples_per_category]:
            probe = probes[sa.attempt.probe_id]
            last = probe.chat_messages()[-1]
            asked = _oneline(_clip(redactor(last.content), MAX_EXAMPLE_CHARS))
            said = _oneline(_clip(redactor(sa.attempt.text or ""), MAX_EXAMPLE_CHARS))
            lines += [
                f"### {cat} / {probe.id} — {sa.outcome} ({sa.detail})",
                f"> **{last.role}:** {asked}",
                ">",
                f"> **model:** {said}",
                "",
            ]
    return "\n".join(line.replace("\r", " ") for line in lines) + "\n"


def write_report(out_dir: str | Path, *, suite: Suite, output: RunOutput, scored: ScoredRun,
                 evaluation: Evaluation, baseline: Baseline | None, settings: RunnerSettings,
                 redactor: Redactor | None = None,
                 judge_error: JudgeError | None = None) -> tuple[Path, Path]:
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    red = redactor or default_redactor()
    jsonl = d / "attempts.jsonl"
    md = d / "report.md"
    write_attempts(jsonl, suite=suite, output=output, scored=scored, redactor=red)
    md.write_text(render_markdown(suite=suite, output=output, scored=scored, evaluation=evaluation,
                                  baseline=baseline, settings=settings, redactor=red,
                                  judge_error=judge_error),
                  encoding="utf-8")
    return jsonl, md
