"""Importers: HarmBench / JailbreakBench / AdvBench / generic CSV and JSONL (our own sample rows,
written for these tests in the public column layouts; no dataset content)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.probes.pool.generate import combine, generate_pool
from monitor.probes.pool.importers import (
    CATEGORY_MAP,
    HAZARDS,
    import_csv,
    import_jsonl,
    parse_csv,
    parse_jsonl,
)
from monitor.probes.suite import Probe
from monitor.probes.yamlmarks import SourceErrors

DATA = Path(__file__).parent / "data"


def test_harmbench_rows_map_to_hazards_with_context() -> None:
    pool = import_csv(DATA / "harmbench_sample.csv")
    subs = [u.subcategory for u in pool.units]
    assert subs == ["non_violent_crimes", "hate", "non_violent_crimes", "intellectual_property",
                    "indiscriminate_weapons_cbrne"]
    contextual = pool.units[2].probes[0]
    assert isinstance(contextual, Probe) and contextual.prompt is not None
    assert contextual.prompt.startswith("Clinic: [REDACTED]\nDoctor:")
    assert contextual.prompt.endswith("write a fake sick note from this clinic excusing me from "
                                      "work")
    assert "external_id=tw_fake_note" in contextual.tags and "source=harmbench" in contextual.tags
    assert all(p.category == "disallowed" and p.scoring.type == "refusal"
               for p in pool.probes())
    assert pool.suite().probes  # valid suite probes


def test_jailbreakbench_ignores_the_target_column() -> None:
    pool = import_csv(DATA / "jailbreakbench_sample.csv")
    assert [u.subcategory for u in pool.units] == ["defamation", "privacy", "non_violent_crimes"]
    assert not any("[REDACTED]" in (p.chat_messages()[-1].content) for p in pool.probes())
    benign = import_csv(DATA / "jailbreakbench_benign_sample.csv", category="benign")
    assert all(p.category == "benign" and p.scoring.type == "refusal" for p in benign.probes())
    assert benign.counts() == {"benign": 2}


def test_advbench_and_generic() -> None:
    adv = import_csv(DATA / "advbench_sample.csv", default_hazard="non_violent_crimes")
    assert [u.subcategory for u in adv.units] == ["non_violent_crimes"] * 2
    gen = import_csv(DATA / "generic_sample.csv")
    assert [(u.category, u.subcategory) for u in gen.units] == [
        ("disallowed", "hate"), ("benign", "history"), ("disallowed", "privacy")]


def test_category_map_overrides_the_default() -> None:
    pool = import_csv(DATA / "harmbench_sample.csv",
                      category_map={"illegal": "privacy", "copyright": "benign:quotation"})
    assert [(u.category, u.subcategory) for u in pool.units] == [
        ("disallowed", "privacy"), ("disallowed", "hate"), ("disallowed", "privacy"),
        ("benign", "quotation"), ("disallowed", "indiscriminate_weapons_cbrne")]


def test_every_default_mapping_targets_a_hazard() -> None:
    for mapping in CATEGORY_MAP.values():
        assert set(mapping.values()) <= set(HAZARDS)


def test_bad_rows_are_reported_with_file_and_line() -> None:
    with pytest.raises(SourceErrors) as e:
        import_csv(DATA / "bad_rows.csv")
    got = [(err.line, err.problem.split(" (")[0].split(";")[0]) for err in e.value.errors]
    # the second row spans lines 3-5 (quoted newlines), so the bad rows are on lines 6, 7, 8
    assert got == [(6, "empty prompt"), (7, "unknown category 'gossip'"),
                   (8, "multimodal behaviours need an image")]
    assert str(e.value).startswith(f"{DATA / 'bad_rows.csv'}:6: empty prompt")
    assert "category_map={'gossip': '<hazard>'}" in e.value.errors[1].problem


def test_header_problems() -> None:
    with pytest.raises(SourceErrors, match=r"x.csv:1: missing column\(s\) Behavior"):
        parse_csv("Foo,SemanticCategory\na,b\n", file="x.csv", source="harmbench")
    with pytest.raises(SourceErrors, match="x.csv:1: empty file"):
        parse_csv("", file="x.csv")
    with pytest.raises(SourceErrors, match="x.csv:1: no rows after the header"):
        parse_csv("prompt,category\n", file="x.csv")
    with pytest.raises(SourceErrors, match="x.csv:2: row has 3 fields, the header has 2"):
        parse_csv("prompt,category\na,hate,extra\n", file="x.csv")
    with pytest.raises(SourceErrors, match=r"nope.csv: cannot read"):
        import_csv(DATA / "nope.csv")


def test_jsonl_sample_and_errors() -> None:
    pool = import_jsonl(DATA / "sample.jsonl")
    assert pool.counts() == {"disallowed": 1, "injection": 1, "capability": 1, "fairness": 1,
                             "benign": 1}
    fair = next(u for u in pool.units if u.category == "fairness")
    assert fair.id == "team-fair-1" and len(fair.probes) == 2
    with pytest.raises(SourceErrors) as e:
        import_jsonl(DATA / "bad.jsonl")
    got = [(err.line, err.problem[:30]) for err in e.value.errors]
    assert got == [
        (2, "invalid JSON at column 74: Inv"),
        (3, "category: 'mystery' is not one"),
        (4, "(row): category 'injection' ne"),
        (5, "fairness pair 'lone' needs at "),
        (6, "scoring: a capability probe ne"),
    ]


def test_generated_pool_round_trips_through_jsonl() -> None:
    pool = generate_pool(categories=["injection", "fairness", "benign", "capability"])
    back = parse_jsonl(pool.to_jsonl(), name=pool.name)
    assert back.hash == pool.hash
    assert [u.factors for u in back.units] == [u.factors for u in pool.units]


def test_imports_combine_with_the_generated_pool() -> None:
    gen = generate_pool(categories=["disallowed"])
    team = import_csv(DATA / "harmbench_sample.csv")
    both = combine(gen, team, team, name="with-team")
    assert both.counts()["disallowed"] == len(gen.units) + len(team.units)
