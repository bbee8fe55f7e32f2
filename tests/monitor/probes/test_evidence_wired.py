"""The issue-11 guarantees on the wired scheduler path (selection, runner, scoring, ledgers in the
detector host, store), not the detectors in isolation.

The model is :class:`tests.monitor.probes.unit_model.UnitModel` behind an httpx transport: its
answers are a deterministic function of (unit, model version), like greedy decoding. Seeded; each
statistical assertion states its runs and tolerance.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from detectors.paired import UnpairedRateCusum
from detectors.refusal.rates import JudgeError, corrected_rate
from monitor.detection.host import DetectorHost
from monitor.metrics import Metrics
from monitor.metrics.detectors import DetectorCollector
from monitor.probes.baseline import Baseline, CategoryRates, Parity, SuiteRef, TargetRef
from monitor.probes.config import ProbeSettings
from monitor.probes.pool.generate import generate_pool
from monitor.probes.pool.model import Pool
from monitor.probes.pool.sampler import epoch_key
from monitor.probes.scheduler import ProbeScheduler
from monitor.probes.suite import Suite
from monitor.store import Store
from monitor.triggers.evidence import EvidenceBuilder, EvidenceSources
from tests.monitor.probes.unit_model import UnitModel, uniform

TARGET = "http://model.test/v1"
BASE = "http://base.test/v1"


def stored_baseline(suite: Suite, rates: dict[str, tuple[int, int]]) -> Baseline:
    """A baseline file's content for ``suite``: per category ``(passed, failed)``."""
    return Baseline(
        created_at=datetime(2026, 12, 1, tzinfo=UTC), run_id="pr-base", parity=Parity(),
        suite=SuiteRef(name=suite.name, version=suite.version, hash=suite.hash,
                       probes=len(suite.probes)),
        target=TargetRef(base_url=BASE), settings={},
        categories={c: CategoryRates(passed=p, failed=f) for c, (p, f) in rates.items()},
        units={})


class Fingerprint:
    """The daemon's epoch function: the key of the fingerprint components; ``model`` is bumped
    by the tests (a new revision)."""

    def __init__(self) -> None:
        self.model = "ft-v1"

    def __call__(self) -> str:
        return epoch_key({"model": self.model, "upstream_models": "ab12cd34"})


def scheduler(tmp_path: Path, suite: Suite | None, model: UnitModel, classifier: Any,
              baseline: Baseline | None, *, probe_pool: Pool | None = None,
              fingerprint: Fingerprint | None = None, base: UnitModel | None = None,
              **kw: Any) -> tuple[ProbeScheduler, CollectorRegistry, Store]:
    reg = CollectorRegistry()
    host = DetectorHost()
    reg.register(DetectorCollector(host))
    s = ProbeSettings(max_concurrency=8, max_per_minute=1e9, **kw)
    store = Store(tmp_path / "t.db")
    sched = ProbeScheduler(settings=s, metrics=Metrics(reg).probes, store=store,
                           host=host, target_base_url=TARGET, classifier=classifier, suite=suite,
                           pool=probe_pool, baseline=baseline,
                           epoch=fingerprint or Fingerprint(),
                           transport=model.transport(),
                           base_transport=base.transport() if base else None)
    return sched, reg, store


def outcomes_of(store: Store, run_id: str) -> dict[str, str]:
    """A run's stored unit outcomes (``probe_attempts``: probe id -> pass/fail/unscoreable)."""
    rows = store.query("SELECT probe_id, outcome FROM probe_attempts WHERE run_id = ?",
                       (run_id,))
    return dict(rows)


@pytest.mark.slow
async def test_rerunning_an_unchanged_deterministic_model_never_alarms(
        tmp_path: Path, refusal_classifier: Any) -> None:
    """63 disallowed units re-sent run after run (suite mode, no rotation), a deterministic model
    refusing 53 of them (84 %: below the break-even rate of the 0.905 -> 0.805 CUSUM, and not
    significant in any one run). 300 runs through the scheduler: the hosted ledger admits each unit
    once and never alarms; the same outcomes fed to a bare CUSUM per run (the old scheduler)
    alarm within 50 runs."""
    units = generate_pool(categories=["disallowed"]).units[:63]
    suite = Pool(name="sixty-three", version=1, units=units).suite()
    order = np.random.default_rng(0).permutation(63)  # which 53 (spread out, as sent)
    refused = {u.id for u, rank in zip(units, order, strict=True) if rank < 53}
    model = UnitModel(suite=suite, refuses=lambda unit, version: unit in refused)
    baseline = stored_baseline(suite, {"disallowed": (57, 6)})
    sched, reg, store = scheduler(tmp_path, suite, model, refusal_classifier, baseline,
                                  cusum_arl0=2000)
    plain = UnpairedRateCusum(direction="less", ert=2000, baseline_rate=57 / 63, effect=0.1)
    plain_alarm, first = None, None
    for run in range(300):
        result = await sched.run_once()
        assert result.status == "ok" and result.regressions == []
        outcomes = [o == "pass" for o in outcomes_of(store, result.run_id).values()]
        assert len(outcomes) == 63 and sum(outcomes) == 53
        if plain_alarm is None and plain.update_many(outcomes).drift:
            plain_alarm = run + 1
        st = result.cusum["disallowed"]
        first = first or st
        assert not st.drift and st == first  # nothing after run 1 moved the statistic
    assert plain_alarm is not None and plain_alarm < 50
    report = sched.host.report("refusal_rate/probe/disallowed")
    assert report is not None
    assert (report.admitted, report.duplicates, report.first_alarm) == (63, 63 * 299, None)
    assert model.requests == 300 * 63
    assert reg.get_sample_value("tunewatch_evidence_duplicates",
                                {"source": "probe", "category": "disallowed",
                                 "direction": "less"}) == 63 * 299
    assert reg.get_sample_value("tunewatch_refusal_regression_detected",
                                {"source": "probe", "category": "disallowed"}) == 0


@pytest.mark.slow
async def test_measured_arl0_under_fresh_draws_is_within_15_percent(
        tmp_path: Path, refusal_classifier: Any) -> None:
    """Pool mode on the generated 1 299 disallowed units, 50 fresh units per run, a model in
    control (each unit refused with probability 0.9, as the stored baseline says) that is replaced
    by a new revision after every alarm: a new fingerprint, so a new epoch with fresh draws and a
    fresh statistic. 400 alarms through the scheduler; the run length is the number of distinct
    units the ledger admitted until its first alarm (``first_alarm``). The mean is within +-15 %
    of the configured ARL0 of 100 (relative standard error of 400 near-geometric run lengths
    ~5 %: the tolerance is ~3 standard errors)."""
    pool = generate_pool(categories=["disallowed"])
    suite = pool.suite()
    fp = Fingerprint()
    model = UnitModel(suite=suite, refuses=lambda unit, version: uniform(unit, version) < 0.9)
    baseline = stored_baseline(suite, {"disallowed": (9, 1)})
    sched, _, _ = scheduler(tmp_path, None, model, refusal_classifier, baseline, probe_pool=pool,
                            fingerprint=fp, cusum_arl0=100,
                            pool={"enabled": True, "per_category": 50, "when_exhausted": "stop"})
    name = "refusal_rate/probe/disallowed"
    lengths: list[int] = []
    epochs = set()
    while len(lengths) < 400:
        model.version = fp.model  # the deployment serves the revision the fingerprint names
        result = await sched.run_once()
        assert result.status == "ok", result.error
        epochs.add(result.epoch)
        if result.cusum["disallowed"].drift:
            report = sched.host.report(name)
            assert report is not None and report.first_alarm is not None
            lengths.append(report.first_alarm)
            fp.model = f"ft-v{len(lengths) + 1}"  # a new revision: a new epoch
        else:
            assert result.coverage["disallowed"].drawn < 1299, "an epoch ran out of units"
    assert len(epochs) == 400
    mean = float(np.mean(lengths))
    assert 0.85 * 100 < mean < 1.15 * 100, mean


async def test_a_new_fingerprint_starts_a_new_epoch(tmp_path: Path,
                                                    refusal_classifier: Any) -> None:
    """Pool mode: draws never repeat within an epoch; after a fingerprint change the draws and
    the statistic start afresh, the old epoch's evidence is kept, and the run summary names the
    epoch it covers with its coverage."""
    pool = generate_pool(categories=["disallowed", "benign"])
    fp = Fingerprint()
    model = UnitModel(suite=pool.suite(), refuses=lambda unit, version: uniform(unit) < 0.5)
    baseline = stored_baseline(pool.suite(), {"disallowed": (90, 10), "benign": (95, 5)})
    sched, reg, store = scheduler(tmp_path, None, model, refusal_classifier, baseline,
                                  probe_pool=pool, fingerprint=fp,
                                  pool={"enabled": True, "per_category": {"disallowed": 30,
                                                                         "benign": 20}})
    first = await sched.run_once()
    second = await sched.run_once()
    a, b = set(model.asked[:50]), set(model.asked[50:100])
    assert len(a) == len(b) == 50 and not a & b  # without replacement within the epoch
    assert first.epoch == second.epoch
    assert first.coverage["disallowed"].drawn == 30 and second.coverage["disallowed"].drawn == 60
    assert reg.get_sample_value("tunewatch_probe_pool_drawn", {"category": "benign"}) == 40
    assert reg.get_sample_value("tunewatch_probe_pool_units", {"category": "disallowed"}) == 1299
    old = sched.host.report("refusal_rate/probe/disallowed")
    assert old is not None and old.admitted == 60
    fp.model = "ft-v2"
    third = await sched.run_once()
    assert third.epoch != first.epoch
    assert third.coverage["disallowed"].drawn == 30  # a fresh draw record
    assert third.cusum["disallowed"].n == 30  # a fresh statistic
    epochs = {e.epoch: e for e in sched.host.snapshot()["refusal_rate/probe/disallowed"].epochs}
    assert epochs[first.epoch].admitted == 60 and not epochs[first.epoch].current
    assert epochs[third.epoch].admitted == 30 and epochs[third.epoch].current
    # benign is watched in the other direction (refusing more), against its own baseline rate
    benign = sched.host.snapshot()["refusal_rate/probe/benign"]
    assert benign.info.baseline_rate == pytest.approx(0.05)
    [(summary,)] = store.query("SELECT summary FROM probe_runs WHERE run_id = ?",
                               (third.run_id,))
    got = json.loads(summary)["disallowed"]
    assert got["epoch"] == third.epoch
    assert got["coverage"] == {"drawn": 30, "total": 1299, "passes": 0, "exhausted": False}
    assert got["ledger"]["evidence"]["admitted"] == 30
    assert got["ledger"]["evidence"]["epoch"] == third.epoch


async def test_exhausted_categories_recycle_or_stop(tmp_path: Path,
                                                    refusal_classifier: Any) -> None:
    units = generate_pool(categories=["disallowed"]).units[:25]
    pool = Pool(name="small", version=1, units=units)
    model = UnitModel(suite=pool.suite(), refuses=lambda unit, version: True)
    for mode in ("recycle", "stop"):
        sched, reg, _ = scheduler(tmp_path / mode, None, model, refusal_classifier, None,
                                  probe_pool=pool,
                                  pool={"enabled": True, "per_category": 10,
                                        "when_exhausted": mode})
        statuses = [(await sched.run_once()).status for _ in range(4)]
        exhausted = reg.get_sample_value("tunewatch_probe_pool_exhausted",
                                         {"category": "disallowed"})
        if mode == "recycle":  # 10 + 10 + 5, then the category starts over
            assert statuses == ["ok"] * 4 and exhausted == 1
            assert sched.selector.coverage(sched.epoch())["disallowed"].passes == 1
        else:
            assert statuses == ["ok", "ok", "ok", "skipped"] and exhausted == 1


def paired_models(suite: Suite, *, drift: bool) -> tuple[UnitModel, UnitModel]:
    """A base model and a fine-tune answering the same units. The base refuses 90 % of the
    disallowed and 5 % of the benign units; without drift the fine-tune agrees except a churn
    of 4 % of the units, half each way (no net change); with drift it also complies with a
    further 40 % of what the base refused, and refuses a further 30 % of the benign units the
    base answered."""
    harmful = {p.id for p in suite.probes if p.category != "benign"}

    def base(unit: str, version: str) -> bool:
        return uniform(unit, "base") < (0.9 if unit in harmful else 0.05)

    def tuned(unit: str, version: str) -> bool:
        b, u = base(unit, version), uniform(unit, "tuned")
        rate = 0.9 if unit in harmful else 0.05
        flip = 0.02 / rate if b else 0.02 / (1 - rate)  # 2 % of units each way
        if u < flip:
            return not b
        if drift and b and unit in harmful and u < flip + 0.4:
            return False
        if drift and not b and unit not in harmful and u < flip + 0.3:
            return True
        return b

    return (UnitModel(suite=suite, refuses=base, model_name="base"),
            UnitModel(suite=suite, refuses=tuned, model_name="ft"))


@pytest.mark.parametrize("drift", [False, True])
async def test_paired_comparison_with_the_base_model(tmp_path: Path, refusal_classifier: Any,
                                                     drift: bool) -> None:
    """Each fresh probe goes to both models; the base answers each unit once (cached); the
    discordant pairs feed the paired tests, ``less`` on disallowed and ``more`` on benign."""
    pool = generate_pool(categories=["disallowed", "benign"])
    base, tuned = paired_models(pool.suite(), drift=drift)
    sched, reg, _ = scheduler(tmp_path, None, tuned, refusal_classifier, None, probe_pool=pool,
                              base=base, base_url=BASE, base_model="gemma-base",
                              pool={"enabled": True, "per_category": {"disallowed": 100,
                                                                     "benign": 60},
                                    "when_exhausted": "recycle"})
    for _ in range(6):
        result = await sched.run_once()
        assert result.status == "ok", result.error
    assert base.requests == tuned.requests == 6 * 160  # every benign unit drawn once
    again = await sched.run_once()  # benign recycles: the base is not asked again for those
    assert base.requests == 960 + 100 and tuned.requests == 960 + 160
    assert reg.get_sample_value("tunewatch_probe_base_requests_total") == 1060
    less, more = again.paired["disallowed"], again.paired["benign"]
    assert (less.drift, more.drift) == (drift, drift)
    labels = {"source": "probe_paired", "category": "disallowed", "direction": "less"}
    pairs = {o: reg.get_sample_value("tunewatch_paired_pairs", {**labels, "outcome": o})
             for o in ("both_refused", "both_complied", "base_only", "tuned_only")}
    assert sum(pairs.values()) == 700  # every scoreable disallowed unit, once per epoch
    assert (pairs["base_only"] > 3 * pairs["tuned_only"]) is drift
    assert reg.get_sample_value("tunewatch_paired_regression_detected", labels) == int(drift)
    snap = sched.host.snapshot()["paired/probe/benign"]
    assert snap.info.labels["direction"] == "more" and snap.evidence is not None
    assert snap.evidence.duplicates == 60 and snap.evidence.admitted == 360
    assert snap.coverage == 1.0
    # the evidence pack of a ticket carries the paired result and the epoch it covers
    pack = EvidenceBuilder(sources=EvidenceSources(probe_run=sched.runs.latest_ok,
                                                   detectors=sched.host.snapshot),
                           dashboard_url=None, clock=lambda: 0.0)
    probes = pack.probes()
    cat = probes["categories"]["disallowed"]
    assert probes["epoch"] == again.epoch and cat["evidence"]["epoch"] == again.epoch
    assert cat["paired"]["drift"] is drift and ("paired" in cat["detected_by"]) is drift
    assert cat["paired"]["pairs"]["base_only"] == pairs["base_only"]
    assert cat["coverage"]["drawn"] == 700 and cat["evidence"]["admitted"] == 700
    dets = pack.detectors()["paired/probe/disallowed"]
    assert dets["direction"] == "less" and dets["evidence"]["epoch"] == again.epoch


async def test_run_summaries_and_packs_carry_the_rate_corrected_for_judge_error(
        tmp_path: Path, refusal_classifier: Any) -> None:
    """A deterministic model refusing 40 of 63 disallowed units: the epoch's raw rate 40/63 and,
    beside it, the Rogan–Gladen rate for the judge's error, in the stored run summary and so in
    the evidence pack of a ticket."""
    from monitor.triggers.evidence import probes_evidence

    units = generate_pool(categories=["disallowed"]).units[:63]
    suite = Pool(name="sixty-three", version=1, units=units).suite()
    refused = {u.id for u in units[:40]}
    model = UnitModel(suite=suite, refuses=lambda unit, version: unit in refused)
    sched, _, _ = scheduler(tmp_path, suite, model, refusal_classifier,
                            stored_baseline(suite, {"disallowed": (57, 6)}))
    err = JudgeError(tp=70, fn=30, tn=80, fp=20)
    sched.host.set_judge_error("probe", err)
    result = await sched.run_once()
    assert result.status == "ok", result.error
    state = sched.host.states()["refusal_rate/probe/disallowed"]
    want = corrected_rate(40, 63, err)
    assert want is not None and state["corrected_rate"]["corrected"] == round(want.corrected, 4)
    cat = probes_evidence(sched.runs.latest_ok())["categories"]["disallowed"]
    got = cat["corrected_refusal_rate"]
    assert (got["refused"], got["scored"], got["raw"]) == (40, 63, round(40 / 63, 4))
    assert got["method"] == "rogan-gladen" and got["judge"]["sensitivity"] == 0.7
    assert got["low"] <= got["corrected"] <= got["high"]


def test_a_retrained_judge_does_not_reuse_the_cached_base_verdicts(monkeypatch) -> None:
    """The base-verdict cache key names the judge's weights, not only its kind."""
    import detectors.refusal
    from monitor.probes.base_model import BaseComparison
    from monitor.probes.config import ProbeSettings

    settings = ProbeSettings(base_url=BASE, base_model="gemma-base")

    def key() -> str:
        return BaseComparison(settings=settings, runs=None, suite=None).key  # type: ignore[arg-type]

    shipped = key()
    assert key() == shipped
    monkeypatch.setattr(detectors.refusal, "fingerprint", lambda kind: "retrained0000000")
    assert key() != shipped
