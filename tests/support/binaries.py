"""External programs the tests drive (Debian's prometheus, promtool, alertmanager, amtool)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(*names: str, env: str | None = None) -> str:
    """The path of the first of ``names`` on PATH (or of ``$env`` when set); the test fails
    (not skips) without one: scripts/install.sh installs them."""
    if env is not None and os.environ.get(env):
        return os.environ[env]
    for name in names:
        path = shutil.which(name)
        if path is not None:
            return path
    pytest.fail(f"{' or '.join(names)} not found: install Debian's prometheus / "
                "prometheus-alertmanager (scripts/install.sh does)")
