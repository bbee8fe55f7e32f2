"""`tunewatch triggers list|ack`, and sink configuration errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from monitor.triggers.cli import triggers_app
from monitor.triggers.config import TriggerSettings
from monitor.triggers.model import TriggerEvent


def test_list_and_ack(make_service, tmp_path: Path) -> None:
    svc = make_service(sinks=[{"type": "directory", "path": str(tmp_path / "d")}])
    svc.raise_trigger(TriggerEvent(type="drift", dedup_key="drift:prompt_embedding", title="t",
                                   source="drift"))
    svc.raise_trigger(TriggerEvent(type="re_fine_tune", dedup_key="fingerprint:model:m2",
                                   title="t", source="fingerprint"))
    db = str(tmp_path / "tw.db")
    runner = CliRunner(env={"COLUMNS": "200"})
    r = runner.invoke(triggers_app, ["list", "--db", db])
    assert r.exit_code == 0, r.output
    assert "TW-1" in r.output and "TW-2" in r.output and "re_fine_tune" in r.output
    r = runner.invoke(triggers_app, ["ack", "TW-2", "--db", db])
    assert r.exit_code == 0, r.output
    assert "acked TW-2" in r.output and "1 sink(s)" in r.output
    # the closed event is queued for the sink that carried the ticket
    rows = svc.outbox.store.query("SELECT sink, event FROM trigger_outbox WHERE trigger_id = 2 "
                                  "ORDER BY id")
    assert rows == [("directory", "opened"), ("directory", "closed")]
    r = runner.invoke(triggers_app, ["list", "--db", db, "--state", "acked"])
    assert "TW-2" in r.output and "TW-1" not in r.output
    assert runner.invoke(triggers_app, ["ack", "TW-2", "--db", db]).exit_code == 1
    assert runner.invoke(triggers_app, ["ack", "TW-99", "--db", db]).exit_code == 1
    assert runner.invoke(triggers_app, ["ack", "banana", "--db", db]).exit_code == 2
    assert runner.invoke(triggers_app, ["list", "--db", str(tmp_path / "none.db")]).exit_code == 2
    assert runner.invoke(triggers_app, ["list", "--db", db, "--state", "x"]).exit_code == 2


@pytest.mark.parametrize(
    ("sink", "key"),
    [
        ({"type": "pager"}, "sinks.0"),
        ({"type": "webhook"}, "sinks.0.webhook.url"),
        ({"type": "webhook", "url": "ftp://x"}, "triggers.sinks[].url"),
        ({"type": "webhook", "url": "http://x", "secret_file": "/nonexistent"},
         "triggers.sinks[].secret_file"),
        ({"type": "github", "repo": "nope", "token_file": "/etc/hostname"}, "triggers.sinks[].repo"),
        ({"type": "jira", "url": "https://j", "project": "G V", "token_file": "/etc/hostname"},
         "triggers.sinks[].project"),
        ({"type": "slack", "url": "http://x", "colour": "red"}, "sinks.0.slack.colour"),
    ],
)
def test_invalid_sink_config_names_the_key(sink: dict, key: str) -> None:
    with pytest.raises(ValidationError) as exc:
        TriggerSettings(sinks=[sink])
    text = str(exc.value)
    assert key in text, text


def test_other_config_errors() -> None:
    with pytest.raises(ValidationError, match="triggers.owners: unknown trigger type 'oops'"):
        TriggerSettings(owners={"oops": "x"})
    with pytest.raises(ValidationError, match="more than one sink named webhook"):
        TriggerSettings(sinks=[{"type": "webhook", "url": "http://a"},
                               {"type": "webhook", "url": "http://b"}])
    with pytest.raises(ValidationError, match="max_backoff_s is below base_backoff_s"):
        TriggerSettings(retry={"base_backoff_s": 10, "max_backoff_s": 1})


def test_config_check_fails_on_bad_sink(tmp_path: Path) -> None:
    from monitor.config import Settings

    if "triggers" not in Settings.model_fields:
        pytest.skip("root Settings has no `triggers` section yet (the lead wires TriggerSettings)")
    from monitor.cli import app

    cfg = tmp_path / "c.yaml"
    cfg.write_text("triggers:\n  sinks:\n    - type: webhook\n      url: ftp://nope\n")
    r = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert r.exit_code == 1
    assert "triggers.sinks" in r.output
