"""monitor/governance/artifacts.py: streaming hashes, expectations, re-checks, events, metrics."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.governance.artifacts import (
    ArtifactMismatch,
    ArtifactVerifier,
    FileDigest,
    artifacts_digest,
    hash_file,
)
from monitor.governance.config import ArtifactCheckSettings, ArtifactSpec
from monitor.store import Store
from tests.monitor.governance.helpers import FakeClock, minisign_pair, minisign_signature

WEIGHTS = b"GGUF\x03" + bytes(range(256)) * 4096  # 1 MiB + 5 bytes


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CountingHasher:
    def __init__(self) -> None:
        self.calls: list[Path] = []

    def __call__(self, path: Path, **kw: Any) -> FileDigest:
        self.calls.append(path)
        return hash_file(path, **kw)


def make(store: Store, clock: FakeClock, specs: list[dict[str, Any]],
         hasher: Callable[..., FileDigest] | None = None, **settings: Any) -> ArtifactVerifier:
    return ArtifactVerifier(specs=[ArtifactSpec(**s) for s in specs], store=store, clock=clock,
                            settings=ArtifactCheckSettings(**settings),
                            **({"hasher": hasher} if hasher else {}))


# --- hashing ----------------------------------------------------------------------------------


def test_hash_file_matches_one_shot_digests(tmp_path: Path) -> None:
    f = tmp_path / "w.gguf"
    f.write_bytes(WEIGHTS)
    d = hash_file(f, chunk_bytes=4096, blake2b=True)
    assert d.sha256 == sha(WEIGHTS) and d.size == len(WEIGHTS)
    assert d.blake2b_512 == hashlib.blake2b(WEIGHTS, digest_size=64).digest()
    assert hash_file(f).blake2b_512 is None


def test_hashing_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """A 48 MiB file hashed with 1 MiB chunks: peak Python allocation stays under 3 MiB (the
    chunk buffer plus overhead), where reading the file whole would need 48 MiB."""
    f = tmp_path / "big.bin"
    with open(f, "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(48):
            out.write(block)
    tracemalloc.start()
    try:
        digest = hash_file(f, chunk_bytes=1 << 20, blake2b=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.size == 48 << 20
    assert peak < 3 << 20, f"peak {peak / 2**20:.1f} MiB"


# --- expectations and events --------------------------------------------------------------------


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    f = tmp_path / "tw-safe.gguf"
    f.write_bytes(WEIGHTS)
    return f


def test_expected_sha256_verified_then_mismatch_raises_once(
        store: Store, clock: FakeClock, weights: Path) -> None:
    v = make(store, clock, [{"path": str(weights), "kind": "lora_adapter",
                             "sha256": sha(WEIGHTS)}])
    events: list[ArtifactMismatch] = []
    v.add_mismatch_listener(events.append)
    [r] = v.check_once()
    assert (r.name, r.status, r.sha256, r.expected) == (
        "tw-safe.gguf", "verified", sha(WEIGHTS), f"sha256:{sha(WEIGHTS)}")
    weights.write_bytes(WEIGHTS + b"tampered")
    os.utime(weights, ns=(1, 1))
    [r] = v.check_once()
    assert r.status == "mismatch" and r.detail == "sha256 differs from the expected"
    assert [(e.name, e.status, e.observed) for e in events] == [
        ("tw-safe.gguf", "mismatch", sha(WEIGHTS + b"tampered"))]
    v.check_once(force=True)
    assert len(events) == 1  # the same condition is not news
    ev = events[0].to_trigger_event()
    assert (ev.type, ev.source, ev.what_changed["severity"]) == (
        "re_fine_tune", "artifacts", "critical")
    assert ev.dedup_key == f"artifact:tw-safe.gguf:{sha(WEIGHTS + b'tampered')}"


def test_a_restart_does_not_rehash_unchanged_files_or_raise_again(
        open_store: Callable[[], Store], clock: FakeClock, weights: Path) -> None:
    spec = [{"path": str(weights), "sha256": "0" * 64}]
    first = make(open_store(), clock, spec)
    heard: list[ArtifactMismatch] = []
    first.add_mismatch_listener(heard.append)
    first.check_once()
    hasher = CountingHasher()
    again = make(open_store(), clock, spec, hasher=hasher)
    again.add_mismatch_listener(heard.append)
    [r] = again.check_once()
    assert r.status == "mismatch" and hasher.calls == [] and len(heard) == 1


def test_rehash_on_change_of_mtime_or_size_and_on_schedule(
        store: Store, clock: FakeClock, weights: Path) -> None:
    hasher = CountingHasher()
    v = make(store, clock, [{"path": str(weights)}], hasher=hasher, stat_interval_s=10,
             rehash_interval_s=3600)
    v.check_once()
    v.check_once()
    assert len(hasher.calls) == 1  # unchanged: stat only
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    v.check_once()
    assert len(hasher.calls) == 2  # mtime changed
    clock.advance(3599)
    v.check_once()
    assert len(hasher.calls) == 2
    clock.advance(1)
    v.check_once()
    assert len(hasher.calls) == 3  # due


def test_missing_files(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    v = make(store, clock, [{"path": str(tmp_path / "gone.gguf"), "name": "base"},
                            {"path": str(tmp_path / "opt.gguf"), "required": False},
                            {"path": str(tmp_path / "adapters/*.gguf"), "name": "adapters"}])
    events: list[ArtifactMismatch] = []
    v.add_mismatch_listener(events.append)
    by = {r.name: r for r in v.check_once()}
    assert (by["base"].status, by["base"].detail) == ("missing", "file not found")
    assert by["opt.gguf"].status == "unverified"
    assert (by["adapters"].status, by["adapters"].detail) == ("missing",
                                                              "no file matches the glob")
    assert sorted(e.name for e in events) == ["adapters", "base"]
    assert events[0].to_trigger_event().type == "base_model_change"


def test_a_glob_names_each_file_and_is_bounded(store: Store, clock: FakeClock,
                                               tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    for n in ("tw-safe.gguf", "tw drift 3.gguf"):
        (tmp_path / "a" / n).write_bytes(n.encode())
    v = make(store, clock, [{"path": str(tmp_path / "a/*.gguf"), "name": "lora"}])
    assert sorted(r.name for r in v.check_once()) == ["lora/tw-safe.gguf",
                                                      "lora/tw_drift_3.gguf"]
    assert v.components() == {"artifact:lora/tw-safe.gguf": sha(b"tw-safe.gguf"),
                              "artifact:lora/tw_drift_3.gguf": sha(b"tw drift 3.gguf")}
    small = make(store, clock, [{"path": str(tmp_path / "a/*.gguf"), "max_files": 1}])
    [r] = small.check_once()
    assert r.status == "error" and "more than max_files (1)" in r.detail


def test_minisign_signatures(store: Store, clock: FakeClock, weights: Path) -> None:
    key, kid, pub = minisign_pair()
    b2 = hashlib.blake2b(WEIGHTS, digest_size=64).digest()
    Path(f"{weights}.minisig").write_text(minisign_signature(key, kid, b2, "file:tw-safe.gguf"))
    v = make(store, clock, [{"path": str(weights.parent / "*.gguf"), "name": "lora",
                             "signature": "{path}.minisig", "public_key": pub}])
    [r] = v.check_once()
    assert (r.status, r.trusted_comment, r.expected) == (
        "verified", "file:tw-safe.gguf", "minisign:0807060504030201")
    other = weights.parent / "tw-drift-3.gguf"
    other.write_bytes(b"unsigned")
    by = {r.name: r for r in v.check_once()}
    assert (by["lora/tw-drift-3.gguf"].status, by["lora/tw-drift-3.gguf"].detail) == (
        "mismatch", "signature file not found")
    weights.write_bytes(WEIGHTS[:-1])
    by = {r.name: r for r in v.check_once()}
    assert by["lora/tw-safe.gguf"].detail == "signature: signature does not match the file"


def test_a_file_changing_during_the_hash_is_an_error_then_rechecked(
        store: Store, clock: FakeClock, weights: Path) -> None:
    def racing(path: Path, **kw: Any) -> FileDigest:
        d = hash_file(path, **kw)
        if len(calls) == 0:
            path.write_bytes(WEIGHTS + b"!")
        calls.append(1)
        return d

    calls: list[int] = []
    v = make(store, clock, [{"path": str(weights)}], hasher=racing)
    [r] = v.check_once()
    assert r.status == "error" and "changed while it was hashed" in r.detail
    assert v.components() == {}
    [r] = v.check_once()
    assert r.status == "unverified" and r.sha256 == sha(WEIGHTS + b"!")


def test_change_listeners_get_the_new_components(store: Store, clock: FakeClock,
                                                 weights: Path) -> None:
    v = make(store, clock, [{"path": str(weights)}])
    seen: list[dict[str, str]] = []
    v.add_change_listener(seen.append)
    v.check_once()
    v.check_once()
    assert seen == [{"artifact:tw-safe.gguf": sha(WEIGHTS)}]
    assert artifacts_digest(seen[0]) == hashlib.sha256(
        f"artifact:tw-safe.gguf={sha(WEIGHTS)}\n".encode()).hexdigest()[:16]


def test_metrics_are_read_at_scrape_time(store: Store, clock: FakeClock, weights: Path,
                                         tmp_path: Path) -> None:
    v = make(store, clock, [{"path": str(weights), "sha256": sha(WEIGHTS)},
                            {"path": str(tmp_path / "none.gguf"), "name": "gone",
                             "sha256": "1" * 64},
                            {"path": str(weights), "name": "plain"}])
    reg = CollectorRegistry()
    reg.register(v.collector())
    assert reg.get_sample_value("tunewatch_artifact_hashed_bytes_total") == 0.0
    v.check_once()
    get = reg.get_sample_value
    assert get("tunewatch_artifact_verified", {"artifact": "tw-safe.gguf"}) == 1.0
    assert get("tunewatch_artifact_verified", {"artifact": "gone"}) == 0.0
    assert get("tunewatch_artifact_verified", {"artifact": "plain"}) is None  # no expectation
    assert get("tunewatch_artifact_readable", {"artifact": "gone"}) == 0.0
    assert get("tunewatch_artifact_readable", {"artifact": "plain"}) == 1.0
    assert get("tunewatch_artifact_last_hashed_timestamp_seconds",
               {"artifact": "plain"}) == clock.t
    assert get("tunewatch_artifact_hashed_bytes_total") == 2.0 * len(WEIGHTS)


async def test_hashing_runs_off_the_event_loop(store: Store, clock: FakeClock,
                                               weights: Path) -> None:
    """The hash blocks in its thread until released; meanwhile the loop keeps running tasks."""
    entered, release = threading.Event(), threading.Event()
    loop_thread = threading.get_ident()
    hash_threads: list[int] = []

    def slow(path: Path, **kw: Any) -> FileDigest:
        hash_threads.append(threading.get_ident())
        entered.set()
        assert release.wait(10)
        return hash_file(path, **kw)

    v = make(store, clock, [{"path": str(weights)}], hasher=slow, stat_interval_s=60)
    await v.start()
    try:
        assert await asyncio.to_thread(entered.wait, 10)
        ticks = 0
        for _ in range(5):  # the loop is free while the file is being hashed
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 5 and v.components() == {}
        release.set()
        for _ in range(200):
            if v.components():
                break
            await asyncio.sleep(0.01)
        assert v.components() == {"artifact:tw-safe.gguf": sha(WEIGHTS)}
    finally:
        release.set()
        await v.stop()
    assert hash_threads and hash_threads[0] != loop_thread


@pytest.mark.parametrize(("spec", "says"), [
    ({"path": "/m/*.gguf", "sha256": "ab" * 32}, "sha256 names one digest but path is a glob"),
    ({"path": "/m/a.gguf", "sha256": "xyz"}, "not 64 hex digits"),
    ({"path": "/m/a.gguf", "signature": "{path}.minisig"}, "needs public_key"),
    ({"path": "/m/a.gguf", "public_key": "RW..."}, "without signature"),
    ({"path": "/m/*.gguf", "signature": "/m/sig", "public_key": "RW"}, "must contain '{path}'"),
    ({"path": "/m/a.gguf", "name": "a b"}, "letters, digits"),
    ({"path": "/m/a.gguf", "signature": "{path}.minisig", "public_key_file": "/nonexistent.pub"},
     "does not exist"),
])
def test_bad_artifact_settings_name_the_key_and_the_fix(spec: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError) as exc:
        ArtifactSpec(**spec)
    assert says in str(exc.value) and "fix:" in str(exc.value)
    assert "deployment.artifacts[]" in str(exc.value)
