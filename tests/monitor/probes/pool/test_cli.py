"""``tunewatch pool validate|import|show`` and ``baseline capture --suite pool``: the importers
as users reach them (CLI and ``probes.pool.imports``). Sample files: tests/monitor/probes/pool/data
(our own rows in the public column layouts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from monitor.cli import _register_subcommands
from monitor.cli import app as root_app
from monitor.probes.baseline import load_baseline
from monitor.probes.cli import build_baseline_app
from monitor.probes.config import PoolSettings
from monitor.probes.pool.cli import build_pool_app
from monitor.probes.pool.loader import load_pool
from monitor.probes.yamlmarks import SourceErrors
from tests.monitor.probes.tw_probes_upstream import Policy, ScriptedUpstream

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def test_validate_reports_counts_and_every_bad_row() -> None:
    app = build_pool_app()
    ok = runner.invoke(app, ["validate", str(DATA / "harmbench_sample.csv"),
                             str(DATA / "sample.jsonl")])
    assert ok.exit_code == 0, ok.output
    assert "harmbench_sample.csv: 5 units" in ok.output and "ok:" in ok.output
    bad = runner.invoke(app, ["validate", str(DATA / "bad_rows.csv"), str(DATA / "bad.jsonl"),
                              str(DATA / "missing.csv")])
    assert bad.exit_code == 1
    out = " ".join(bad.output.split())
    assert "bad_rows.csv:" in out and "bad.jsonl:" in out and "missing.csv: cannot read" in out
    assert "Traceback" not in bad.output


def test_import_writes_a_pool_the_daemon_loads(tmp_path: Path) -> None:
    out = tmp_path / "team.jsonl"
    r = runner.invoke(build_pool_app(), ["import", str(DATA / "jailbreakbench_benign_sample.csv"),
                                         "--category", "benign", "--out", str(out)])
    assert r.exit_code == 0, r.output
    pool = load_pool(PoolSettings(generated=False, imports=[out]))
    assert {u.category for u in pool.units} == {"benign"} and len(pool.units) >= 2
    # probes.pool.imports takes the CSV directly too, with its category
    direct = load_pool(PoolSettings(generated=False, imports=[
        {"path": DATA / "jailbreakbench_benign_sample.csv", "category": "benign"}]))
    assert direct.hash == pool.hash
    # a bad import fails with FILE:LINE messages, all files at once
    try:
        load_pool(PoolSettings(imports=[DATA / "bad_rows.csv", DATA / "bad.jsonl"]))
    except SourceErrors as e:
        files = {err.file for err in e.errors}
        assert {str(DATA / "bad_rows.csv"), str(DATA / "bad.jsonl")} <= files
        assert all(err.line for err in e.errors if err.file.endswith(".csv"))
    else:
        raise AssertionError("bad imports were accepted")


def test_show_and_the_root_cli_mount(tmp_path: Path) -> None:
    cfg = tmp_path / "tw.yaml"
    cfg.write_text(yaml.safe_dump({"probes": {"pool": {
        "categories": ["disclosure"], "imports": [str(DATA / "generic_sample.csv")]}}}))
    if not any(g.name == "pool" for g in root_app.registered_groups):
        _register_subcommands()  # what main() does
    r = runner.invoke(root_app, ["pool", "show", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "disclosure 282" in r.output and "suite hash" in r.output


def test_baseline_capture_on_the_pool(tmp_path: Path, refusal_classifier: Any) -> None:
    """``--suite pool --config`` captures the baseline on the pool the daemon would build, so
    the scheduler accepts it (same suite hash)."""
    cfg = tmp_path / "tw.yaml"
    cfg.write_text(yaml.safe_dump({"probes": {"pool": {
        "generated": False, "imports": [str(DATA / "harmbench_sample.csv"),
                                        {"path": str(DATA / "jailbreakbench_benign_sample.csv"),
                                         "category": "benign"}]}}}))
    suite = load_pool(PoolSettings(**yaml.safe_load(cfg.read_text())["probes"]["pool"])).suite()
    up = ScriptedUpstream(suite, Policy()).start()
    try:
        app = build_baseline_app(classifier_loader=lambda kind: refusal_classifier)
        out = tmp_path / "baseline.json"
        r = runner.invoke(app, ["capture", "--target", up.base_url, "--out", str(out),
                                "--suite", "pool", "--config", str(cfg),
                                "--max-per-minute", "100000"])
    finally:
        up.stop()
    assert r.exit_code == 0, r.output
    b = load_baseline(out)
    assert b.suite.hash == suite.hash and set(b.categories) == {"disallowed", "benign"}
    assert json.loads(out.read_text())["suite"]["probes"] == len(suite.probes)
