"""The evidence pack's HTML in a real headless browser (Debian's chromium, via DevTools).

It renders; every section is there, in order, with a visible box; the inline CSS applied despite a
CSP that forbids everything else; no console error, exception, CSP violation or network request
beyond the file itself; hostile strings show as text, not markup. A control page with a script
error, a CSP violation and an external image shows that the checks can fail.

Set TUNEWATCH_PACK_SCREENSHOT=docs/img/evidence-pack.png to refresh the screenshot in the docs.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.governance.pack import build_pack
from monitor.governance.pack_render import CSP, render_html
from monitor.store import Store
from tests.monitor.governance.browser import Chromium, PageReport, chromium_binary
from tests.monitor.governance.helpers import FakeClock
from tests.monitor.governance.pack_sample import XSS, record_disposition, sample_inputs, write_lab

pytestmark = pytest.mark.slow

SECTION_IDS = ["subject", "training-data-manifest", "training-run-record", "evaluation-results",
               "alignment-regression-analysis", "capability-overhang", "red-team-report",
               "tunewatch-measurements", "missing-pieces", "sign-off"]
INSPECT = """(() => ({
  title: document.title,
  sections: [...document.querySelectorAll('main > section')].map(s => ({
    id: s.id, height: s.getBoundingClientRect().height,
    heading: (s.querySelector('h2') || {}).textContent})),
  scripts: document.querySelectorAll('script').length,
  images: document.querySelectorAll('img').length,
  headerBackground: getComputedStyle(document.querySelector('header')).backgroundColor,
  flagged: document.querySelectorAll('tr.flag').length,
  missing: document.querySelectorAll('.missing').length,
  overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  text: document.body.innerText,
}))()"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium not found: apt-get install -y chromium (scripts/install.sh)")
    b = Chromium(binary)
    try:
        yield b
    finally:
        b.close()


def open_page(browser: Chromium, path: Path) -> PageReport:
    return asyncio.run(browser.open(path.resolve().as_uri(), expression=INSPECT))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_pack_renders_cleanly_with_every_section(browser: Chromium, store: Store,
                                                     clock: FakeClock, tmp_path: Path) -> None:
    inputs = sample_inputs(record_disposition(store, clock, hostile=False),
                           write_lab(tmp_path / "lab", hostile=False))
    doc = build_pack(inputs)
    page = tmp_path / "pack.html"
    page.write_text(render_html(doc), encoding="utf-8")
    report = open_page(browser, page)
    assert report.errors == [], report.errors
    assert report.requests == [page.resolve().as_uri()]  # nothing else was fetched
    info = report.evaluated
    assert info["title"] == doc.title
    assert [s["id"] for s in info["sections"]] == SECTION_IDS
    assert [s["heading"] for s in info["sections"]] == [s.title for s in doc.sections]
    assert all(s["height"] > 40 for s in info["sections"]), info["sections"]
    assert info["scripts"] == 0 and info["images"] == 0
    assert info["headerBackground"] == "rgb(29, 36, 51)"  # the inline stylesheet applied
    assert info["missing"] == len(doc.missing) == 3 and info["flagged"] >= 4
    assert info["overflowX"] <= 0  # long digests and paths wrap instead of widening the page
    width, height = png_size(report.screenshot)
    assert width == 1280 and height > 2000
    out = os.environ.get("TUNEWATCH_PACK_SCREENSHOT")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(report.screenshot)


def test_hostile_strings_show_as_text(browser: Chromium, store: Store, clock: FakeClock,
                                      tmp_path: Path) -> None:
    inputs = sample_inputs(record_disposition(store, clock), write_lab(tmp_path / "lab"))
    page = tmp_path / "hostile.html"
    page.write_text(render_html(build_pack(inputs)), encoding="utf-8")
    report = open_page(browser, page)
    assert report.errors == [] and report.requests == [page.resolve().as_uri()]
    info = report.evaluated
    assert info["scripts"] == 0 and info["images"] == 0
    assert XSS in info["text"]  # displayed literally


def test_the_checks_catch_errors_violations_and_external_loads(browser: Chromium,
                                                               tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}"></head><body>'
        "<header>x</header><main><section id='a'><h2>A</h2></section></main>"
        "<script>console.error('inline script ran')</script>"
        "<img src='http://127.0.0.1:9/x.png'></body></html>", encoding="utf-8")
    report = open_page(browser, page)
    assert any("Content Security Policy" in e for e in report.log_errors), report.errors
    assert "inline script ran" not in " ".join(report.console_errors)  # blocked by the CSP
    unsafe = tmp_path / "unsafe.html"
    unsafe.write_text("<!doctype html><html><body><header>x</header><main></main>"
                      "<script>console.error('boom'); undefinedCall();</script>"
                      "<img src='http://127.0.0.1:9/x.png'></body></html>", encoding="utf-8")
    report = open_page(browser, unsafe)
    assert "boom" in report.console_errors
    assert any("undefinedCall" in e for e in report.exceptions)
    assert "http://127.0.0.1:9/x.png" in report.requests
