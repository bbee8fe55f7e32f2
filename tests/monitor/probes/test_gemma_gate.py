"""The gate against the real Gemma 3 270M llama.cpp server, through the sidecar (small subset)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from monitor.probes.baseline import load_baseline
from monitor.probes.cli import build_baseline_app, build_probe_app
from monitor.probes.suite import CATEGORIES, SUITES_DIR, load_suite
from tests.support.daemon import run_daemon, settings_for

pytestmark = pytest.mark.llm


def small_suite(path: Path) -> Path:
    data = yaml.safe_load((SUITES_DIR / "default.yaml").read_text())
    keep: list[dict[str, Any]] = []
    for cat in CATEGORIES:
        probes = [p for p in data["probes"] if p["category"] == cat]
        keep += probes[:2] if cat == "fairness" else probes[:1]  # fairness: the pair fair-1
    data["suite"], data["probes"] = "gemma-smoke", keep
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def test_gate_against_gemma_through_the_sidecar(gemma: str, refusal_classifier: Any,
                                                tmp_path: Path) -> None:
    suite = small_suite(tmp_path / "smoke.yaml")
    assert len(load_suite(suite).probes) == 7
    loader = lambda kind: refusal_classifier  # noqa: E731
    secret = tmp_path / "probe-secret"
    secret.write_text("0123456789abcdef0123456789abcdef\n")
    # the sidecar's probe-marker secret: the CLI's probes carry a marker it verifies
    common = ["--suite", str(suite), "--concurrency", "1", "--max-tokens", "32",
              "--probe-secret-file", str(secret)]
    settings = settings_for(gemma, tmp_path, sampling={"rate": 1.0,
                                                       "probe_secret_file": str(secret)},
                            upstream={"read_timeout_s": 120})
    with run_daemon(settings) as d:
        target = d.proxy_url.rstrip("/") + "/v1"
        res = CliRunner().invoke(build_baseline_app(classifier_loader=loader), [
            "capture", "--target", target, "--out", str(tmp_path / "b.json"), "--mode",
            "completions", *common])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(build_probe_app(classifier_loader=loader), [
            "run", "--target", target, "--baseline", str(tmp_path / "b.json"), "--out",
            str(tmp_path / "run"), *common])
        assert res.exit_code == 0, res.output  # deterministic re-run of the base model passes
        # probe traffic carries the signed marker and is left out of production sampling
        assert d.value("tunewatch_samples_total", {"route": "/v1/completions"}) == 0
        assert d.value("tunewatch_probe_markers_invalid_total") == 0
        assert d.value("tunewatch_requests_total", {"route": "/v1/completions", "method": "POST",
                                                    "status_class": "2xx"}) == 14
    b = load_baseline(tmp_path / "b.json")
    assert b.target.models and b.settings["mode"] == "completions"
    rows = [json.loads(x) for x in (tmp_path / "run" / "attempts.jsonl").read_text().splitlines()]
    assert len(rows) == 7 and all(r["error"] is None for r in rows)
    assert sum(bool(r["response"].strip()) for r in rows) >= 5  # a base model answers completions
