"""`tunewatch triggers ack TW-n [--disposition DR-…]`: the governance check the daemon applies,
on the database file (governance.ack_disposition from --config or the environment)."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from monitor.analysis.fingerprint import FingerprintTracker
from monitor.governance.disposition_store import DispositionStore
from monitor.metrics import Metrics
from monitor.store import Store
from monitor.triggers.cli import triggers_app
from monitor.triggers.model import TriggerEvent

EV = TriggerEvent(type="re_fine_tune", dedup_key="fingerprint:model:tw-drift-3",
                  title="Model re-fine-tuned", source="fingerprint",
                  what_changed={"component": "model", "before": "tw-safe", "after": "tw-drift-3"})


def _serving(db: Path) -> None:
    store = Store(db)
    tracker = FingerprintTracker(metrics=Metrics(CollectorRegistry()).deployment, store=store)
    tracker.observe("model", "tw-drift-3")
    store.close()


def test_require_mode_refuses_then_acks_with_the_disposition(make_service, tmp_path) -> None:
    svc = make_service(sinks=[{"type": "directory", "path": str(tmp_path / "d")}])
    ticket = svc.raise_trigger(EV)
    db = tmp_path / "tw.db"
    _serving(db)
    config = tmp_path / "tw.yaml"
    config.write_text(f"store: {{path: {db}}}\ngovernance: {{ack_disposition: require}}\n"
                      f"triggers: {{sinks: [{{type: directory, path: {tmp_path / 'd'}}}]}}\n")
    runner = CliRunner(env={"COLUMNS": "200"})
    r = runner.invoke(triggers_app, ["ack", ticket.ref, "--config", str(config)])
    assert r.exit_code == 1, r.output
    assert "needs a disposition" in r.output and "tunewatch disposition record" in r.output
    r = runner.invoke(triggers_app, ["ack", ticket.ref, "--config", str(config),
                                     "--disposition", "DR-2026-015"])
    assert r.exit_code == 1 and "no disposition 'DR-2026-015'" in r.output
    other = Store(db)
    DispositionStore(store=other).record({
        "reference": "DR-2026-015", "decision": "approved", "owner": "gov@example.com",
        "recorded_by": "bob", "fingerprint": {"model": "tw-drift-3"}, "tickets": [ticket.ref]})
    other.close()
    r = runner.invoke(triggers_app, ["ack", ticket.ref, "--config", str(config),
                                     "--disposition", "DR-2026-015"])
    assert r.exit_code == 0, r.output
    assert f"acked {ticket.ref}" in r.output
    assert "acknowledged with DR-2026-015: approved (owner gov@example.com)" in r.output
    [(payload,)] = svc.outbox.store.query(
        "SELECT payload FROM trigger_outbox WHERE event = 'closed'")
    closed = json.loads(payload)
    assert closed["disposition"]["reference"] == "DR-2026-015" and closed["acked_by"] == "cli"


def test_a_disposition_that_does_not_cover_the_serving_deployment(make_service, tmp_path) -> None:
    svc = make_service()
    ticket = svc.raise_trigger(EV)
    db = tmp_path / "tw.db"
    _serving(db)
    other = Store(db)
    DispositionStore(store=other).record({
        "reference": "DR-2026-016", "decision": "approved", "owner": "gov@example.com",
        "recorded_by": "bob", "fingerprint": {"model": "tw-safe"}})
    other.close()
    runner = CliRunner(env={"COLUMNS": "200", "TUNEWATCH_GOVERNANCE__ACK_DISPOSITION": "require"})
    r = runner.invoke(triggers_app, ["ack", ticket.ref, "--db", str(db),
                                     "--disposition", "DR-2026-016"])
    assert r.exit_code == 1 and "does not cover the serving deployment" in r.output
    # offer (the default): acked, with the warning in the output and the closed event
    r = CliRunner(env={"COLUMNS": "200"}).invoke(
        triggers_app, ["ack", ticket.ref, "--db", str(db), "--disposition", "DR-2026-016"])
    assert r.exit_code == 0, r.output
    assert "warning: DR-2026-016 does not cover the serving deployment" in r.output
