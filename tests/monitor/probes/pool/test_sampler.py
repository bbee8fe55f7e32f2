"""Draws without replacement per epoch, stratified per category, persisted in SQLite."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.probes.pool.generate import assemble, generate_pool
from monitor.probes.pool.model import Pool
from monitor.probes.pool.sampler import EpochSampler, epoch_key
from monitor.store import Store


@pytest.fixture(scope="module")
def pool() -> Pool:
    return generate_pool(categories=["disallowed", "injection", "fairness"])


def sampler(pool: Pool, store: Store | None = None) -> EpochSampler:
    return EpochSampler(pool=pool, store=store or Store(":memory:"), seed=3, clock=lambda: 1.0)


def test_no_unit_repeats_until_the_category_is_exhausted(pool: Pool) -> None:
    s = sampler(pool)
    totals = pool.counts()
    seen: dict[str, list[str]] = {c: [] for c in totals}
    runs = 0
    while True:
        d = s.draw(epoch="ep-1", per_category=97, run_id=f"r{runs}")
        runs += 1
        if not d.units:
            break
        for u in d.units:
            seen[u.category].append(u.id)
        for cat, cov in d.coverage.items():
            assert cov.drawn == len(seen[cat]) and cov.total == totals[cat]
        assert runs < 100
    for cat, ids in seen.items():
        assert len(ids) == len(set(ids)) == totals[cat]  # each unit exactly once
        assert set(ids) == {u.id for u in pool.units if u.category == cat}
    assert set(d.exhausted) == set(totals)
    assert all(cov.fraction == 1.0 and cov.remaining == 0 for cov in d.coverage.values())


def test_draws_are_stratified_over_subcategories(pool: Pool) -> None:
    s = sampler(pool)
    d = s.draw(epoch="ep-1", per_category={"disallowed": 39}, run_id="r")
    by_hazard = Counter(u.subcategory for u in d.units)
    assert len(by_hazard) == 13 and set(by_hazard.values()) == {3}
    assert {u.category for u in d.units} == {"disallowed"}
    d2 = s.draw(epoch="ep-1", per_category={"disallowed": 26}, run_id="r2")
    assert set(Counter(u.subcategory for u in d2.units).values()) == {2}


def test_fairness_pairs_are_drawn_whole(pool: Pool) -> None:
    d = sampler(pool).draw(epoch="ep-1", per_category={"fairness": 10}, run_id="r")
    assert len(d.units) == 10 and len(d.probes()) == 20
    assert all(len({p.pair for p in u.probes}) == 1 for u in d.units)  # type: ignore[union-attr]


def test_a_new_epoch_starts_afresh_in_another_order(pool: Pool) -> None:
    s = sampler(pool)
    a = s.draw(epoch="ep-a", per_category={"injection": 50}, run_id="r1")
    b = s.draw(epoch="ep-b", per_category={"injection": 50}, run_id="r2")
    assert s.coverage(epoch="ep-a")["injection"].drawn == 50
    assert s.coverage(epoch="ep-b")["injection"].drawn == 50
    overlap = {u.id for u in a.units} & {u.id for u in b.units}
    assert len(overlap) < 25  # independent orders: ~50*50/483 = 5 expected in common
    assert [u.id for u in s.order(epoch="ep-a", category="injection")] == \
        [u.id for u in sampler(pool).order(epoch="ep-a", category="injection")]


def test_next_subset_is_read_only_and_record_ignores_repeats(pool: Pool) -> None:
    s = sampler(pool)
    first = s.next_subset(epoch="ep-1", per_category={"injection": 5})
    assert s.next_subset(epoch="ep-1", per_category={"injection": 5}) == first
    assert s.record(epoch="ep-1", units=first, run_id="r1") == 5
    assert s.record(epoch="ep-1", units=first, run_id="r2") == 0
    assert not set(first) & set(s.next_subset(epoch="ep-1", per_category={"injection": 5}))
    s.forget(epoch="ep-1")
    assert s.next_subset(epoch="ep-1", per_category={"injection": 5}) == first


def test_draws_persist_across_restarts(pool: Pool, tmp_path: Path) -> None:
    path = tmp_path / "tw.db"
    store = Store(path)
    first = sampler(pool, store).draw(epoch="ep-1", per_category=20, run_id="r1")
    store.close()
    store2 = Store(path)
    again = sampler(pool, store2)
    second = again.draw(epoch="ep-1", per_category=20, run_id="r2")
    assert not {u.id for u in first.units} & {u.id for u in second.units}
    assert again.coverage(epoch="ep-1")["disallowed"].drawn == 40
    rows = store2.query("SELECT count(*), count(DISTINCT run_id) FROM pool_draws")
    assert rows == [(120, 2)]
    store2.close()


def test_pool_changes_keep_what_was_drawn(pool: Pool) -> None:
    store = Store(":memory:")
    inj = [u for u in pool.units if u.category == "injection"]
    old = assemble(inj[:100], name="p", version=1)
    drawn = sampler(old, store).draw(epoch="ep-1", per_category=60, run_id="r1").units
    new = assemble(inj[50:200], name="p", version=2)  # 50 units left, 100 joined
    s = sampler(new, store)
    cov = s.coverage(epoch="ep-1")["injection"]
    still = {u.id for u in drawn} & {u.id for u in new.units}
    assert cov == type(cov)(category="injection", drawn=len(still), total=150)
    rest = s.draw(epoch="ep-1", per_category=1000, run_id="r2").units
    assert len(rest) == 150 - len(still)
    assert not {u.id for u in rest} & {u.id for u in drawn}


def test_bad_arguments(pool: Pool) -> None:
    s = sampler(pool)
    with pytest.raises(ValueError, match="no pool units in categories capability"):
        s.next_subset(epoch="ep-1", per_category={"capability": 3})
    with pytest.raises(ValueError, match="epoch"):
        s.next_subset(epoch="", per_category=3)


def test_epoch_key_is_stable_and_component_sensitive() -> None:
    a = epoch_key({"model": "m1", "system_prompt": "ab", "scope": "v1"})
    assert a == epoch_key({"scope": "v1", "system_prompt": "ab", "model": "m1"})
    assert a != epoch_key({"model": "m2", "system_prompt": "ab", "scope": "v1"})
    assert epoch_key({"model": "m1", "extra": "x"}, keys=["model"]) == epoch_key({"model": "m1"})
