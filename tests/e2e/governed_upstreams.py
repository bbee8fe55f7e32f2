"""Upstreams for the governance end-to-end test (``test_governance_e2e.py``), one per variant.

A variant serves a reviewed model (``safe``) and then a fine-tune of it (``drift``), and says
which settings the daemon needs for it (:meth:`GovernedUpstream.sections`): the model files to
verify, the model lineage, the lab documents of the evidence pack. The test never looks inside a
variant beyond this protocol, so the lab variant (the real Gemma 3 270M with the lab's tw-safe /
tw-drift GGUF LoRAs in one llama.cpp server, ``lab/``) plugs in beside the scripted one.

Lineage (re-fine-tune or base-model change?): ``tw-safe`` and ``tw-drift-3`` share no base name,
so by name alone the change is a base-model change. The scripted variant reports each adapter's
``parent`` in ``GET /v1/models`` as vLLM does (the signal the daemon prefers); llama-cpp-python
reports none, so the lab variant states the lineage in ``deployment.model_parents``, read from the
lab's manifests (each names its parent: :func:`parents_from_manifests`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from tests.monitor.governance.helpers import lab_manifest
from tests.support.upstream import ScriptedUpstream, run_upstream

BASE = "gemma-3-270m"


class GovernedUpstream(Protocol):
    base_url: str  # OpenAI-compatible base URL without /v1
    safe: str  # the model approved first
    drift: str  # the fine-tune deployed next

    @property
    def alias(self) -> str:
        """The model name the client traffic asks for now."""
        ...

    def serve(self, alias: str) -> None:
        """Deploy ``alias``: from now on the traffic gets answers from it."""
        ...

    def sections(self) -> dict[str, dict[str, Any]]:
        """Settings sections the daemon needs for this upstream (merged into its config)."""
        ...


def parents_from_manifests(directory: Path, *, base: str = BASE) -> dict[str, str]:
    """``deployment.model_parents`` from the lab's adapter manifests (``<alias>.json``: its
    ``parent`` adapter, or the base model for a first-generation adapter)."""
    out = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "alias" in data:
            out[str(data["alias"])] = str(data.get("parent") or base)
    return out


class ScriptedLoraServer:
    """The scripted upstream (``tests/support/upstream.py``) posing as a vLLM server with two LoRA
    modules: ``/v1/models`` lists both with ``parent`` and ``root``; the answers carry the
    deployed model's name. The adapter files are small stand-ins, verified by sha256."""

    safe = "tw-safe"
    drift = "tw-drift-3"

    def __init__(self, up: ScriptedUpstream, base_url: str, files: Path) -> None:
        self._up = up
        self.base_url = base_url
        self._files = files
        files.mkdir(parents=True, exist_ok=True)
        self._adapters = {}
        for alias in (self.safe, self.drift):
            path = files / f"{alias}.gguf"
            path.write_bytes(f"GGUF stand-in for the {alias} LoRA".encode())
            self._adapters[alias] = path
        base = files / "gemma-3-270m-q4_k_m.gguf"
        base.write_bytes(b"GGUF stand-in for the base model")
        self._base = base
        self.serve(self.safe)

    @property
    def alias(self) -> str:
        return self._up.model

    def serve(self, alias: str) -> None:
        self._up.model = alias
        self._up.model_cards = [{"id": BASE, "object": "model", "root": "/models/gemma",
                                 "parent": None}] + [
            {"id": a, "object": "model", "root": str(p), "parent": BASE}
            for a, p in self._adapters.items()]

    def sections(self) -> dict[str, dict[str, Any]]:
        manifest = self._files / f"{self.drift}.json"
        manifest.write_text(json.dumps(lab_manifest(
            _sha256(self._adapters[self.drift]), _sha256(self._base))), encoding="utf-8")
        return {
            "deployment": {"artifacts": [
                {"path": str(self._base), "name": "base", "kind": "base_weights",
                 "sha256": _sha256(self._base)},
                *({"path": str(p), "kind": "lora_adapter", "sha256": _sha256(p)}
                  for p in self._adapters.values())]},
            "governance": {"evidence_dir": str(self._files), "evidence": {self.drift: {
                "training_data_manifest": f"{self.drift}.json#/data",
                "training_run_record": f"{self.drift}.json",
                "evaluation_results": f"{self.drift}.json#/heldout"}}},
        }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def scripted(tmp_path: Path) -> Iterator[GovernedUpstream]:
    with run_upstream() as (up, url):
        yield ScriptedLoraServer(up, url, tmp_path / "models")


class LabModels:
    """The real thing: the lab's tw-safe and tw-drift-15 GGUF LoRAs on Gemma 3 270M, two aliases
    of one llama.cpp server (``lab.serving``). Deploying an alias means the traffic asks for it
    (llama.cpp lists both in ``/v1/models`` and answers with the alias asked for); the files
    verified are the real base GGUF and adapters, the lineage and the pack's documents come from
    the lab's manifests."""

    safe = "tw-safe"
    drift = "tw-drift-15"

    def __init__(self, server: Any, adapters: dict[str, Path], base: Path) -> None:
        self._server = server
        self.base_url = server.url
        self._adapters = adapters
        self._base = base
        self._alias = self.safe

    @property
    def alias(self) -> str:
        return self._alias

    def serve(self, alias: str) -> None:
        self._alias = alias

    def sections(self) -> dict[str, dict[str, Any]]:
        from lab.serving import ADAPTERS_DIR

        manifests = {a: json.loads((ADAPTERS_DIR / f"{a}.json").read_text(encoding="utf-8"))
                     for a in (self.safe, self.drift)}
        return {
            "deployment": {
                "artifacts": [
                    {"path": str(self._base), "name": "base", "kind": "base_weights",
                     "sha256": manifests[self.drift]["base_model"]["sha256"]},
                    *({"path": str(self._adapters[a]), "kind": "lora_adapter",
                       "sha256": m["adapter"]["sha256"]} for a, m in manifests.items())],
                "model_parents": parents_from_manifests(ADAPTERS_DIR),
            },
            "governance": {"evidence_dir": str(ADAPTERS_DIR), "evidence": {self.drift: {
                "training_data_manifest": f"{self.drift}.json#/data",
                "training_run_record": f"{self.drift}.json",
                "evaluation_results": f"{self.drift}.json#/heldout"}}},
        }


@contextmanager
def lab(tmp_path: Path) -> Iterator[GovernedUpstream]:
    from lab.serving import base_gguf, lab_adapters, start_server

    have = lab_adapters()
    adapters = {a: have[a] for a in (LabModels.safe, LabModels.drift)}
    server = start_server(adapters, include_base=False, workdir=tmp_path / "lab-server")
    try:
        yield LabModels(server, adapters, base_gguf())
    finally:
        server.stop()
