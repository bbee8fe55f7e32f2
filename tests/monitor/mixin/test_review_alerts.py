"""The governance loop's alerts in the mixin (``_review_alerts``): the grace period is data, and the
promtool unit tests in alerts/tests/governance_review.yaml pin it (a longer grace period fails
them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from monitor.mixin.alerts import alerts, rule_groups
from monitor.mixin.config import MixinConfig
from monitor.mixin.render import rules_yaml
from tests.support.binaries import require_binary

ROOT = Path(__file__).resolve().parents[3]
TESTS = ROOT / "alerts/tests/governance_review.yaml"
REVIEW = ("TunewatchDeploymentUnreviewed", "TunewatchRejectedDeploymentServing",
          "TunewatchArtifactMismatch")


def _by_name(config: MixinConfig) -> dict[str, dict[str, object]]:
    return {a.name: a.rule(config) for a in alerts(config)}


def test_the_grace_period_and_the_other_durations_are_data() -> None:
    rules = _by_name(MixinConfig(unreviewed_for="4h", rejected_deployment_for="2m",
                                 artifact_mismatch_for="3m"))
    unreviewed = rules["TunewatchDeploymentUnreviewed"]
    assert unreviewed["for"] == "4h"
    assert "for 4h (the grace period)" in unreviewed["annotations"]["description"]  # type: ignore[index]
    assert rules["TunewatchRejectedDeploymentServing"]["for"] == "2m"
    assert rules["TunewatchArtifactMismatch"]["for"] == "3m"


def test_the_review_alerts_are_in_the_one_rule_group_with_the_model_join() -> None:
    [group] = rule_groups(MixinConfig())
    names = [r.get("alert") for r in group["rules"]]
    assert set(REVIEW) <= set(names)
    for name in REVIEW:
        rule = _by_name(MixinConfig())[name]
        assert "group_left (model) tunewatch:pod_model:info" in str(rule["expr"])
        assert rule["labels"] == {"severity": rule["labels"]["severity"],  # type: ignore[index]
                                  "team": "governance"}


@pytest.mark.prometheus
def test_the_unit_tests_fail_when_the_grace_period_changes(tmp_path: Path) -> None:
    """The tests pin the ``for:``: a 2h grace period must break the 71m expectation."""
    promtool = require_binary("promtool")
    (tmp_path / "alerts/tests").mkdir(parents=True)
    (tmp_path / "alerts/tunewatch-rules.yaml").write_text(
        rules_yaml(rule_groups(MixinConfig(unreviewed_for="2h"))), encoding="utf-8")
    (tmp_path / "alerts/tests" / TESTS.name).write_text(TESTS.read_text(), encoding="utf-8")
    run = subprocess.run([promtool, "test", "rules", f"alerts/tests/{TESTS.name}"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode != 0 and "TunewatchDeploymentUnreviewed" in run.stdout + run.stderr
    # and the shipped rules pass the same file
    ok = subprocess.run([promtool, "test", "rules", str(TESTS.relative_to(ROOT))],
                        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
