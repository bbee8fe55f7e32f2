"""The four Tunewatch Grafana dashboards and the list of every panel query.

Dashboards: SRE overview, Safety, Drift and Governance (one module each, ``dash_*.py``); the shared
selectors and variables live in ``queries.py``.

>>> sorted(d["uid"] for d in all_dashboards(MixinConfig()).values())
['tunewatch-drift', 'tunewatch-governance', 'tunewatch-safety', 'tunewatch-sre-overview']
>>> substitute_defaults('rate(x{pod=~"$pod"}[$__rate_interval])')
'rate(x{pod=~".*"}[5m])'
"""

from __future__ import annotations

import re
from typing import Any

from monitor.mixin.config import MixinConfig
from monitor.mixin.dash_drift import drift
from monitor.mixin.dash_governance import governance
from monitor.mixin.dash_safety import safety
from monitor.mixin.dash_sre import sre_overview

# Values substituted for Grafana variables in :func:`all_panel_queries`.
VARIABLE_DEFAULTS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


def all_dashboards(config: MixinConfig) -> dict[str, dict[str, Any]]:
    """File name (under ``dashboards/``) -> dashboard JSON model."""
    return {
        "tunewatch-sre-overview.json": sre_overview(config),
        "tunewatch-safety.json": safety(config),
        "tunewatch-drift.json": drift(config),
        "tunewatch-governance.json": governance(config),
    }


def substitute_defaults(expr: str) -> str:
    """Replace Grafana variables with what "All" and default intervals would send."""
    for name, value in VARIABLE_DEFAULTS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?[a-z_]+\}?", ".*", expr)


def all_panel_queries(config: MixinConfig | None = None) -> list[tuple[str, str, str]]:
    """(dashboard title, panel title, PromQL with variables substituted) for every panel query."""
    out = []
    for board in all_dashboards(config or MixinConfig()).values():
        for panel in board["panels"]:
            for t in panel.get("targets", []):
                out.append((board["title"], panel["title"], substitute_defaults(t["expr"])))
    return out


def all_annotation_queries(config: MixinConfig | None = None) -> list[tuple[str, str, str]]:
    """(dashboard title, annotation name, PromQL) for every PromQL annotation."""
    out = []
    for board in all_dashboards(config or MixinConfig()).values():
        for a in board["annotations"]["list"]:
            if "expr" in a:
                out.append((board["title"], a["name"], substitute_defaults(a["expr"])))
    return out
