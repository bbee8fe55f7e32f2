"""Detached minisign signatures (Ed25519), verified with the ``cryptography`` package.

Why minisign's format: it is the smallest widely used detached-signature format for files (one
public-key line, a four-line ``.minisig``), signers already have the ``minisign`` tool (Debian,
Homebrew, Windows builds) and its default *prehashed* mode signs the BLAKE2b-512 digest of the
file, so verification needs one streaming pass and bounded memory whatever the file size — a 20 GB
checkpoint included. Why ``cryptography``: it is the Python Cryptographic Authority's kept library,
with wheels for every platform we ship, and its Ed25519 comes from OpenSSL (PyNaCl would do the
same through libsodium, with one more native dependency and nothing gained here).

Legacy signatures (``minisign -l``, algorithm ``Ed``) sign the whole file rather than its digest;
they are refused with a message saying how to re-sign, since checking them would hold the file in
memory. The trusted comment is verified (the global signature) and returned: it usually says which
file was signed and when.

>>> key_text = "untrusted comment: minisign public key\\n" + public_key_line(b"\\x01" * 8, b"\\x02" * 32)
>>> parse_public_key(key_text).key_id_hex
'0101010101010101'
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREHASHED = b"ED"
LEGACY = b"Ed"
KEY_ALGORITHM = b"Ed"


class SignatureError(ValueError):
    """A signature or key is malformed, from another key, or does not verify."""


@dataclass(frozen=True)
class PublicKey:
    key_id: bytes  # 8 bytes, as stored
    key: bytes  # 32-byte Ed25519 public key

    @property
    def key_id_hex(self) -> str:
        """minisign's display form: the little-endian key number in upper-case hex."""
        return self.key_id[::-1].hex().upper()


@dataclass(frozen=True)
class Signature:
    algorithm: bytes
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes

    @property
    def key_id_hex(self) -> str:
        return self.key_id[::-1].hex().upper()


def _b64(line: str, what: str) -> bytes:
    try:
        return base64.b64decode(line.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what} is not base64") from None


def public_key_line(key_id: bytes, key: bytes) -> str:
    """The base64 line of a minisign public key (what ``minisign -G`` writes)."""
    return base64.b64encode(KEY_ALGORITHM + key_id + key).decode()


def parse_public_key(text: str) -> PublicKey:
    """A minisign public key: the ``.pub`` file's text, or just its base64 line."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if lines and lines[0].startswith("untrusted comment:"):
        lines = lines[1:]
    if len(lines) != 1:
        raise SignatureError("a minisign public key is one base64 line (optionally after an "
                             "'untrusted comment:' line)")
    raw = _b64(lines[0], "the public key")
    if len(raw) != 42 or raw[:2] != KEY_ALGORITHM:
        raise SignatureError("not a minisign Ed25519 public key (expected 42 bytes starting 'Ed')")
    return PublicKey(key_id=raw[2:10], key=raw[10:])


def parse_signature(text: str) -> Signature:
    """A ``.minisig`` file: untrusted comment, signature, trusted comment, global signature."""
    lines = [ln.rstrip("\r") for ln in text.strip("\n").split("\n")]
    if len(lines) < 4 or not lines[0].startswith("untrusted comment:") or not lines[
            2].startswith("trusted comment: "):
        raise SignatureError("not a minisign signature file (expected 4 lines: untrusted "
                             "comment, signature, trusted comment, global signature)")
    raw = _b64(lines[1], "the signature")
    if len(raw) != 74:
        raise SignatureError("the signature line is not 74 bytes (algorithm, key id, signature)")
    glob = _b64(lines[3], "the global signature")
    if len(glob) != 64:
        raise SignatureError("the global signature is not 64 bytes")
    return Signature(algorithm=raw[:2], key_id=raw[2:10], signature=raw[10:],
                     trusted_comment=lines[2][len("trusted comment: "):], global_signature=glob)


def verify_prehashed(sig: Signature, key: PublicKey, blake2b_512: bytes) -> str:
    """Check ``sig`` over a file whose BLAKE2b-512 digest is ``blake2b_512``; return the
    verified trusted comment. Raises :class:`SignatureError`."""
    if sig.algorithm == LEGACY:
        raise SignatureError("legacy minisign signature (signed with -l) covers the whole file, "
                             "not its digest; re-sign without -l: minisign -S -m FILE")
    if sig.algorithm != PREHASHED:
        raise SignatureError("unknown minisign signature algorithm")
    if sig.key_id != key.key_id:
        raise SignatureError(f"signed by key {sig.key_id_hex}, not by the configured key "
                             f"{key.key_id_hex}")
    if len(blake2b_512) != 64:
        raise SignatureError("expected a 64-byte BLAKE2b-512 digest")
    pk = Ed25519PublicKey.from_public_bytes(key.key)
    try:
        pk.verify(sig.signature, blake2b_512)
    except InvalidSignature:
        raise SignatureError("signature does not match the file") from None
    try:
        pk.verify(sig.global_signature, sig.signature + sig.trusted_comment.encode())
    except InvalidSignature:
        raise SignatureError("the trusted comment was altered (global signature invalid)") from None
    return sig.trusted_comment
