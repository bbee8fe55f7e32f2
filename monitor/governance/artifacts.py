"""Verified artefacts: the model files being served, hashed and checked against expectations.

``deployment.artifacts`` lists files or globs (base weights, LoRA adapters, GGUF files) on a volume
the sidecar mounts read-only. :class:`ArtifactVerifier` hashes each file by streaming it (one reused
buffer of ``chunk_bytes``: memory does not grow with the file), in a worker thread
(``asyncio.to_thread``) so the proxy's event loop never waits on disk. It ``stat()``s every file
each ``stat_interval_s`` and re-hashes when size, mtime or inode changed, and every
``rehash_interval_s`` regardless. An expected ``sha256`` or a minisign signature makes the result
``verified`` or ``mismatch``; a required file that is absent is ``missing``; both raise an
:class:`ArtifactMismatch`, a high-severity trigger source. Results persist in table
``artifact_state`` (owned here), so a restart re-hashes only what changed or is due, and does not
raise a mismatch it already raised.

The digests join the deployment fingerprint: :meth:`ArtifactVerifier.components` returns
``{"artifact:<name>": sha256}`` for a disposition to bind, and :func:`artifacts_digest` folds them
into one value for the fingerprint tracker's bounded ``artifacts`` component.

>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> f = pathlib.Path(tmp.name) / "tw-safe.gguf"
>>> _ = f.write_bytes(b"weights")
>>> hash_file(f).sha256[:16]   # the same as `sha256sum`
'9a129038d9a00aed'
>>> tmp.cleanup()
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.governance.config import ArtifactCheckSettings, ArtifactSpec, is_glob
from monitor.governance.schema import Migration, migrate
from monitor.governance.signatures import (
    SignatureError,
    parse_public_key,
    parse_signature,
    verify_prehashed,
)
from monitor.store import Store
from monitor.triggers.model import TriggerEvent, TriggerType

log = logging.getLogger("tunewatch.governance.artifacts")

Status = Literal["verified", "unverified", "mismatch", "missing", "error"]
RAISING: frozenset[str] = frozenset({"mismatch", "missing"})
MAX_SIGNATURE_BYTES = 4096
COMPONENT = "artifacts"
MIGRATIONS = (
    Migration(1, "artifact_state: last check of each artefact", (
        "CREATE TABLE artifact_state ("
        " name TEXT PRIMARY KEY, spec TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,"
        " status TEXT NOT NULL, sha256 TEXT, size INTEGER, mtime_ns INTEGER, inode INTEGER,"
        " expected TEXT, detail TEXT NOT NULL, trusted_comment TEXT, checked_at REAL NOT NULL,"
        " next_rehash_at REAL NOT NULL)",
    )),
)


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    blake2b_512: bytes | None
    size: int


def hash_file(path: Path, *, chunk_bytes: int = 1 << 20, blake2b: bool = False) -> FileDigest:
    """sha256 (and optionally BLAKE2b-512, minisign's prehash) of ``path`` in one streaming pass."""
    sha = hashlib.sha256()
    b2 = hashlib.blake2b(digest_size=64) if blake2b else None
    buf = bytearray(chunk_bytes)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            sha.update(view[:n])
            if b2 is not None:
                b2.update(view[:n])
            size += n
    return FileDigest(sha256=sha.hexdigest(), blake2b_512=b2.digest() if b2 else None, size=size)


@dataclass(frozen=True)
class ArtifactResult:
    name: str  # bounded label: the spec's name, or name/file for a glob
    spec: str
    kind: str
    path: str
    status: Status
    detail: str
    checked_at: float
    sha256: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    inode: int | None = None
    expected: str | None = None  # "sha256:<hex>" or "minisign:<key id>"
    trusted_comment: str | None = None
    next_rehash_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("inode")
        out.pop("next_rehash_at")
        return out


@dataclass(frozen=True)
class ArtifactMismatch:
    """A served file is not the one that was assessed (or is gone): a high-severity trigger."""

    name: str
    kind: str
    path: str
    status: str
    expected: str | None
    observed: str | None
    detail: str
    at: float

    @property
    def trigger_type(self) -> TriggerType:
        return "re_fine_tune" if self.kind == "lora_adapter" else "base_model_change"

    def to_trigger_event(self) -> TriggerEvent:
        return TriggerEvent(
            type=self.trigger_type,
            dedup_key=f"artifact:{self.name}:{self.observed or self.status}",
            title=f"Artefact {self.status} (high severity): {self.name}",
            source="artifacts", severity="critical",
            what_changed={"artifact": self.name, "kind": self.kind, "path": self.path,
                          "status": self.status, "expected": self.expected,
                          "observed": self.observed, "detail": self.detail, "at": self.at,
                          "severity": "critical"})


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:64] or "_"


def expand(spec: ArtifactSpec) -> list[tuple[str, Path]] | str:
    """``(result name, path)`` per file of ``spec``, or an error message."""
    if not is_glob(spec.path):
        return [(spec.label(), Path(spec.path))]
    files = sorted(p for p in glob.glob(spec.path) if os.path.isfile(p))
    if len(files) > spec.max_files:
        return f"glob matched {len(files)} files, more than max_files ({spec.max_files})"
    prefix = f"{spec.name}/" if spec.name else ""
    return [(prefix + _label(Path(p).name), Path(p)) for p in files]


def artifacts_digest(components: dict[str, str]) -> str:
    """One 16-hex-digit value for all artefact digests (the tracker's ``artifacts`` component).

    >>> artifacts_digest({"artifact:a": "00" * 32})
    '82ab43b22cc05a7d'
    """
    lines = "".join(f"{k}={v}\n" for k, v in sorted(components.items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


class ArtifactVerifier:
    def __init__(self, *, specs: Sequence[ArtifactSpec], store: Store,
                 settings: ArtifactCheckSettings | None = None,
                 clock: Callable[[], float] = time.time,
                 hasher: Callable[..., FileDigest] = hash_file) -> None:
        self._specs = list(specs)
        self._store = store
        self._settings = settings or ArtifactCheckSettings()
        self._clock = clock
        self._hasher = hasher
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._results: dict[str, ArtifactResult] = {}
        self._hashed_bytes = 0
        self._mismatch_listeners: list[Callable[[ArtifactMismatch], None]] = []
        self._change_listeners: list[Callable[[dict[str, str]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        migrate(store, component=COMPONENT, migrations=MIGRATIONS, clock=clock)
        for row in store.query("SELECT name, spec, kind, path, status, detail, checked_at, sha256, "
                               "size, mtime_ns, inode, expected, trusted_comment, next_rehash_at "
                               "FROM artifact_state"):
            r = ArtifactResult(*row)
            self._results[r.name] = r

    def add_mismatch_listener(self, listener: Callable[[ArtifactMismatch], None]) -> None:
        self._mismatch_listeners.append(listener)

    def add_change_listener(self, listener: Callable[[dict[str, str]], None]) -> None:
        """``listener(components)`` when the set of artefact digests changes."""
        self._change_listeners.append(listener)

    # -- checking (worker thread) ------------------------------------------------------------------
    def check_once(self, *, force: bool = False) -> list[ArtifactResult]:
        """Stat every file; hash what changed or is due (all with ``force``). Blocking: call it
        from a worker thread (:meth:`start` does)."""
        with self._check_lock:
            now = self._clock()
            before = self.components()
            fresh: dict[str, ArtifactResult] = {}
            for spec in self._specs:
                for r in self._check_spec(spec, now, force):
                    fresh[r.name] = r
            with self._lock:
                previous, self._results = self._results, fresh
            events = [self._event(r) for r in fresh.values()
                      if r.status in RAISING and _changed(previous.get(r.name), r)]
            self._persist(fresh, gone=set(previous) - set(fresh))
        for event in events:
            log.error("artefact %s: %s (%s)", event.status, event.name, event.detail)
            for mlistener in list(self._mismatch_listeners):
                try:
                    mlistener(event)
                except Exception:
                    log.exception("artefact mismatch listener failed")
        after = self.components()
        if after != before:
            for clistener in list(self._change_listeners):
                try:
                    clistener(after)
                except Exception:
                    log.exception("artefact change listener failed")
        return list(fresh.values())

    def _check_spec(self, spec: ArtifactSpec, now: float, force: bool) -> list[ArtifactResult]:
        expected = self._expected(spec)

        def result(name: str, path: str, status: Status, detail: str) -> ArtifactResult:
            return ArtifactResult(name=name, spec=spec.label(), kind=spec.kind, path=path,
                                  status=status, detail=detail, checked_at=now, expected=expected)

        files = expand(spec)
        if isinstance(files, str):
            return [result(spec.label(), spec.path, "error", files)]
        absent: Status = "missing" if spec.required else "unverified"
        if not files:
            return [result(spec.label(), spec.path, absent, "no file matches the glob")]
        out = []
        for name, path in files:
            try:
                st = path.stat()
            except FileNotFoundError:
                out.append(result(name, str(path), absent, "file not found"))
                continue
            except OSError as exc:
                out.append(result(name, str(path), "error", f"stat failed: {exc.strerror}"))
                continue
            prev = self._results.get(name)
            if (not force and prev is not None and prev.path == str(path)
                    and prev.status != "error" and prev.sha256 is not None
                    and (prev.size, prev.mtime_ns, prev.inode)
                    == (st.st_size, st.st_mtime_ns, st.st_ino)
                    and now < prev.next_rehash_at and prev.expected == expected):
                out.append(prev)
                continue
            out.append(self._hash(spec, path, st, result(name, str(path), "unverified", "")))
        return out

    def _expected(self, spec: ArtifactSpec) -> str | None:
        if spec.sha256:
            return f"sha256:{spec.sha256}"
        if spec.signature:
            try:
                return f"minisign:{self._public_key(spec).key_id_hex}"
            except (OSError, SignatureError):
                return "minisign:unreadable-key"
        return None

    @staticmethod
    def _public_key(spec: ArtifactSpec) -> Any:
        text = spec.public_key or (spec.public_key_file.read_text(encoding="utf-8")
                                   if spec.public_key_file else "")
        return parse_public_key(text)

    def _hash(self, spec: ArtifactSpec, path: Path, st: os.stat_result,
              base: ArtifactResult) -> ArtifactResult:
        try:
            digest = self._hasher(path, chunk_bytes=self._settings.chunk_bytes,
                                  blake2b=bool(spec.signature))
            after = path.stat()
        except OSError as exc:
            return replace(base, status="error", detail=f"read failed: {exc.strerror}")
        with self._lock:
            self._hashed_bytes += digest.size
        if (after.st_size, after.st_mtime_ns, after.st_ino) != (
                st.st_size, st.st_mtime_ns, st.st_ino):
            return replace(base, status="error",
                           detail="file changed while it was hashed; re-checked next pass")
        result = replace(base, detail="hashed (no expected digest or signature configured)",
                         sha256=digest.sha256, size=st.st_size, mtime_ns=st.st_mtime_ns,
                         inode=st.st_ino,
                         next_rehash_at=base.checked_at + self._settings.rehash_interval_s)
        if spec.sha256:
            ok = digest.sha256 == spec.sha256
            return replace(result, status="verified" if ok else "mismatch",
                           detail="sha256 matches" if ok else "sha256 differs from the expected")
        if spec.signature:
            return self._check_signature(spec, path, digest, result)
        return result

    def _check_signature(self, spec: ArtifactSpec, path: Path, digest: FileDigest,
                         result: ArtifactResult) -> ArtifactResult:
        sig_path = Path((spec.signature or "").replace("{path}", str(path)))
        try:
            with open(sig_path, "rb") as f:
                raw = f.read(MAX_SIGNATURE_BYTES + 1)
            if len(raw) > MAX_SIGNATURE_BYTES:
                raise SignatureError("signature file is larger than a minisign signature")
            sig = parse_signature(raw.decode("utf-8", errors="strict"))
            comment = verify_prehashed(sig, self._public_key(spec), digest.blake2b_512 or b"")
        except FileNotFoundError:
            return replace(result, status="mismatch", detail="signature file not found")
        except (OSError, UnicodeDecodeError) as exc:
            return replace(result, status="mismatch",
                           detail=f"signature unreadable: {type(exc).__name__}")
        except SignatureError as exc:
            return replace(result, status="mismatch", detail=f"signature: {exc}")
        return replace(result, status="verified", detail="minisign signature verifies",
                       trusted_comment=comment[:256])

    @staticmethod
    def _event(r: ArtifactResult) -> ArtifactMismatch:
        return ArtifactMismatch(name=r.name, kind=r.kind, path=r.path, status=r.status,
                                expected=r.expected, observed=r.sha256, detail=r.detail,
                                at=r.checked_at)

    def _persist(self, results: dict[str, ArtifactResult], *, gone: set[str]) -> None:
        with self._store.transaction() as db:
            for name in gone:
                db.execute("DELETE FROM artifact_state WHERE name = ?", (name,))
            for r in results.values():
                db.execute(
                    "INSERT OR REPLACE INTO artifact_state (name, spec, kind, path, status, detail, "
                    "checked_at, sha256, size, mtime_ns, inode, expected, trusted_comment, "
                    "next_rehash_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.name, r.spec, r.kind, r.path, r.status, r.detail, r.checked_at, r.sha256,
                     r.size, r.mtime_ns, r.inode, r.expected, r.trusted_comment,
                     r.next_rehash_at))

    # -- reading -----------------------------------------------------------------------------------
    def results(self) -> list[ArtifactResult]:
        with self._lock:
            return sorted(self._results.values(), key=lambda r: r.name)

    def components(self) -> dict[str, str]:
        """Fingerprint components: ``artifact:<name>`` -> sha256 of each file that was read."""
        return {f"artifact:{r.name}": r.sha256 for r in self.results()
                if r.sha256 is not None and r.status != "error"}

    def hashed_bytes(self) -> int:
        with self._lock:
            return self._hashed_bytes

    def collector(self) -> ArtifactCollector:
        return ArtifactCollector(self)

    # -- scheduling --------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``stat_interval_s`` until ``stop`` is set; hashing runs in a thread."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.check_once)
            except Exception:
                log.exception("artefact check failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._settings.stat_interval_s)
            except TimeoutError:
                pass

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.ensure_future(self.run(self._stop))

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=30)  # a hash in flight finishes its file
            self._task = None


def _changed(prev: ArtifactResult | None, new: ArtifactResult) -> bool:
    """Whether ``new`` is news: a different status or digest than last time."""
    return prev is None or (prev.status, prev.sha256) != (new.status, new.sha256)


class ArtifactCollector(Collector):
    """``tunewatch_artifact_*`` read from the verifier at scrape time."""

    def __init__(self, verifier: ArtifactVerifier) -> None:
        self._v = verifier

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
                                 CounterMetricFamily]:
        return (
            GaugeMetricFamily("tunewatch_artifact_verified", "1 when the artefact matches its "
                              "expected sha256 or signature, 0 when it does not or is missing "
                              "(only artefacts with an expectation)", labels=["artifact"]),
            GaugeMetricFamily("tunewatch_artifact_readable", "1 when the last check read and "
                              "hashed the artefact", labels=["artifact"]),
            GaugeMetricFamily("tunewatch_artifact_last_hashed_timestamp_seconds", "when the "
                              "artefact was last hashed", labels=["artifact"]),
            CounterMetricFamily("tunewatch_artifact_hashed_bytes", "bytes read to hash artefacts"),
        )

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        verified, readable, hashed, total = self._families()
        for r in self._v.results():
            if r.expected is not None and r.status in ("verified", "mismatch", "missing"):
                verified.add_metric([r.name], 1.0 if r.status == "verified" else 0.0)
            readable.add_metric([r.name], 1.0 if r.sha256 is not None and r.status != "error"
                                else 0.0)
            if r.sha256 is not None:
                hashed.add_metric([r.name], r.checked_at)
        total.add_metric([], float(self._v.hashed_bytes()))
        yield from (verified, readable, hashed, total)


def stored_components(store: Store) -> dict[str, str]:
    """The artefact components last recorded in ``store`` (for tools that run beside the daemon,
    e.g. ``tunewatch disposition record --current``)."""
    migrate(store, component=COMPONENT, migrations=MIGRATIONS)
    return {f"artifact:{name}": sha for name, sha in store.query(
        "SELECT name, sha256 FROM artifact_state WHERE sha256 IS NOT NULL AND status != 'error'")}
