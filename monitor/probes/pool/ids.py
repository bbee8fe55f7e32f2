"""Content-derived ids, canaries and seeded choices for the probe pool.

Everything random in the pool comes from sha256 of ``(seed, key)``, never from a shared random
stream, so a unit's id, canary and inclusion depend only on the seed and on that unit's own
content: adding or removing a template leaves every other unit (and its id) as it was.

>>> unit_id("dis", {"prompt": "x"})
'dis-b2c6fa432c74'
>>> canary_for(7, "some unit")
'TWC-4TTV-GEN6'
>>> [keep(1, f"k{i}", 0.5) for i in range(6)]
[False, True, True, True, True, True]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_CANARY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, no 0/O, 1/I


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the form every hash in the pool is taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unit_id(prefix: str, content: Any) -> str:
    """``prefix-`` and 12 hex digits (48 bits) of the sha256 of ``content``'s canonical JSON."""
    return f"{prefix}-{sha256_hex(canonical_json(content))[:12]}"


def _uniform(seed: int, key: str) -> float:
    return int(sha256_hex(f"{seed}\x1f{key}")[:16], 16) / float(1 << 64)


def keep(seed: int, key: str, rate: float) -> bool:
    """Keep the candidate ``key`` with probability ``rate`` (a seeded, stateless coin)."""
    return _uniform(seed, key) < rate


def choose(seed: int, key: str, options: Sequence[T]) -> T:
    """A seeded, stateless choice among ``options``."""
    if not options:
        raise ValueError("choose() needs at least one option")
    return options[int(_uniform(seed, key) * len(options)) % len(options)]


def randint(seed: int, key: str, lo: int, hi: int) -> int:
    """A seeded integer in ``[lo, hi]``."""
    return lo + int(_uniform(seed, key) * (hi - lo + 1)) % (hi - lo + 1)


def rank(seed: int, key: str) -> str:
    """A sort key: ordering items by it gives a seeded permutation."""
    return sha256_hex(f"{seed}\x1e{key}")


def canary_for(seed: int, key: str) -> str:
    """``TWC-XXXX-XXXX`` (40 random bits) derived from ``seed`` and the unit's content key."""
    digest = hashlib.sha256(f"canary\x1f{seed}\x1f{key}".encode()).digest()
    value = int.from_bytes(digest[:5], "big")
    chars = []
    for _ in range(8):
        chars.append(_CANARY_ALPHABET[value & 31])
        value >>= 5
    s = "".join(chars)
    return f"TWC-{s[:4]}-{s[4:]}"
