"""lab/suite.yaml is the generator's output and a valid probe suite of held-out items."""

from __future__ import annotations

from pathlib import Path

import yaml

from lab.data import build_examples
from lab.make_suite import OUT, build, render


def test_suite_is_fresh() -> None:
    assert OUT.read_text(encoding="utf-8") == render(build()), "run python -m lab.make_suite"


def test_suite_probes_are_held_out() -> None:
    split = {e.id: e.split for e in build_examples(0)}
    probes = yaml.safe_load(Path(OUT).read_text())["probes"]
    assert len(probes) == 60 and all(split[p["id"]] == "heldout" for p in probes)
