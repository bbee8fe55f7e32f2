"""Run Helm (helm-sdkpy) in a child process and talk to it over JSON lines.

``python -m tests.helm.helm_worker`` reads one request per line on stdin,
``{"op": "lint" | "render", "values": {...}, "chart": PATH, "release": NAME}``, and answers one
line on stdout: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": TYPE, "message": MSG}``.
:class:`HelmWorker` starts it with a private HOME and HELM_* directories and wraps the protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.helm.helm_engine import (
    CHART_DIR,
    LintMessage,
    Rendered,
    RenderError,
    lint,
    render,
)

REPO = Path(__file__).resolve().parents[2]


class HelmUnavailable(RuntimeError):
    """helm-sdkpy cannot be imported or loaded in the worker."""


class HelmWorker:
    """A child process holding Helm's Go library; use as a context manager."""

    def __init__(self, *, timeout_s: float = 60.0) -> None:
        self._timeout_s = timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="tw-helm-worker-")
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> HelmWorker:
        home = self._tmp.name
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        env.update(HOME=home, HELM_CACHE_HOME=f"{home}/cache", HELM_CONFIG_HOME=f"{home}/config",
                   HELM_DATA_HOME=f"{home}/data", KUBECACHEDIR=f"{home}/kube-cache",
                   PYTHONPATH=str(REPO))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helm.helm_worker"], cwd=REPO, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._tmp.cleanup()

    def _call(self, request: dict[str, Any]) -> Any:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("HelmWorker used outside its `with` block")
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"helm worker exited (code {proc.poll()}) on {request['op']}")
        reply = json.loads(line)
        if reply["ok"]:
            return reply["result"]
        if reply["error"] == "RenderError":
            raise RenderError(reply["message"])
        if reply["error"] == "ImportError":
            raise HelmUnavailable(reply["message"])
        raise RuntimeError(f"{reply['error']}: {reply['message']}")

    def lint(self, values: dict[str, Any] | None = None, *,
             chart: Path = CHART_DIR) -> list[LintMessage]:
        result = self._call({"op": "lint", "values": values or {}, "chart": str(chart)})
        return [LintMessage(**m) for m in result]

    def render(self, values: dict[str, Any] | None = None, *, chart: Path = CHART_DIR,
               release: str = "tunewatch", namespace: str = "llm") -> Rendered:
        result = self._call({"op": "render", "values": values or {}, "chart": str(chart),
                             "release": release, "namespace": namespace})
        return Rendered(documents=result["documents"], notes=result["notes"])


def _serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        try:
            chart = Path(request["chart"])
            if request["op"] == "lint":
                result: Any = [asdict(m) for m in lint(request["values"], chart=chart)]
            elif request["op"] == "render":
                r = render(request["values"], chart=chart, release=request["release"],
                           namespace=request["namespace"])
                result = {"documents": r.documents, "notes": r.notes}
            else:
                raise ValueError(f"unknown op {request['op']!r}")
            reply = {"ok": True, "result": result}
        except Exception as exc:  # reported to the parent, which raises it
            reply = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
