"""A headless Debian chromium driven over the Chrome DevTools protocol (tests only).

Opens a page, collects console errors, uncaught exceptions, log-domain errors (CSP violations,
failed loads) and every network request, evaluates a script in the page and takes a full-page
screenshot. The browser runs in its own session on loopback with a throwaway profile; :meth:`close`
ends its whole process group. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", "--window-size=1280,900", "--hide-scrollbars")


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    evaluated: Any = None
    screenshot: bytes = b""

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.exceptions + self.log_errors


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    def __init__(self, binary: str, *, timeout_s: float = 60.0) -> None:
        self._timeout = timeout_s
        self._profile = tempfile.mkdtemp(prefix="tw-chromium-")
        self._log = open(Path(self._profile) / "stderr.log", "wb")
        self._proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self._profile}",
                                       "about:blank"], stdout=subprocess.DEVNULL,
                                      stderr=self._log, start_new_session=True)
        self.port = self._wait_port()

    def _wait_port(self) -> int:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode}: "
                                   + self.stderr()[-2000:])
            if marker.is_file():
                lines = marker.read_text().splitlines()
                if lines and lines[0].isdigit():
                    return int(lines[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port in time")

    def stderr(self) -> str:
        self._log.flush()
        return (Path(self._profile) / "stderr.log").read_text(errors="replace")

    def _page_ws(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise RuntimeError("chromium has no page target")
        return str(pages[0]["webSocketDebuggerUrl"])

    async def open(self, url: str, *, expression: str, settle_s: float = 0.5,
                   max_height: int = 6000) -> PageReport:
        report = PageReport()
        async with websockets.connect(self._page_ws(), max_size=None) as ws:
            ids = iter(range(1, 1_000_000))
            pending: dict[int, asyncio.Future[Any]] = {}
            loaded = asyncio.Event()

            async def reader() -> None:
                async for raw in ws:
                    msg = json.loads(raw)
                    if "id" in msg and msg["id"] in pending:
                        pending.pop(msg["id"]).set_result(msg)
                        continue
                    method, params = msg.get("method"), msg.get("params", {})
                    if method == "Runtime.consoleAPICalled" and params.get("type") in (
                            "error", "assert"):
                        report.console_errors.append(" ".join(
                            str(a.get("value", a.get("description", ""))) for a in
                            params.get("args", [])))
                    elif method == "Runtime.exceptionThrown":
                        d = params.get("exceptionDetails", {})
                        report.exceptions.append(str(d.get("exception", {}).get(
                            "description", d.get("text", "exception"))))
                    elif method == "Log.entryAdded" and params.get("entry", {}).get(
                            "level") == "error":
                        report.log_errors.append(str(params["entry"].get("text")))
                    elif method == "Network.requestWillBeSent":
                        report.requests.append(str(params.get("request", {}).get("url")))
                    elif method == "Page.loadEventFired":
                        loaded.set()

            async def call(method: str, **params: Any) -> Any:
                i = next(ids)
                fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                pending[i] = fut
                await ws.send(json.dumps({"id": i, "method": method, "params": params}))
                msg = await asyncio.wait_for(fut, timeout=self._timeout)
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

            task = asyncio.ensure_future(reader())
            try:
                for domain in ("Runtime", "Log", "Page", "Network"):
                    await call(f"{domain}.enable")
                await call("Page.navigate", url=url)
                await asyncio.wait_for(loaded.wait(), timeout=self._timeout)
                await asyncio.sleep(settle_s)  # late console messages (none expected)
                result = await call("Runtime.evaluate", expression=expression,
                                    returnByValue=True)
                report.evaluated = result.get("result", {}).get("value")
                metrics = await call("Page.getLayoutMetrics")
                size = metrics.get("cssContentSize") or metrics["contentSize"]
                height = min(int(size["height"]), max_height)
                shot = await call("Page.captureScreenshot", format="png",
                                  captureBeyondViewport=True,
                                  clip={"x": 0, "y": 0, "width": 1280, "height": height,
                                        "scale": 1})
                report.screenshot = base64.b64decode(shot["data"])
            finally:
                task.cancel()
        return report

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)
