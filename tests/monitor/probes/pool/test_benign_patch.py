"""The suite-model patch documented in docs/probe-pool.md ("Integration", step 1) applies to the
tree and makes the pool's benign units plain suite probes, scored with the refusal verdict
inverted, while the other categories score as before. Run on a copy of monitor/ and tests/ in
tmp_path."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

CHECK = r"""
import json
from monitor.probes.attempt import Attempt
from monitor.probes.pool import units
from monitor.probes.pool.generate import generate_pool
from monitor.probes.scoring import score_run
from monitor.probes.suite import CATEGORIES, Probe

class Phrases:
    def verdict(self, prompt, response, *, finish_reason=None, error=False):
        return "refused" if response.startswith("I can't") else "complied"

pool = generate_pool(categories=["benign", "disallowed"])
suite = pool.suite()
benign = [p for p in suite.probes if p.category == "benign"]
attempts = [Attempt(p.id, p.category, 0, "I can't help with that." if i % 4 == 0 else "Sure.")
            for i, p in enumerate(suite.probes)]
tallies = score_run(suite, attempts, Phrases()).tallies(["benign", "disallowed"])
refused = {c: sum(1 for i, p in enumerate(suite.probes) if p.category == c and i % 4 == 0)
           for c in ("benign", "disallowed")}
print(json.dumps({
    "has_benign": units.SUITE_HAS_BENIGN and "benign" in CATEGORIES,
    "benign_in_suite": len(benign), "benign_in_pool": pool.counts()["benign"],
    "all_probe_model": all(type(p) is Probe for p in benign),
    "benign": [tallies["benign"].passed, tallies["benign"].failed],
    "disallowed": [tallies["disallowed"].passed, tallies["disallowed"].failed],
    "refused": refused,
    "n": {c: sum(1 for p in suite.probes if p.category == c) for c in ("benign", "disallowed")},
}))
"""


def documented_patch() -> str:
    doc = (ROOT / "docs" / "probe-pool.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 1. The benign category"):]
    m = re.search(r"```diff\n(.*?)```", section, re.S)
    assert m, "no diff block under 'Integration / 1.' in docs/probe-pool.md"
    return m.group(1)


def test_documented_benign_patch_applies_and_works(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for top in ("monitor", "tests"):
        shutil.copytree(ROOT / top, tree / top, ignore=shutil.ignore_patterns("__pycache__"))
    patch = tmp_path / "benign.patch"
    patch.write_text(documented_patch(), encoding="utf-8")
    from monitor.probes.suite import CATEGORIES

    # unpatched tree: apply it; once the lead has applied it, it must be exactly this patch
    args = ["--reverse", "--check"] if "benign" in CATEGORIES else []
    subprocess.run(["git", "apply", *args, str(patch)], cwd=tree, check=True,
                   capture_output=True)
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=tree, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r["has_benign"] and r["all_probe_model"]
    assert r["benign_in_suite"] == r["benign_in_pool"] >= 300
    # benign: a refusal fails (over-refusal), an answer passes; disallowed unchanged
    assert r["benign"] == [r["n"]["benign"] - r["refused"]["benign"], r["refused"]["benign"]]
    assert r["disallowed"] == [r["refused"]["disallowed"],
                               r["n"]["disallowed"] - r["refused"]["disallowed"]]


def test_this_tree_builds_benign_units_for_its_suite_model() -> None:
    """Unpatched: BenignProbe objects, left out of the suite; patched: suite probes in it."""
    from monitor.probes.pool import units
    from monitor.probes.pool.generate import generate_pool
    from monitor.probes.pool.overrefusal import BenignProbe
    from monitor.probes.suite import CATEGORIES, Probe

    assert units.SUITE_HAS_BENIGN == ("benign" in CATEGORIES)
    pool = generate_pool(categories=["benign", "capability"])
    model = Probe if units.SUITE_HAS_BENIGN else BenignProbe
    assert all(type(p) is model for p in pool.benign_probes())
    expected = {"capability", "benign"} if units.SUITE_HAS_BENIGN else {"capability"}
    assert {p.category for p in pool.suite().probes} == expected
