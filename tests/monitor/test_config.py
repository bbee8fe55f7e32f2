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


# --- issue 13: Kubernetes service links, secrets files, bytes that are not UTF-8, env errors ---

# What Kubernetes injects into every pod of the namespace for Services named ``tunewatch`` and
# ``tunewatch-metrics`` (enableServiceLinks defaults to true).
SERVICE_LINKS = {
    "TUNEWATCH_SERVICE_HOST": "10.96.0.12",
    "TUNEWATCH_SERVICE_PORT": "8000",
    "TUNEWATCH_SERVICE_PORT_HTTP": "8000",
    "TUNEWATCH_PORT": "tcp://10.96.0.12:8000",
    "TUNEWATCH_PORT_8000_TCP": "tcp://10.96.0.12:8000",
    "TUNEWATCH_PORT_8000_TCP_PROTO": "tcp",
    "TUNEWATCH_PORT_8000_TCP_PORT": "8000",
    "TUNEWATCH_PORT_8000_TCP_ADDR": "10.96.0.12",
    "TUNEWATCH_METRICS_SERVICE_HOST": "None",
    "TUNEWATCH_METRICS_SERVICE_PORT_ADMIN": "9464",
    "TUNEWATCH_METRICS_PORT_9464_TCP_ADDR": "10.96.0.13",
}


def test_kubernetes_service_link_variables_are_ignored_and_listed() -> None:
    from monitor.config import ignored_env_names

    env = dict(SERVICE_LINKS, TUNEWATCH_SAMPLING__RATE="0.5")
    s = load_settings(None, environ=env)
    assert s.sampling.rate == 0.5
    assert ignored_env_names(env) == sorted(SERVICE_LINKS)


def test_names_shaped_like_ours_stay_strict() -> None:
    for name in ("TUNEWATCH_SAMPLING__RAET", "TUNEWATCH_CACHE_DIR", "TUNEWATCH_PROXY__PORT"):
        with pytest.raises(ConfigError) as err:
            load_settings(None, environ=dict(SERVICE_LINKS, **{name: "1"}))
        assert "unknown key" in str(err.value), name


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_admin_token_file_is_an_error(tmp_path: Path, content: str) -> None:
    token = tmp_path / "token"
    token.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={}, admin={"token_file": str(token)})
    problem = err.value.problems[0]
    assert problem.key == "admin.token_file" and "empty" in problem.message
    assert "authentication" in str(err.value)


def test_a_missing_or_unreadable_admin_token_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={}, admin={"token_file": str(tmp_path / "nope")})
    assert err.value.problems[0].key == "admin.token_file"
    assert "cannot read" in err.value.problems[0].message
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={}, admin={"token_file": str(tmp_path)})  # a directory
    assert err.value.problems[0].key == "admin.token_file"


def test_a_token_file_is_read_stripped(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    s = load_settings(None, environ={}, admin={"token_file": str(token)})
    assert s.admin.resolved_token() == "s3cret"


def test_yaml_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "latin1.yaml"
    cfg.write_bytes(b"deployment:\n  scope_version: caf\xe9\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert "UTF-8" in str(err.value) and "byte 32" in str(err.value)


def test_an_env_error_is_reported_against_the_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sampling:\n  queue_size: 0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={"TUNEWATCH_SAMPLING__RATE": "2"})
    by_key = {p.key: p for p in err.value.problems}
    assert by_key["sampling.rate"].origin == "TUNEWATCH_SAMPLING__RATE"
    assert by_key["sampling.queue_size"].origin == str(cfg)
    assert "TUNEWATCH_SAMPLING__RATE" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "c.yaml", environ={"TUNEWATCH_SAMPLING__RATE": "2"},
                      sampling={"queue_size": 10})
    assert err.value.source == "environment"


def test_an_empty_alertmanager_token_file_is_an_error(tmp_path: Path) -> None:
    token = tmp_path / "am-token"
    token.write_text("\n")
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={}, triggers={"alertmanager_token_file": str(token)})
    assert "triggers.alertmanager_token_file" in str(err.value) and "empty" in str(err.value)
