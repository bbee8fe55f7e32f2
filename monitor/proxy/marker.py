"""The probe marker: how the sidecar tells its own probes (and health polls) from client traffic.

Probe requests are never sampled, so the marker must not be something a client can send: it is
``<run id>.<unix time>.<mac>``, the MAC an HMAC-SHA256 (first 32 hex digits) of
``<run id>.<unix time>`` under a secret: random per daemon, or shared by a fleet through
``sampling.probe_secret_file`` (the prober's probes then pass the sidecars unsampled too). A
marker is valid for ``max_age_s`` either side of its time (clock skew between pods), signed per
request. The proxy forwards a valid marker (so sidecars further along verify it too) and strips
any other; a client that sends one is sampled like everyone else.

>>> m = ProbeMarker(secret=b"s" * 32, clock=lambda: 1700000000.0)
>>> value = m.sign("pr-1-abc")
>>> value[:20], m.verify(value.encode()), m.verify(b"1")
('pr-1-abc.1700000000.', True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path


class ProbeMarker:
    def __init__(self, *, secret: bytes, max_age_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the probe marker secret needs at least 16 bytes")
        self._secret = secret
        self._max_age_s = max_age_s
        self._clock = clock

    @classmethod
    def random(cls, *, clock: Callable[[], float] = time.time) -> ProbeMarker:
        return cls(secret=secrets.token_bytes(32), clock=clock)

    @classmethod
    def from_file(cls, path: Path, *, clock: Callable[[], float] = time.time) -> ProbeMarker:
        """A fleet's shared secret (``sampling.probe_secret_file``, validated at config load)."""
        return cls(secret=path.read_bytes().strip(), clock=clock)

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def sign(self, run_id: str) -> str:
        """The header value for one request of run ``run_id`` (header-safe ASCII)."""
        rid = "".join(c for c in run_id if c.isascii() and (c.isalnum() or c in "-_"))[:64]
        message = f"{rid or 'run'}.{int(self._clock())}"
        return f"{message}.{self._mac(message.encode())}"

    def verify(self, value: bytes) -> bool:
        """Whether ``value`` (the raw header value) is a marker this secret signed, in date."""
        if len(value) > 128:
            return False
        message, _, mac = value.rpartition(b".")
        _, _, stamp = message.rpartition(b".")
        if not stamp.isdigit() or len(mac) != 32:
            return False
        if abs(self._clock() - int(stamp)) > self._max_age_s:
            return False
        return hmac.compare_digest(self._mac(message).encode(), mac)
