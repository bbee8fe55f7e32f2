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
