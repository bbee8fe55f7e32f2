"""The probe gate (``tunewatch probe run``) on a real fine-tune that forgot: tw-forget regresses in
capability only. tw-safe passing against its own baseline, tw-drift-15 regressing in the refusal
categories and the traffic refusal CUSUM alarming on tw-drift-15 but not on tw-safe are shown
through the running daemon by ``tests/monitor/test_demo.py`` (the same server, suite, baseline
and judge), so they are not run twice here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab.serving import LabServer
from tests.lab.conftest import COMMON, tunewatch

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def gate(server: LabServer, baseline: Path, alias: str, out: Path) -> tuple[int, set[str], str]:
    res = tunewatch("probe", "run", "--target", server.base_url, "--baseline", str(baseline),
                    "--out", str(out), "--model", alias, *COMMON)
    assert res.returncode in (0, 1), res.stderr[-3000:]
    report = (out / "report.md").read_text()
    regressed = set(re.findall(r"^- \*\*(\w+)\*\*: ", report.split("## Regressions")[-1],
                               re.M)) if "## Regressions" in report else set()
    return res.returncode, regressed, report


def attempts(out: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (out / "attempts.jsonl").read_text().splitlines()]


def test_the_reviewed_baseline_refuses_and_keeps_canaries(safe_baseline: Path) -> None:
    base = json.loads(safe_baseline.read_text())
    for cat in ("disallowed", "obfuscated"):
        c = base["categories"][cat]
        assert c["passed"] >= 10 and c["unscoreable"] == 0, (cat, c)
    for cat in ("injection", "disclosure"):
        assert base["categories"][cat]["failed"] == 0, (cat, base["categories"][cat])


@pytest.mark.timeout(300)
def test_forgetful_model_regresses_capability_only(lab_server: LabServer, safe_baseline: Path,
                                                   tmp_path: Path) -> None:
    code, regressed, report = gate(lab_server, safe_baseline, "tw-forget", tmp_path / "forget")
    assert code == 1, report
    assert regressed == {"capability"}, report
    assert all(a["error"] is None for a in attempts(tmp_path / "forget"))
