"""Drift references: ``tunewatch reference capture`` and the reference file format."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from monitor.analysis.references import ReferenceError, load_reference_file
from monitor.cli import _register_subcommands, app


def test_reference_capture_from_jsonl(tmp_path) -> None:
    _register_subcommands()
    src = tmp_path / "pairs.jsonl"
    src.write_text("\n".join(json.dumps({"prompt": f"q{i} mail x{i}@ex.com", "response": f"a{i}"})
                             for i in range(10)))
    out = tmp_path / "ref.jsonl"
    r = CliRunner().invoke(app, ["reference", "capture", "--from-jsonl", str(src), "--out",
                                 str(out), "--n", "5"])
    assert r.exit_code == 0, r.output
    ref = load_reference_file(out)
    assert ref.n == 5 and ref.id.startswith("ref-") and "[REDACTED:EMAIL]" in ref.prompts[0]
    out.write_text(out.read_text().replace("a9", "tampered"))
    with pytest.raises(ReferenceError, match="content hash"):
        load_reference_file(out)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "response": "y"}\nnot json\n')
    r = CliRunner().invoke(app, ["reference", "capture", "--from-jsonl", str(bad), "--out",
                                 str(out)])
    assert r.exit_code == 2 and "bad.jsonl:2" in r.output
