"""Write (or, with ``--check``, verify) every file generated from the mixin.

    python -m monitor.mixin.generate           # regenerate
    python -m monitor.mixin.generate --check   # exit 1 and list stale files

>>> sorted(outputs(MixinConfig()))[:2]
['alerts/tunewatch-rules.yaml', 'dashboards/tunewatch-drift.json']
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.mixin.alerts import rule_groups
from monitor.mixin.config import MixinConfig
from monitor.mixin.dashboards import all_dashboards
from monitor.mixin.render import dashboard_json, helm_prometheusrule, rules_yaml

RULES_FILE = "alerts/tunewatch-rules.yaml"
HELM_TEMPLATE = "helm/tunewatch/templates/prometheusrule.yaml"
REPO_ROOT = Path(__file__).resolve().parents[2]


def outputs(config: MixinConfig) -> dict[str, str]:
    """Repository-relative path -> file content, for every generated file."""
    groups = rule_groups(config)
    files = {RULES_FILE: rules_yaml(groups), HELM_TEMPLATE: helm_prometheusrule(groups)}
    for name, board in all_dashboards(config).items():
        files[f"dashboards/{name}"] = dashboard_json(board)
    return files


def stale_files(root: Path, config: MixinConfig) -> list[str]:
    """Generated files that are missing under ``root`` or differ from what the mixin produces."""
    stale = []
    for rel, content in outputs(config).items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            stale.append(rel)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monitor.mixin.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="verify the files are up to date; write nothing"
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    config = MixinConfig()
    if args.check:
        stale = stale_files(args.root, config)
        for rel in stale:
            print(f"stale: {rel}", file=sys.stderr)
        if stale:
            print("run `python -m monitor.mixin.generate` and commit the result", file=sys.stderr)
            return 1
        print(f"{len(outputs(config))} generated files up to date")
        return 0
    for rel, content in outputs(config).items():
        path = args.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
