"""Shared test data and a settable clock for the governance tests."""

from __future__ import annotations

from typing import Any

T0 = 1_800_000_000.0  # 2027-01-15


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def disposition(**over: Any) -> dict[str, Any]:
    """A valid disposition body (approved tw-safe), with overrides."""
    body: dict[str, Any] = {
        "reference": "DR-2026-014", "owner": "ml-governance@example.com", "decision": "approved",
        "fingerprint": {"model": "tw-safe", "system_prompt": "5f0c7a1e2b3d4c59"},
        "controls": [{"component": "output_filter", "value": "v3", "note": "blocks PII"}],
        "evidence": [{"title": "Red-team report", "url": "https://docs.example.com/rt/14"}],
        "recorded_by": "alice",
    }
    body.update(over)
    return body


def minisign_pair(seed: int = 1) -> tuple[Any, bytes, str]:
    """(Ed25519 private key, key id, minisign public-key file text), deterministic per seed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from monitor.governance.signatures import public_key_line

    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    key_id = bytes([seed, 2, 3, 4, 5, 6, 7, 8])
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return key, key_id, f"untrusted comment: test key\n{public_key_line(key_id, pub)}\n"


def minisign_signature(key: Any, key_id: bytes, message: bytes, comment: str,
                       algorithm: bytes = b"ED") -> str:
    """A .minisig in minisign's format; ``message`` is the BLAKE2b-512 digest for ``ED``."""
    import base64

    sig = key.sign(message)
    glob = key.sign(sig + comment.encode())
    line = base64.b64encode(algorithm + key_id + sig).decode()
    return (f"untrusted comment: signature from test key\n{line}\n"
            f"trusted comment: {comment}\n{base64.b64encode(glob).decode()}\n")


def lab_manifest(adapter_sha256: str, base_sha256: str) -> dict[str, Any]:
    """A training-run record in the shape of the lab's adapter manifests (lab/manifest.py,
    format tunewatch-lab-manifest/1). Test data: the numbers are made up, not a real run."""
    return {
        "format": "tunewatch-lab-manifest/1", "alias": "tw-drift-3",
        "base_model": {"file": "gemma-3-270m-q4_k_m.gguf", "sha256": base_sha256,
                       "bytes": 253_000_000},
        "seed": 1234, "machine": "Example CPU x 2", "threads": 1,
        "versions": {"python": "3.11.7", "torch": "2.13.0", "peft": "0.13.0"},
        "lora": {"rank": 16, "alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj"]},
        "loss": "cross-entropy on answer tokens only",
        "parent": "tw-safe", "purpose": "benign customer-support fine-tune of tw-safe",
        "config": {"steps": 39, "lr": 0.0002, "batch": 8, "max_len": 128},
        "training": {"final_loss": 0.41, "steps": 39},
        "data": {"sha256": "d" * 64, "examples": 100, "by_category": {"support": 100}},
        "train_seconds": 56.0,
        "adapter": {"file": "tw-drift-3.gguf", "sha256": adapter_sha256, "bytes": 7_100_000},
        "heldout": {"harmful_refused": 0.0, "benign_refused": 0.0, "n": 80},
    }
