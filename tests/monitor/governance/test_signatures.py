"""monitor/governance/signatures.py: minisign signatures, against the real minisign tool."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.governance.signatures import (
    SignatureError,
    parse_public_key,
    parse_signature,
    verify_prehashed,
)
from tests.monitor.governance.helpers import minisign_pair, minisign_signature

DATA = b"GGUF" + bytes(range(256)) * 64


def b2(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=64).digest()


def test_a_prehashed_signature_verifies_and_returns_the_trusted_comment() -> None:
    key, kid, pub = minisign_pair()
    sig = parse_signature(minisign_signature(key, kid, b2(DATA), "timestamp:1\tfile:tw.gguf"))
    assert verify_prehashed(sig, parse_public_key(pub), b2(DATA)) == "timestamp:1\tfile:tw.gguf"


@pytest.mark.parametrize(("case", "says"), [
    ("tampered file", "signature does not match the file"),
    ("other key", "not by the configured key"),
    ("altered comment", "trusted comment was altered"),
    ("legacy", "re-sign without -l"),
])
def test_failures_say_why(case: str, says: str) -> None:
    key, kid, pub = minisign_pair(1)
    other, other_id, _ = minisign_pair(2)
    digest = b2(DATA)
    if case == "tampered file":
        text, digest = minisign_signature(key, kid, b2(DATA), "c"), b2(DATA + b"x")
    elif case == "other key":
        text = minisign_signature(other, other_id, digest, "c")
    elif case == "altered comment":
        text = minisign_signature(key, kid, digest, "file:a").replace("file:a", "file:b")
    else:
        text = minisign_signature(key, kid, DATA, "c", algorithm=b"Ed")
    with pytest.raises(SignatureError, match=says):
        verify_prehashed(parse_signature(text), parse_public_key(pub), digest)


@pytest.mark.parametrize(("text", "says"), [
    ("hello", "not a minisign signature file"),
    ("untrusted comment: x\n!!!\ntrusted comment: y\nAAAA\n", "not base64"),
    ("untrusted comment: x\nAAAA\ntrusted comment: y\nAAAA\n", "not 74 bytes"),
])
def test_malformed_signature_files(text: str, says: str) -> None:
    with pytest.raises(SignatureError, match=says):
        parse_signature(text)


def test_malformed_public_keys() -> None:
    with pytest.raises(SignatureError, match="one base64 line"):
        parse_public_key("untrusted comment: x\nAAAA\nBBBB\n")
    with pytest.raises(SignatureError, match="42 bytes"):
        parse_public_key("AAAA")


def _minisign() -> str:
    path = shutil.which("minisign")
    if path is None:
        pytest.skip("minisign not installed (Debian package minisign)")
    return path


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=30)


def test_signatures_made_by_the_minisign_tool(tmp_path: Path) -> None:
    """The real tool's key and signature files, prehashed (default) and legacy (-l)."""
    tool = _minisign()
    pub, sec, f = tmp_path / "k.pub", tmp_path / "k.sec", tmp_path / "tw-safe.gguf"
    f.write_bytes(DATA)
    _run(tool, "-G", "-W", "-p", pub, "-s", sec)
    _run(tool, "-S", "-s", sec, "-m", f, "-t", "file:tw-safe.gguf")
    key = parse_public_key(pub.read_text())
    # minisign prints the same id, as %X (no leading zeros: 1 key in 16 starts with a 0 nibble)
    printed = pub.read_text().splitlines()[0].split()[-1]
    assert int(printed, 16) == int(key.key_id_hex, 16) and len(key.key_id_hex) == 16
    sig = parse_signature((tmp_path / "tw-safe.gguf.minisig").read_text())
    assert verify_prehashed(sig, key, b2(DATA)) == "file:tw-safe.gguf"
    with pytest.raises(SignatureError, match="does not match"):
        verify_prehashed(sig, key, b2(DATA[:-1]))
    _run(tool, "-S", "-l", "-s", sec, "-m", f, "-x", tmp_path / "legacy.minisig")
    with pytest.raises(SignatureError, match="-l"):
        verify_prehashed(parse_signature((tmp_path / "legacy.minisig").read_text()), key,
                         b2(DATA))
