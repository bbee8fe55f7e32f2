"""Settings: sources and their precedence, the cache directory, the retention default."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings


def test_precedence_overrides_then_env_then_yaml(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sampling:\n  rate: 0.5\n  queue_size: 64\nstore:\n  retention_days: 3\n")
    s = load_settings(cfg, environ={"TUNEWATCH_SAMPLING__RATE": "0.25",
                                    "TUNEWATCH_SAMPLING__QUEUE_SIZE": "32"},
                      sampling={"queue_size": 16})
    assert (s.sampling.rate, s.sampling.queue_size, s.store.retention_days) == (0.25, 16, 3.0)


def test_cache_dir_from_config_env_or_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert load_settings(None, environ={}).analysis.resolved_cache_dir() == (
        tmp_path / "xdg" / "tunewatch")
    env = {"TUNEWATCH_ANALYSIS__CACHE_DIR": str(tmp_path / "baked")}
    assert load_settings(None, environ=env).analysis.resolved_cache_dir() == tmp_path / "baked"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert load_settings(None, environ={}).analysis.resolved_cache_dir() == (
        Path.home() / ".cache" / "tunewatch")


def test_unknown_env_key_is_an_error_that_names_it() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={"TUNEWATCH_CACHE_DIR": "/x"})
    assert "cache_dir" in str(err.value) and "unknown key" in str(err.value)


def test_device_accepts_torch_names_and_rejects_others() -> None:
    for ok in ("cpu", "cuda", "cuda:1", "auto"):
        assert load_settings(None, environ={}, analysis={"device": ok}).analysis.device == ok
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={"TUNEWATCH_ANALYSIS__DEVICE": "gpu"})
    assert "analysis.device" in str(err.value)


@pytest.mark.parametrize(("data", "key", "message", "fix"), [
    ({"deployment": {"artifacts": [{"path": "/m/*.gguf", "sha256": "ab" * 32}]}},
     "deployment.artifacts.0", "sha256 names one digest but path is a glob",
     "list each file with its sha256, or sign them and set signature"),
    ({"deployment": {"artifacts": [{"path": "/m/a.gguf", "sha256": "zz"}]}},
     "deployment.artifacts.0.sha256", "is not 64 hex digits", "paste the output of `sha256sum"),
    ({"deployment": {"artifacts": [{"path": "/m/a.gguf", "sha": "x"}]}},
     "deployment.artifacts.0.sha", "unknown key", "valid keys here: kind, max_files, name, path"),
    ({"deployment": {"artifacts": [{"path": "/m/a.gguf"}, {"path": "/n/a.gguf"}]}},
     "deployment.artifacts", "more than one entry named a.gguf", "give each a distinct `name`"),
    ({"deployment": {"model_parents": {"tw-safe": "tw-safe"}}},
     "deployment.model_parents", "is its own parent", "model id -> the model it was fine-tuned"),
    ({"governance": {"ack_disposition": "always"}}, "governance.ack_disposition",
     "Input should be 'off', 'offer' or 'require'", "offer (suggest recording a disposition)"),
    ({"governance": {"evidence": {"tw-drift-3": {"red_team": "x.md"}}}},
     "governance.evidence.tw-drift-3.red_team", "unknown key", "red_team_report"),
    ({"governance": {"artifact_checks": {"stat_interval_s": 60, "rehash_interval_s": 30}}},
     "governance.artifact_checks", "rehash_interval_s is below stat_interval_s",
     "make rehash_interval_s >= stat_interval_s"),
])
def test_governance_errors_name_the_key_and_the_fix(data: dict, key: str, message: str,
                                                    fix: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={}, **data)
    [problem] = err.value.problems
    assert problem.key == key and message in problem.message and fix in problem.fix
    assert "fix:" not in problem.message  # the fix is said once, in its place


def test_governance_settings_from_yaml_and_the_environment(tmp_path) -> None:
    weights = tmp_path / "tw-safe.gguf"
    weights.write_bytes(b"w")
    cfg = tmp_path / "tw.yaml"
    cfg.write_text(f"deployment:\n  artifacts:\n    - {{path: {weights}, kind: lora_adapter}}\n"
                   "  model_parents: {tw-drift-3: tw-safe}\n"
                   "governance:\n  evidence:\n    tw-drift-3: {training_run_record: m.json}\n")
    s = load_settings(cfg, environ={"TUNEWATCH_GOVERNANCE__ACK_DISPOSITION": "require"})
    assert s.governance.ack_disposition == "require"
    assert [a.label() for a in s.deployment.artifacts] == ["tw-safe.gguf"]
    assert s.deployment.model_parents == {"tw-drift-3": "tw-safe"}
    assert s.governance.evidence_for("tw-drift-3").training_run_record == "m.json"
