"""Markdown rendering of a ticket event (issue bodies, comments, the directory sink).

The body ends with a hidden marker naming the ticket uid and dedup key, which the issue-tracker
sinks search for so a redelivery never opens a second issue. A ``closed`` event acknowledged with
a disposition (the governance loop) carries the decision under ``disposition``; it is rendered
before the markers (:func:`disposition_markdown`; chat sinks use :func:`disposition_line`).

>>> p = {"event": "opened", "idempotency_key": "u1:opened:0",
...      "ticket": {"id": "TW-1", "uid": "u1", "dedup_key": "drift:prompt", "type": "drift",
...                 "owner": "sre", "title": "Sustained drift", "fire_count": 1, "state": "open"},
...      "evidence": {"what_changed": {"detector": "prompt"}}}
>>> print(render_markdown(p).splitlines()[0])
## [TW-1] Sustained drift
>>> marker(p["ticket"])
'<!-- tunewatch-ticket uid=u1 key=drift:prompt -->'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def marker(ticket: dict[str, Any]) -> str:
    return f"<!-- tunewatch-ticket uid={ticket['uid']} key={ticket['dedup_key']} -->"


def event_marker(key: str) -> str:
    return f"<!-- tunewatch-event {key} -->"


def _fmt_rate(r: dict[str, Any] | None) -> str:
    if not r or r.get("rate") is None:
        return "n/a"
    lo, hi = r.get("ci95", [None, None])
    ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
    return f"{r['rate']:.2f}{ci} (n={r.get('n', 0)})"


def render_markdown(payload: dict[str, Any]) -> str:
    t = payload["ticket"]
    ev = payload.get("evidence") or {}
    out = [f"## [{t['id']}] {t['title']}", "",
           f"- type: `{t['type']}`", f"- owner: {t['owner']}", f"- state: {t.get('state', '')}",
           f"- event: {payload.get('event')} (fired {t.get('fire_count', 1)}x)",
           f"- dedup key: `{t['dedup_key']}`"]
    if t.get("severity", "warning") != "warning":
        out.append(f"- severity: **{t['severity']}**")
    if payload.get("event") == "closed":
        out += ["", f"Acknowledged ({payload.get('acked_by', 'cli')}); ticket closed."]
    changed = ev.get("what_changed") or {}
    if changed:
        out += ["", "### What changed", ""]
        out += [f"- {k}: `{v}`" for k, v in changed.items()]
    alert = ev.get("alert")
    if alert:
        out += ["", "### Alert", "", f"- {alert.get('alertname')} ({alert.get('status')})"]
        for k in ("summary", "description", "runbook_url"):
            if alert.get("annotations", {}).get(k):
                out.append(f"- {k}: {alert['annotations'][k]}")
    probes = ev.get("probes") or {}
    cats = probes.get("categories") or {}
    if cats:
        out += ["", f"### Probes: baseline vs current (run {probes.get('run_id')})", "",
                "| category | baseline failure rate [95% CI] | current failure rate [95% CI] | "
                "p (Holm) | regression |", "|---|---|---|---|---|"]
        for cat, c in sorted(cats.items()):
            p = c.get("p_adjusted")
            out.append(f"| {cat} | {_fmt_rate(c.get('baseline'))} | {_fmt_rate(c.get('current'))}"
                       f" | {'' if p is None else f'{p:.3g}'} | {'**yes**' if c.get('regression') else 'no'} |")
    seq = [(cat, c) for cat, c in sorted(cats.items()) if c.get("evidence") or c.get("paired")]
    if seq:
        out += ["", f"### Sequential evidence (epoch `{probes.get('epoch', 'several')}`)", "",
                "| category | units counted | coverage | vs baseline | paired vs base: base only / "
                "fine-tune only | paired alarm |", "|---|---|---|---|---|---|"]
        for cat, c in seq:
            e, pr = c.get("evidence") or {}, c.get("paired") or {}
            pairs = pr.get("pairs") or {}
            cov = e.get("coverage")
            out.append(f"| {cat} | {e.get('admitted', '')} | "
                       f"{'' if cov is None else f'{100 * cov:.0f}%'} | "
                       f"{'alarm' if (c.get('cusum') or {}).get('drift') else 'quiet'} | "
                       f"{pairs.get('base_only', '')} / {pairs.get('tuned_only', '')} | "
                       f"{'**yes**' if pr.get('drift') else 'no' if pr else ''} |")
    dets = ev.get("detectors") or {}
    if dets:
        out += ["", "### Detector states", "", "```json",
                json.dumps(dets, indent=1, sort_keys=True)[:3000], "```"]
    transcripts = ev.get("transcripts") or []
    if transcripts:
        out += ["", "### Example transcripts (redacted)", ""]
        for tr in transcripts:
            out.append(f"- **prompt**: {tr.get('prompt', '')}")
            out.append(f"  **response**: {tr.get('response', '')} ({tr.get('verdict') or 'n/a'})")
    links = ev.get("links") or {}
    if links:
        out += ["", "### Links", ""] + [f"- [{k}]({v})" for k, v in links.items()]
    out += disposition_markdown(payload)
    out += ["", marker(t), event_marker(payload.get("idempotency_key", ""))]
    return "\n".join(out) + "\n"


def disposition_markdown(closed_event: Mapping[str, Any]) -> list[str]:
    """Lines for the Markdown of a ``closed`` event (issue comment, directory sink).

    >>> disposition_markdown({"disposition": {"reference": "DR-2026-014", "decision": "approved",
    ...                                       "owner": "gov", "conditions": []}})
    ['', '### Disposition', '', '- **DR-2026-014**: approved (owner gov)']
    """
    if "disposition" not in closed_event:
        return []
    d = closed_event.get("disposition")
    out = ["", "### Disposition", ""]
    if not d:
        out.append("- none recorded: the deployment stays unreviewed"
                   + (" (record one with `tunewatch disposition record`)"
                      if closed_event.get("disposition_offered") else ""))
        return out
    out.append(f"- **{d['reference']}**: {d['decision']} (owner {d['owner']})")
    out += [f"- condition: {c}" for c in d.get("conditions") or []]
    out += [f"- evidence: [{e['title']}]({e['url']})" for e in d.get("evidence") or []]
    out += [f"- warning: {w}" for w in closed_event.get("disposition_warnings") or []]
    return out


def disposition_line(closed_event: Mapping[str, Any]) -> str | None:
    """One line for chat sinks (Slack), or None when the event carries no disposition field."""
    if "disposition" not in closed_event:
        return None
    d = closed_event.get("disposition")
    if not d:
        return "disposition: none recorded (deployment stays unreviewed)"
    return f"disposition: {d['reference']} {d['decision']} (owner {d['owner']})"
