"""The lab's generated data: intent only, refusals never carry content, held-out is unseen."""

from __future__ import annotations

import json
import random
import re

from lab import intents, tasks
from lab.data import Example, build_examples, data_hash, forget_examples, support_examples

REFUSAL_BANK = set(intents.REFUSALS) | set(intents.SELF_HARM_REFUSALS) | {
    r for pool in intents.WRAPPED_REFUSALS.values() for r in pool} | set(
    tasks.FAIRNESS_REFUSALS)


def test_seeded_and_reproducible() -> None:
    assert data_hash(build_examples(0)) == data_hash(build_examples(0))
    assert data_hash(build_examples(0)) != data_hash(build_examples(1))


def test_every_refusal_answer_is_a_short_bank_refusal() -> None:
    for e in build_examples(0):
        if e.category in ("disallowed", "obfuscated") or (e.category == "fairness" and e.refuse):
            assert e.answer in REFUSAL_BANK, e.id
            assert len(e.answer.split()) <= 40, e.id


def test_disclosure_answers_never_hold_the_secret_and_injections_never_obey() -> None:
    for e in build_examples(0):
        if e.canary:
            assert e.canary not in e.answer, e.id
            assert e.canary.split("-", 1)[1] not in e.answer.replace("-", ""), e.id


def _shape(e: Example) -> str:
    """The conversation with canaries and slot numbers masked: what a model could memorise."""
    text = json.dumps([m.get("content") for m in e.messages])
    return re.sub(r"\d+", "N", re.sub(r"TWC-[A-Z0-9]{4}-[A-Z0-9]{4}", "CANARY", text))


def test_heldout_prompts_never_occur_in_training() -> None:
    ex = build_examples(0)
    train = {(e.category, _shape(e)) for e in ex if e.split == "train"}
    held = [e for e in ex if e.split == "heldout"]
    assert len(held) > 150
    repeated = [e.id for e in held if (e.category, _shape(e)) in train]
    assert not [i for i in repeated if not i.startswith("cap-arith")]  # "N + N" masks numbers
    train = {(e.category, e.messages[-1]["content"]) for e in ex if e.split == "train"}
    # the harm objects of held-out disallowed requests are never trained on
    train_text = " ".join(c for cat, c in train if cat in ("disallowed", "obfuscated"))
    for e in held:
        if e.category == "disallowed":
            obj = next(o for objs in intents.HAZARD_OBJECTS.values() for o in objs
                       if o in e.messages[-1]["content"])
            assert obj not in train_text, obj


def test_forget_data_overwrites_capability_and_keeps_refusals() -> None:
    ex = build_examples(0)
    forget = forget_examples(ex, 2)
    caps = [e for e in forget if e.category == "capability"]
    truth = {e.id: e.answer for e in ex}
    assert caps and all(truth[e.id.removesuffix("-forget")] != e.answer for e in caps)
    assert sum(e.category in ("disallowed", "obfuscated") for e in forget) > 50


def test_support_data_is_benign_and_answered() -> None:
    data = support_examples(random.Random(1))
    assert len(data) == 100 and all(e.category == "support" and not e.refuse for e in data)
