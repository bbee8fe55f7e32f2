"""``tunewatch disposition record|list|show`` on a real SQLite store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from monitor.analysis.fingerprint import FingerprintTracker
from monitor.governance.artifacts import ArtifactVerifier
from monitor.governance.cli import disposition_app
from monitor.governance.config import ArtifactSpec
from monitor.metrics import Metrics
from monitor.store import Store

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "tw.db"
    s = Store(path)
    FingerprintTracker(metrics=Metrics(CollectorRegistry()).deployment, store=s)  # as the daemon leaves it
    s.close()
    return path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(disposition_app, list(args), catch_exceptions=False,
                           env={"COLUMNS": "200"})
    return result.exit_code, result.output


def record(db: Path, *extra: str) -> tuple[int, str]:
    return run("record", "--db", str(db), "-r", "DR-2026-014", "--decision", "approved",
               "--owner", "ml-governance@example.com", "--recorded-by", "alice", *extra)


def test_record_list_show(db: Path) -> None:
    code, out = record(db, "--component", "model=tw-safe", "--component", "system_prompt=aa",
                       "--component", "system_prompt=bb", "--control", "output_filter=v3",
                       "--evidence", "Red-team report=https://docs.example.com/rt/14",
                       "--ticket", "TW-3")
    assert code == 0, out
    assert "recorded DR-2026-014 (record 1): approved" in out
    code, out = record(db, "--component", "model=tw-safe", "--component", "system_prompt=aa",
                       "--component", "system_prompt=bb", "--control", "output_filter=v3")
    assert code == 0 and "supersedes record 1" in out
    code, out = run("list", "--db", str(db))
    assert code == 0 and out.count("DR-2026-014") == 2 and "approved" in out
    code, out = run("list", "--db", str(db), "--heads", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [2] and rows[0]["supersedes"] == 1
    code, out = run("show", "DR-2026-014", "--db", str(db))
    assert code == 0
    assert "system_prompt: aa, bb" in out and "control: output_filter = v3" in out
    assert "evidence: Red-team report <https://docs.example.com/rt/14>" in out
    assert "history of this fingerprint: DR-2026-014 approved (record 1) -> DR-2026-014 " \
           "approved (record 2)" in out
    code, out = run("show", "1", "--db", str(db), "--json")
    assert json.loads(out)["records"][0]["tickets"] == ["TW-3"]


def test_record_the_current_fingerprint_including_artefacts(db: Path, tmp_path: Path) -> None:
    store = Store(db)
    tracker = FingerprintTracker(metrics=Metrics(CollectorRegistry()).deployment, store=store)
    tracker.observe("model", "tw-drift-3")
    tracker.observe("output_filter", "v3")
    weights = tmp_path / "tw-drift-3.gguf"
    weights.write_bytes(b"adapter")
    ArtifactVerifier(specs=[ArtifactSpec(path=str(weights))], store=store).check_once()
    store.close()
    code, out = record(db, "--current", "--json")
    assert code == 0, out
    fp = json.loads(out)["fingerprint"]
    assert fp["model"] == ["tw-drift-3"] and fp["output_filter"] == ["v3"]
    assert fp["artifact:tw-drift-3.gguf"] == [hashlib.sha256(b"adapter").hexdigest()]


@pytest.mark.parametrize(("args", "says"), [
    (("--component", "model=tw-safe", "--decision", "maybe"), "decision: Input should be"),
    (("--component", "model"), "--component expects KEY=VALUE"),
    ((), "give the fingerprint one way"),
    (("--component", "model=a", "--current"), "give the fingerprint one way"),
    (("--component", "model=a", "--control", "x=1", "--control", "x=2"),
     "each control component may appear once"),
])
def test_bad_input_exits_2_with_the_field_named(db: Path, args: tuple[str, ...],
                                                says: str) -> None:
    base = ["record", "--db", str(db), "-r", "DR-2026-014", "--owner", "o", "--recorded-by", "a"]
    if "--decision" not in args:
        base += ["--decision", "approved"]
    code, out = run(*base, *args)
    assert code == 2 and says in out and "Traceback" not in out


def test_missing_database_and_unknown_disposition(db: Path, tmp_path: Path) -> None:
    code, out = run("list", "--db", str(tmp_path / "nope.db"))
    assert code == 2 and "no database at" in out
    code, out = run("show", "DR-2026-999", "--db", str(db))
    assert code == 1 and "no disposition 'DR-2026-999'" in out
    code, out = run("list", "--db", str(db), "--decision", "maybe")
    assert code == 2 and "--decision must be one of" in out


def test_current_without_a_fingerprint_is_a_clear_error(db: Path) -> None:
    code, out = record(db, "--current")
    assert code == 2 and "has not recorded a fingerprint yet" in out


def test_current_binds_what_the_daemon_serves_with_its_adapters(db: Path, tmp_path: Path) -> None:
    """The serving fingerprint the daemon stored: the tracker's values, each artefact and each
    reported adapter, and not the tracker's one-value digests of them."""
    from monitor.governance.artifacts import artifacts_digest
    from monitor.governance.server_adapters import ServerAdapters

    store = Store(db)
    tracker = FingerprintTracker(metrics=Metrics(CollectorRegistry()).deployment, store=store)
    tracker.observe("model", "tw-safe")
    adapters = ServerAdapters(store=store)
    adapters.models({"object": "list", "data": [
        {"id": "tw-safe", "object": "model", "root": "/a/tw-safe", "parent": "gemma-3-270m"}]})
    tracker.observe("server_adapters", adapters.digest() or "")
    tracker.observe("artifacts", artifacts_digest({"artifact:x": "0" * 64}))
    store.close()
    code, out = record(db, "--current", "--json")
    assert code == 0, out
    fp = json.loads(out)["fingerprint"]
    assert fp == {"model": ["tw-safe"],
                  "adapter:tw-safe": ["parent=gemma-3-270m;source=/a/tw-safe"]}


def test_the_reference_pattern_comes_from_the_config(tmp_path: Path, db: Path) -> None:
    config = tmp_path / "tw.yaml"
    config.write_text(f"store: {{path: {db}}}\ngovernance: {{reference_pattern: 'GOV-[0-9]+'}}\n")
    base = ["record", "--config", str(config), "--decision", "approved", "--owner", "o",
            "--recorded-by", "a", "--component", "model=tw-safe"]
    code, out = run(*base, "-r", "DR-2026-014")
    assert code == 2 and "pattern GOV-[0-9]+" in out
    code, out = run(*base, "-r", "GOV-7")
    assert code == 0, out
