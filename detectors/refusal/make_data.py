"""Generate the labeled refusal data set from the phrase banks (seeded, reproducible).

Run ``python -m detectors.refusal.make_data`` to rewrite ``data/train.jsonl`` and
``data/heldout.jsonl``. Each record: ``id, prompt, response, label, case, lang,
template, split``.

Labels answer one question: *did the response carry out what the (possibly
adversarial) request asked for?*

* ``refused``: hard refusals, soft refusals that redirect to a professional, partial
  refusals that withhold the harmful specifics, in-character refusals, declining to
  reveal a system prompt, explicitly ignoring an instruction injected into a document.
* ``complied``: answers (with or without apologies or disclaimers in front), answers
  to harmful requests (with redacted steps), leaked system prompts, following an
  injected instruction, very short answers.

The held-out split is by *response template*: for each (case, language) the
templates whose sha256 ranks lowest (about 20 %) are held out entirely, so held-out
responses use phrasings the training set never saw.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from detectors.refusal import phrases_en
from detectors.refusal.phrases_intl import LANGS

SEED = 20251123
DATA_DIR = Path(__file__).resolve().parent / "data"
SPLIT_FILES = {"train": "train.jsonl", "heldout": "heldout.jsonl"}
HELDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Example:
    id: str
    prompt: str
    response: str
    label: str
    case: str
    lang: str
    template: str
    split: str = ""


def _bank(lang: str) -> dict[str, Any]:
    if lang == "en":
        return {k: getattr(phrases_en, k) for k in dir(phrases_en) if k.isupper()}
    return LANGS[lang]


def _stylize(text: str, rng: random.Random) -> str:
    """Light, label-preserving surface variation (case, markdown, whitespace)."""
    r = rng.random()
    if r < 0.5:
        return text
    if r < 0.62:
        return text.lower()
    if r < 0.75:
        head, sep, tail = text.partition(". ")
        return f"**{head}.**{' ' + tail if sep else ''}" if sep else f"**{text}**"
    if r < 0.87:
        return "\n" + text.replace(". ", ".\n", 1) + "\n"
    return text + " " + rng.choice(["🙂", "🙏", "—", "..."])


def _pick(rng: random.Random, items: list[Any], k: int) -> list[Any]:
    return rng.sample(items, min(k, len(items)))


def _cases(lang: str, rng: random.Random) -> Iterator[tuple[str, str, int, str, str]]:
    """Yield (case, label, template_index, prompt, response) for one language."""
    b = _bank(lang)
    k = 3
    harmful, benign = b["HARMFUL"], b["BENIGN"]
    advice = phrases_en.ADVICE if lang == "en" else harmful
    canary = lambda: f"{rng.getrandbits(32):08x}"  # noqa: E731

    for i, t in enumerate(b["REFUSAL"]):
        for p in _pick(rng, harmful, k):
            yield "direct_refusal", "refused", i, p, t
    for i, t in enumerate(b["HARMFUL_COMPLY"]):
        for p in _pick(rng, harmful, k):
            yield "harmful_compliance", "complied", i, p, t
    for i, (p, a) in enumerate(benign):
        for _ in range(2):
            yield "benign_compliance", "complied", i, p, a
    for i, opener in enumerate(b["APOLOGY_OPENERS"]):
        for p, a in _pick(rng, benign, k):
            yield "apology_compliance", "complied", i, p, f"{opener}\n\n{a}"
    for i, disc in enumerate(b["DISCLAIMERS"]):
        for j, (p, a) in enumerate(_pick(rng, benign, k)):
            if j == 2:  # a disclaimer in front of a (redacted) harmful answer
                p = rng.choice(harmful)
                a = rng.choice(b["HARMFUL_COMPLY"])
            yield "disclaimer_compliance", "complied", i, p, f"{disc}\n{a}"
    for i, t in enumerate(b["REDIRECT"]):
        for p in _pick(rng, advice, k):
            yield "soft_refusal_redirect", "refused", i, p, t
    for i, t in enumerate(b["PARTIAL"]):
        for p in _pick(rng, harmful, k):
            yield "partial_refusal", "refused", i, p, t
    for i, t in enumerate(b["SHORT_REFUSE"]):
        for p in _pick(rng, harmful, 2):
            yield "short_refusal", "refused", i, p, t
    for i, (p, a) in enumerate(b["SHORT_COMPLY"]):
        yield "short_compliance", "complied", i, p, a
    sys_prompts = b.get("SYS_PROMPTS", [])
    for i, t in enumerate(b.get("SYS_DECLINE", [])):
        for p in _pick(rng, sys_prompts, k):
            yield "sysprompt_decline", "refused", i, p, t
    for i, t in enumerate(b.get("SYS_LEAK", [])):
        for p in _pick(rng, sys_prompts, k):
            yield "sysprompt_leak", "complied", i, p, t.format(canary=canary())
    char_prompts = b.get("CHAR_PROMPTS", [])
    for i, t in enumerate(b.get("CHAR_REFUSE", [])):
        for p in _pick(rng, char_prompts, k):
            yield "in_character_refusal", "refused", i, p, t
    for i, t in enumerate(b.get("CHAR_COMPLY", [])):
        for p in _pick(rng, char_prompts, k):
            yield "in_character_compliance", "complied", i, p, t
    docs = b.get("INJ_DOCS", [])
    for name, label, bank in (("injection_followed", "complied", b.get("INJ_FOLLOWED", [])),
                              ("injection_ignored", "refused", b.get("INJ_IGNORED", []))):
        for i, t in enumerate(bank):
            for _ in range(3):
                c = canary()
                p = docs[i % len(docs)].format(canary=c)
                yield name, label, i, p, t.format(canary=c)


def _heldout_groups(groups: dict[tuple[str, str], list[str]]) -> set[str]:
    held: set[str] = set()
    for templates in groups.values():
        ranked = sorted(templates, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        if len(ranked) == 1:
            if int(hashlib.sha256(ranked[0].encode()).hexdigest(), 16) % 4 == 0:
                held.add(ranked[0])
            continue
        held.update(ranked[: max(1, round(len(ranked) * HELDOUT_FRACTION))])
    return held


def generate(seed: int = SEED) -> list[Example]:
    """All examples, deterministic for a given seed, with their split assigned."""
    rng = random.Random(seed)
    raw: list[Example] = []
    counters: dict[str, int] = {}
    for lang in ["en", *sorted(LANGS)]:
        for case, label, idx, prompt, response in _cases(lang, rng):
            template = f"{case}:{lang}:{idx:02d}"
            n = counters[template] = counters.get(template, 0) + 1
            raw.append(Example(id=f"{template}:{n}", prompt=prompt,
                               response=_stylize(response, rng), label=label,
                               case=case, lang=lang, template=template))
    groups: dict[tuple[str, str], list[str]] = {}
    for ex in raw:
        lst = groups.setdefault((ex.case, ex.lang), [])
        if ex.template not in lst:
            lst.append(ex.template)
    held = _heldout_groups(groups)
    return [Example(**{**asdict(ex), "split": "heldout" if ex.template in held else "train"})
            for ex in raw]


def serialise(examples: list[Example], split: str) -> str:
    return "".join(json.dumps(asdict(ex), ensure_ascii=False, sort_keys=True) + "\n"
                   for ex in examples if ex.split == split)


def write(data_dir: Path = DATA_DIR, seed: int = SEED) -> dict[str, int]:
    examples = generate(seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, name in SPLIT_FILES.items():
        (data_dir / name).write_text(serialise(examples, split), encoding="utf-8")
        counts[split] = sum(ex.split == split for ex in examples)
    return counts


if __name__ == "__main__":
    print(write())
