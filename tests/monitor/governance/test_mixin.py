"""monitor/governance/mixin.py: alert data in the house shape, promtool unit tests on both sides
of every ``for:``, and every panel query parses."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.governance.mixin import (
    GovernanceMixinConfig,
    governance_alerts,
    governance_panels,
    governance_rule_group,
)
from monitor.mixin.alerts import alerts
from monitor.mixin.config import MixinConfig
from monitor.mixin.dashboards import substitute_defaults
from monitor.mixin.grafana import layout
from monitor.mixin.render import rules_yaml

HERE = Path(__file__).parent
TESTS = HERE / "governance_alerts_test.yaml"
CONFIG = MixinConfig()


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    return path


def _write_rules(directory: Path, gov: GovernanceMixinConfig | None = None) -> Path:
    path = directory / "governance-rules.yaml"
    path.write_text(rules_yaml([governance_rule_group(CONFIG, gov)]), encoding="utf-8")
    return path


@pytest.mark.parametrize("alert", governance_alerts(CONFIG), ids=lambda a: a.name)
def test_alerts_follow_the_house_rules(alert) -> None:  # type: ignore[no-untyped-def]
    rule = alert.rule(CONFIG)
    assert rule["labels"] == {"severity": rule["labels"]["severity"], "team": "governance"}
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert re.fullmatch(r"[1-9][0-9]*[mh]", rule["for"])
    assert rule["annotations"]["runbook_url"].endswith("#" + alert.name.lower())
    assert "group_left (model) tunewatch:pod_model:info" in rule["expr"]


def test_names_do_not_clash_with_the_mixin() -> None:
    ours = {a.name for a in governance_alerts(CONFIG)}
    assert not ours & {a.name for a in alerts(CONFIG)}


def test_the_grace_period_is_data() -> None:
    rule = governance_alerts(CONFIG, GovernanceMixinConfig(unreviewed_for="4h"))[0].rule(CONFIG)
    assert rule["for"] == "4h" and "for 4h (the grace period)" in rule["annotations"][
        "description"]


def test_the_unit_tests_check_every_alert_on_both_sides_of_for() -> None:
    tested = set()
    for case in yaml.safe_load(TESTS.read_text())["tests"]:
        checks = case["alert_rule_test"]
        for name in {c["alertname"] for c in checks}:
            mine = [c for c in checks if c["alertname"] == name]
            if any(not c["exp_alerts"] for c in mine) and any(c["exp_alerts"] for c in mine):
                tested.add(name)
    assert tested == {a.name for a in governance_alerts(CONFIG)}


@pytest.mark.prometheus
def test_promtool_check_and_unit_tests_pass(tmp_path: Path) -> None:
    promtool = _promtool()
    rules = _write_rules(tmp_path)
    shutil.copy(TESTS, tmp_path / TESTS.name)
    check = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 4 rules found" in check.stdout
    run = subprocess.run([promtool, "test", "rules", TESTS.name], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.prometheus
def test_the_unit_tests_fail_when_the_grace_period_changes(tmp_path: Path) -> None:
    """The tests pin the ``for:``: a 2h grace period must break the 71m expectation."""
    promtool = _promtool()
    _write_rules(tmp_path, GovernanceMixinConfig(unreviewed_for="2h"))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    run = subprocess.run([promtool, "test", "rules", TESTS.name], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode != 0 and "TunewatchDeploymentUnreviewed" in run.stdout + run.stderr


@pytest.mark.prometheus
def test_every_panel_query_parses(tmp_path: Path) -> None:
    panels = layout(governance_panels(CONFIG))
    exprs = [substitute_defaults(t["expr"]) for p in panels for t in p.get("targets", [])]
    assert len(exprs) == 4
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": [
        {"record": f"check:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}, width=100_000))
    result = subprocess.run([_promtool(), "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
