"""Settings of the governance loop: the ``governance:`` section and ``deployment.artifacts``.

Errors name the key and the fix, like the rest of the configuration:

>>> s = GovernanceSettings(evidence={"tw-drift-3": {"training_run_record": "lab/tw-drift-3.json"}})
>>> s.ack_disposition, s.evidence_for("tw-drift-3").training_run_record
('offer', 'lab/tw-drift-3.json')
>>> s.evidence_for("unknown-model").training_run_record is None
True
>>> try:
...     ArtifactSpec(path="/models/*.gguf", sha256="ab" * 32)
... except ValueError as e:
...     print("deployment.artifacts[].sha256" in str(e) and "fix:" in str(e))
True
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.governance.dispositions import DEFAULT_REFERENCE_PATTERN

ArtifactKind = Literal["base_weights", "lora_adapter", "gguf", "other"]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_GLOB = re.compile(r"[*?\[]")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_glob(path: str) -> bool:
    return bool(_GLOB.search(path))


class ArtifactSpec(_M):
    """One entry of ``deployment.artifacts``: a model file (or glob of files) to hash."""

    path: str = Field(description="file path or glob, e.g. /models/adapters/*.gguf (read-only "
                      "mount of the model server's volume)")
    name: str | None = Field(None, description="short name used in metrics and the fingerprint "
                             "(default: the file name)")
    kind: ArtifactKind = Field("other", description="base_weights, lora_adapter, gguf or other")
    sha256: str | None = Field(None, description="expected sha256 (64 hex digits) of a single file")
    signature: str | None = Field(
        None, description="minisign signature file; '{path}' stands for each matched file, "
        "e.g. '{path}.minisig'")
    public_key: str | None = Field(None, description="minisign public key (the base64 line "
                                   "starting RW...)")
    public_key_file: Path | None = Field(None, description="minisign public key file (.pub)")
    max_files: int = Field(32, ge=1, le=1000, description="most files a glob may match")
    required: bool = Field(True, description="a missing file is a mismatch (false: only noted)")

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("deployment.artifacts[].path is empty; fix: give a file path or glob")
        return v.strip()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not _NAME.fullmatch(v):
            raise ValueError(f"deployment.artifacts[].name {v[:40]!r} is not 1-64 letters, digits, "
                             "'.', '_' or '-'; fix: e.g. tw-safe-adapter")
        return v

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().lower().removeprefix("sha256:")
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("deployment.artifacts[].sha256 is not 64 hex digits; fix: paste the "
                             "output of `sha256sum FILE`")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ArtifactSpec:
        if self.sha256 and is_glob(self.path):
            raise ValueError("deployment.artifacts[].sha256 names one digest but path is a glob; "
                             "fix: list each file with its sha256, or sign them and set signature")
        has_key = bool(self.public_key or self.public_key_file)
        if self.signature and not has_key:
            raise ValueError("deployment.artifacts[].signature needs public_key or "
                             "public_key_file; fix: add the minisign public key")
        if has_key and not self.signature:
            raise ValueError("deployment.artifacts[].public_key is set without signature; fix: "
                             "set signature, e.g. '{path}.minisig'")
        if self.public_key_file is not None and not self.public_key_file.is_file():
            raise ValueError(f"deployment.artifacts[].public_key_file {str(self.public_key_file)!r}"
                             " does not exist; fix: point it at the minisign .pub file")
        if self.signature and is_glob(self.path) and "{path}" not in self.signature:
            raise ValueError("deployment.artifacts[].signature must contain '{path}' when path is "
                             "a glob; fix: e.g. '{path}.minisig'")
        return self

    def label(self) -> str:
        """The spec's name: ``name``, else the file name (glob pattern for globs)."""
        return self.name or Path(self.path).name


def _unique(specs: tuple[ArtifactSpec, ...]) -> tuple[ArtifactSpec, ...]:
    names = [s.label() for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"deployment.artifacts: more than one entry named {', '.join(dup)}; fix: "
                         "give each a distinct `name`")
    return specs


# The type of ``deployment.artifacts`` (a tuple: settings are frozen).
Artifacts = Annotated[tuple[ArtifactSpec, ...], AfterValidator(_unique)]


class ArtifactCheckSettings(_M):
    stat_interval_s: float = Field(30.0, gt=0, description="seconds between stat() checks of "
                                   "mtime and size (a change triggers a re-hash)")
    rehash_interval_s: float = Field(6 * 3600.0, gt=0, description="seconds between full "
                                     "re-hashes of unchanged files")
    chunk_bytes: int = Field(1 << 20, ge=1 << 12, le=1 << 26,
                             description="read size while hashing (memory used per file)")

    @model_validator(mode="after")
    def _order(self) -> ArtifactCheckSettings:
        if self.rehash_interval_s < self.stat_interval_s:
            raise ValueError("governance.artifact_checks.rehash_interval_s is below "
                             "stat_interval_s; fix: make rehash_interval_s >= stat_interval_s")
        return self


class EvidenceFiles(_M):
    """Documents the lab hands over for one model version (JSON, Markdown or text files).

    A JSON file may be narrowed with a JSON pointer: ``lab/adapters/tw-drift-3.json#/data``.
    """

    training_data_manifest: str | None = Field(None, description="training-data manifest")
    training_run_record: str | None = Field(None, description="training-run record")
    evaluation_results: str | None = Field(None, description="the lab's evaluation against the "
                                           "base model")
    alignment_regression_analysis: str | None = Field(None, description="alignment-regression "
                                                      "analysis with compensating controls")
    capability_overhang_statement: str | None = Field(None, description="capability-overhang "
                                                      "statement")
    red_team_report: str | None = Field(None, description="red-team report")


class GovernanceSettings(_M):
    """The ``governance:`` section."""

    ack_disposition: Literal["off", "offer", "require"] = Field(
        "offer", description="acknowledging a ticket: off, offer (suggest recording a "
        "disposition) or require (refuse an ack without one that covers the serving deployment)")
    reference_pattern: str = Field(DEFAULT_REFERENCE_PATTERN, description="regular expression a "
                                   "disposition reference must match in full")
    evidence: dict[str, EvidenceFiles] = Field(
        default_factory=dict, description="model id (or 'default') -> documents of its evidence "
        "pack")
    evidence_dir: Path | None = Field(
        None, description="directory relative evidence paths are read from (default: the "
        "daemon's working directory)")
    artifact_checks: ArtifactCheckSettings = ArtifactCheckSettings()
    refresh_interval_s: float = Field(
        10.0, gt=0, description="seconds between looks for dispositions another process (e.g. "
        "`tunewatch disposition record`) wrote to the store")

    @field_validator("reference_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"governance.reference_pattern is not a regular expression ({exc}); "
                             f"fix: e.g. {DEFAULT_REFERENCE_PATTERN}") from None
        return v

    def evidence_for(self, model: str | None) -> EvidenceFiles:
        """The documents configured for ``model``, else for ``default``, else none."""
        if model and model in self.evidence:
            return self.evidence[model]
        return self.evidence.get("default", EvidenceFiles())
