"""monitor/analysis/bodies.py: every Content-Encoding is decoded in bounded steps and stops at
the cap (issue 13, finding 1: a 1 MB gzip of 1 GB took the daemon past its memory limit)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard

from monitor.analysis.bodies import ExtractError, decode_content

MiB = 2**20
BOMB_SIZE = 256 * MiB  # decoded size of each bomb; the cap in these tests is 4 MiB
CAP = 4 * MiB


def _zlib_bomb(wbits: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"A" * MiB
    return b"".join(c.compress(block) for _ in range(BOMB_SIZE // MiB)) + c.flush()


def _brotli_bomb() -> bytes:
    c = brotli.Compressor(quality=1)
    block = b"A" * MiB
    return b"".join(c.process(block) for _ in range(BOMB_SIZE // MiB)) + c.finish()


def _zstd_bomb() -> bytes:
    c = zstandard.ZstdCompressor(level=1).compressobj()
    block = b"A" * MiB
    return b"".join(c.compress(block) for _ in range(BOMB_SIZE // MiB)) + c.flush()


BOMBS: dict[str, Callable[[], bytes]] = {
    "gzip": lambda: _zlib_bomb(31),
    "deflate": lambda: _zlib_bomb(15),
    "br": _brotli_bomb,
    "zstd": _zstd_bomb,
}


@pytest.mark.parametrize("encoding", sorted(BOMBS))
def test_a_bomb_stops_at_the_cap_in_bounded_memory(encoding: str) -> None:
    bomb = BOMBS[encoding]()
    assert len(bomb) < 2 * MiB  # small on the wire
    tracemalloc.start()
    try:
        with pytest.raises(ExtractError, match=f"decoded body exceeds {CAP} bytes"):
            decode_content(bomb, encoding, CAP, "request")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the decoded bytes held at any time: the cap plus a few steps, never the 256 MiB
    assert peak < 3 * CAP, (encoding, peak)


ROUND_TRIP: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.mark.parametrize("encoding", sorted(ROUND_TRIP))
def test_each_encoding_decodes_exactly(encoding: str) -> None:
    raw = bytes(range(256)) * 4000 + b'{"a": 1}'
    assert decode_content(ROUND_TRIP[encoding](raw), encoding, len(raw)) == raw
    with pytest.raises(ExtractError, match=f"exceeds {len(raw) - 1} bytes"):
        decode_content(ROUND_TRIP[encoding](raw), encoding, len(raw) - 1)


def test_codings_applied_in_order_and_multi_member_gzip() -> None:
    raw = b'{"choices": []}'
    both = gzip.compress(zstandard.ZstdCompressor().compress(raw))
    assert decode_content(both, "zstd, gzip", 1024) == raw
    assert decode_content(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 1024) == b"abcd"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_corrupt_data_is_an_extract_error_without_payload(encoding: str) -> None:
    with pytest.raises(ExtractError) as info:
        decode_content(b"\x00secret-payload-bytes" * 10, encoding, 1024, "response")
    assert "secret" not in str(info.value) and str(info.value).startswith("response: ")


def test_a_zstd_frame_asking_for_a_huge_window_is_refused() -> None:
    params = zstandard.ZstdCompressionParameters.from_level(19, window_log=27,  # 128 MiB window
                                                            write_content_size=0)
    frame = zstandard.ZstdCompressor(compression_params=params).compressobj()
    frame = frame.compress(b"x" * 1000) + frame.flush()
    assert zstandard.get_frame_parameters(frame).window_size == 2**27
    with pytest.raises(ExtractError, match="zstd"):
        decode_content(frame, "zstd", 64 * MiB)
