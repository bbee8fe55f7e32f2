"""monitor/analysis/samples.py: the samples table and its readers."""

from __future__ import annotations

import pytest

from monitor.analysis.samples import NotAStore, SampleRow, SampleStore, read_recent_pairs
from monitor.store import Store


def test_recent_transcripts_are_the_newest_rows_with_text(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    samples = SampleStore(store)
    samples.insert_many([SampleRow(ts=float(i), route="/v1/completions", status=200,
                                   prompt=f"p{i}" if i != 3 else None, response=f"r{i}")
                         for i in range(5)])
    assert [t.prompt for t in samples.recent_transcripts(3)] == ["p4", "p2", "p1"]
    assert samples.prune(before=2.0) == 2
    store.close()


def test_read_recent_pairs_is_read_only_and_checks_the_file(tmp_path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    SampleStore(store).insert_many([
        SampleRow(ts=1.0, route="/v1/completions", status=200, prompt="a", response="1"),
        SampleRow(ts=2.0, route="/v1/completions", status=500, prompt="b", response="2"),
        SampleRow(ts=3.0, route="/v1/completions", status=200, prompt="c", response="3")])
    store.close()
    assert read_recent_pairs(path, 10) == [("a", "1"), ("c", "3")]  # oldest first, no errors
    assert read_recent_pairs(path, 1) == [("c", "3")]
    missing = tmp_path / "missing.db"
    with pytest.raises(NotAStore, match="no such database"):
        read_recent_pairs(missing, 5)
    assert not missing.exists()  # nothing created
    other = tmp_path / "other.db"
    other.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(NotAStore, match="not a Tunewatch store"):
        read_recent_pairs(other, 5)
