"""Plain-Python builders for Grafana dashboard JSON (schema 39): panels, variables, layout.

Panels are dicts in Grafana's own JSON model; :func:`layout` flows them left to right in a
24-column grid and numbers them, so ids are unique by construction:

>>> p = layout([row("Traffic"), stat("Requests", [target("sum(x)")], unit="reqps", width=6)])
>>> [(q["id"], q["type"], q["gridPos"]) for q in p]
[(1, 'row', {'h': 1, 'w': 24, 'x': 0, 'y': 0}), (2, 'stat', {'h': 4, 'w': 6, 'x': 0, 'y': 1})]
"""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

Panel = dict[str, Any]


def target(
    expr: str, legend: str = "", *, instant: bool = False, table: bool = False
) -> dict[str, Any]:
    """One PromQL query of a panel."""
    t: dict[str, Any] = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto"}
    if instant or table:
        t["instant"] = True
        t["range"] = False
    if table:
        t["format"] = "table"
    return t


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    """Absolute thresholds; the first step's value is ``None`` (the base colour)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


OK_ONLY = thresholds((None, "green"))


def _panel(
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    *,
    description: str,
    unit: str,
    width: int,
    height: int,
    steps: dict[str, Any] | None,
    custom: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    **defaults: Any,
) -> Panel:
    for ref, t in zip("ABCDEFGH", targets, strict=False):
        t["refId"] = ref
    field_defaults: dict[str, Any] = {"unit": unit, "thresholds": steps or OK_ONLY, **defaults}
    if custom:
        field_defaults["custom"] = custom
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": height, "w": width},
        "fieldConfig": {"defaults": field_defaults, "overrides": []},
        "options": options or {},
        "targets": targets,
    }


def timeseries(
    title: str,
    targets: list[dict[str, Any]],
    *,
    unit: str,
    description: str = "",
    steps: dict[str, Any] | None = None,
    width: int = 12,
    height: int = 8,
    stack: bool = False,
    bars: bool = False,
    **defaults: Any,
) -> Panel:
    """Time series; with ``steps`` the thresholds are drawn as dashed lines."""
    custom = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 30 if (stack or bars) else 10,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "dashed" if steps else "off"},
        "showPoints": "never",
    }
    options = {
        "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel(
        "timeseries",
        title,
        targets,
        description=description,
        unit=unit,
        width=width,
        height=height,
        steps=steps,
        custom=custom,
        options=options,
        **defaults,
    )


def stat(
    title: str,
    targets: list[dict[str, Any]],
    *,
    unit: str,
    description: str = "",
    steps: dict[str, Any] | None = None,
    width: int = 6,
    height: int = 4,
    **defaults: Any,
) -> Panel:
    options = {
        "colorMode": "background",
        "graphMode": "area",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    }
    return _panel(
        "stat",
        title,
        targets,
        description=description,
        unit=unit,
        width=width,
        height=height,
        steps=steps,
        options=options,
        **defaults,
    )


def bargauge(
    title: str,
    targets: list[dict[str, Any]],
    *,
    unit: str,
    description: str = "",
    steps: dict[str, Any] | None = None,
    width: int = 12,
    height: int = 8,
) -> Panel:
    options = {
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": True,
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    }
    return _panel(
        "bargauge",
        title,
        targets,
        description=description,
        unit=unit,
        width=width,
        height=height,
        steps=steps,
        options=options,
    )


def table(
    title: str,
    targets: list[dict[str, Any]],
    *,
    description: str = "",
    unit: str = "none",
    width: int = 12,
    height: int = 8,
    hide: tuple[str, ...] = ("Time",),
) -> Panel:
    p = _panel(
        "table",
        title,
        targets,
        description=description,
        unit=unit,
        width=width,
        height=height,
        steps=None,
        options={"showHeader": True},
    )
    p["transformations"] = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {name: True for name in hide}}},
    ]
    return p


def state_timeline(
    title: str,
    targets: list[dict[str, Any]],
    *,
    description: str = "",
    mapping: dict[str, tuple[str, str]],
    width: int = 12,
    height: int = 8,
) -> Panel:
    """Discrete states; ``mapping`` maps a value to (text, colour)."""
    mappings = [
        {
            "type": "value",
            "options": {
                value: {"text": text, "color": color, "index": i}
                for i, (value, (text, color)) in enumerate(mapping.items())
            },
        }
    ]
    return _panel(
        "state-timeline",
        title,
        targets,
        description=description,
        unit="none",
        width=width,
        height=height,
        steps=None,
        mappings=mappings,
        options={"showValue": "never", "mergeValues": True},
    )


def row(title: str) -> Panel:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "panels": [],
        "gridPos": {"h": 1, "w": 24},
    }


def layout(panels: list[Panel]) -> list[Panel]:
    """Assign ``gridPos`` x/y (left to right, wrapping at 24 columns) and ids 1, 2, ..."""
    x = y = row_height = 0
    out = []
    for i, panel in enumerate(panels, start=1):
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if panel["type"] == "row" or x + w > 24:
            y, x, row_height = y + row_height, 0, 0
        out.append({"id": i, **panel, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
        x, row_height = x + w, max(row_height, h)
        if panel["type"] == "row":
            y, x, row_height = y + h, 0, 0
    return out


def datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
    }


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    """Multi-value variable from ``label_values(...)``; "All" means the regex ``.*``."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "refresh": 2,
        "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "regex": "",
        "options": [],
    }


def annotation(name: str, expr: str, *, title: str, text: str, color: str) -> dict[str, Any]:
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "expr": expr,
        "iconColor": color,
        "step": "1m",
        "titleFormat": title,
        "textFormat": text,
        "useValueForTime": False,
    }


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    panels: list[Panel],
    variables: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
) -> dict[str, Any]:
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    return {
        "uid": uid,
        "title": title,
        "description": f"{description} (generated by monitor/mixin — do not edit)",
        "tags": ["tunewatch"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "links": [
            {
                "type": "dashboards",
                "tags": ["tunewatch"],
                "asDropdown": True,
                "title": "Tunewatch dashboards",
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {"list": [builtin, *annotations]},
        "templating": {"list": variables},
        "panels": layout(panels),
    }
