"""The training-run record of each adapter (``lab/adapters/<alias>.json``).

What a governance reviewer asks for: which base model file (sha256), which training data
(sha256 of the canonical JSON lines and counts per category), the full configuration and seed,
the parent adapter, training time and machine, library versions, the adapter file's sha256 and
size, and the held-out results measured on the real llama.cpp server (``heldout``, written by
``python -m lab.evaluate``; ``null`` until then).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from lab.data import Example, data_hash

FORMAT = "tunewatch-lab-manifest/1"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cpu_line() -> str:
    """The machine: CPU model name and logical core count (``/proc/cpuinfo``)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        names = [ln.split(":", 1)[1].strip() for ln in info.splitlines()
                 if ln.startswith("model name")]
        if names:
            return f"{names[0]} x {len(names)}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "peft", "gguf", "llama-cpp-python"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def data_record(examples: Iterable[Example]) -> dict[str, Any]:
    ex = list(examples)
    return {"sha256": data_hash(ex), "examples": len(ex),
            "by_category": dict(sorted(Counter(e.category for e in ex).items()))}


def manifest_path(adapter: Path) -> Path:
    return adapter.with_suffix(".json")


def write_manifest(adapter: Path, record: dict[str, Any]) -> Path:
    """Write (or replace) the manifest next to ``adapter``; keeps an existing ``heldout``
    block only if the adapter file is byte-identical to the one it was measured on."""
    path = manifest_path(adapter)
    record = {"format": FORMAT, **record, "adapter": {
        "file": adapter.name, "sha256": sha256_file(adapter), "bytes": adapter.stat().st_size}}
    old = load_manifest(path) if path.exists() else None
    keep = old is not None and old.get("adapter", {}).get("sha256") == record["adapter"]["sha256"]
    record["heldout"] = old.get("heldout") if keep and old else None
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load_manifest(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} manifest")
    return data


def set_heldout(path: Path, results: dict[str, Any]) -> None:
    data = load_manifest(path)
    data["heldout"] = results
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
