"""Writes ``prompts.jsonl``: a seeded, template-generated prompt corpus for the drift benchmark.

Eight topics (seven form the production mix, ``astronomy`` is held out as the "new topic"), several
styles per topic (question, imperative, casual, formal with context, terse), slot fillers per topic.
Rebuild with ``.venv/bin/python bench/corpus/make_corpus.py`` (deterministic, seed 0).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

STYLES = [
    "{q}",
    "Quick question: {q}",
    "hey, {lq} thanks!",
    "I'm working on something and need help. {q} Please be concise.",
    "Could you explain {topic_phrase}? Specifically, {lq}",
    "{q} Give me three bullet points.",
    "As an expert, answer this: {q}",
    "{lq_noq}?? asap pls",
]

TOPICS: dict[str, dict[str, list[str]]] = {
    "cooking": {
        "phrase": ["a recipe detail", "a cooking technique", "kitchen basics"],
        "q": [
            "How long should I roast {veg} at {temp} degrees?",
            "What can I substitute for {ing} in a {dish}?",
            "How do I keep {dish} from getting soggy?",
            "Is it safe to freeze cooked {veg}?",
            "What spices go well with {veg} in a {dish}?",
            "Why did my {dish} turn out dry when I used {ing}?",
        ],
        "veg": ["carrots", "potatoes", "broccoli", "cauliflower", "sweet potatoes", "zucchini"],
        "temp": ["180", "200", "220", "400"],
        "ing": ["butter", "eggs", "buttermilk", "cream", "flour", "sugar"],
        "dish": ["lasagna", "pie crust", "risotto", "banana bread", "stir fry", "quiche"],
    },
    "programming": {
        "phrase": ["a programming problem", "a bug in my code", "a language feature"],
        "q": [
            "How do I reverse a {ds} in {lang}?",
            "Why does my {lang} program throw a {err} when I read a file?",
            "What is the difference between a {ds} and a set in {lang}?",
            "How can I make this {lang} loop over a {ds} faster?",
            "Write a {lang} function that removes duplicates from a {ds}.",
            "How do I write unit tests for a {lang} class that uses a {ds}?",
        ],
        "ds": ["list", "dictionary", "linked list", "array", "hash map", "queue"],
        "lang": ["Python", "JavaScript", "Rust", "Go", "Java", "C++"],
        "err": ["null pointer exception", "type error", "segfault", "index error", "panic"],
    },
    "travel": {
        "phrase": ["travel planning", "a trip itinerary", "visa and packing questions"],
        "q": [
            "What should I pack for {days} days in {city} in {month}?",
            "Is {city} worth visiting in {month}?",
            "How do I get from the airport to the center of {city}?",
            "Plan a {days}-day itinerary for {city} on a budget.",
            "Do I need a visa to visit {city} for {days} days?",
            "What are cheap neighborhoods to stay in {city}?",
        ],
        "city": ["Lisbon", "Kyoto", "Mexico City", "Prague", "Marrakesh", "Vancouver", "Hanoi"],
        "days": ["three", "five", "seven", "ten"],
        "month": ["January", "April", "July", "October", "December"],
    },
    "finance": {
        "phrase": ["personal finance", "budgeting", "saving and investing"],
        "q": [
            "How much of my {income} salary should go to {goal}?",
            "Is it better to pay off {debt} or invest in {asset}?",
            "How does compound interest work on {asset}?",
            "What is a good emergency fund size if I earn {income} a year?",
            "Should I refinance my {debt} when rates drop?",
            "Explain the tax treatment of {asset} for a beginner.",
        ],
        "income": ["40k", "65k", "90k", "120k"],
        "goal": ["retirement", "rent", "an emergency fund", "a house deposit"],
        "debt": ["student loans", "a car loan", "credit card debt", "a mortgage"],
        "asset": ["index funds", "bonds", "a savings account", "dividend stocks"],
    },
    "fitness": {
        "phrase": ["a workout plan", "training and recovery", "exercise form"],
        "q": [
            "How many sets of {ex} should I do to build strength?",
            "Is it okay to do {ex} every day?",
            "How do I improve my {metric} for a {race}?",
            "What should I eat before a {race}?",
            "My {body} hurts after {ex}; what am I doing wrong?",
            "Create a {weeks}-week plan to train for a {race}.",
        ],
        "ex": ["squats", "deadlifts", "push-ups", "pull-ups", "lunges", "planks"],
        "metric": ["pace", "endurance", "mobility", "grip strength"],
        "race": ["5k", "half marathon", "marathon", "triathlon"],
        "body": ["lower back", "knee", "shoulder", "wrist"],
        "weeks": ["four", "eight", "twelve"],
    },
    "support": {
        "phrase": ["an order problem", "my account", "a refund"],
        "q": [
            "My order {order} hasn't arrived after {days} days, what can I do?",
            "How do I return a {item} I bought last week?",
            "I was charged twice for my {item}; can you help?",
            "How do I change the shipping address on order {order}?",
            "Can I cancel my {plan} subscription and get a refund?",
            "The {item} I received is damaged. What are my options?",
        ],
        "order": ["#48213", "#99102", "#12077", "#55310", "#70031"],
        "days": ["five", "ten", "fourteen", "twenty"],
        "item": ["blender", "pair of shoes", "laptop stand", "jacket", "phone case"],
        "plan": ["premium", "family", "annual", "monthly"],
    },
    "history": {
        "phrase": ["a history question", "historical context", "a historical event"],
        "q": [
            "What caused the {event}?",
            "Who were the key figures in the {event}?",
            "How did the {event} affect {region}?",
            "Summarize the {event} in a few sentences.",
            "What was daily life like in {region} during the {era}?",
            "Compare the {event} with events in {region} during the {era}.",
        ],
        "event": ["French Revolution", "fall of Rome", "Meiji Restoration", "Industrial Revolution",
                  "Hundred Years' War", "printing revolution"],
        "region": ["Europe", "East Asia", "the Ottoman Empire", "West Africa", "South America"],
        "era": ["18th century", "Middle Ages", "Renaissance", "Bronze Age"],
    },
    "astronomy": {
        "phrase": ["an astronomy question", "space science", "the night sky"],
        "q": [
            "Why does {body} appear {color} in the night sky?",
            "How far away is {body} and how long would it take to travel there?",
            "What telescope do I need to see the {feature} of {body}?",
            "How do astronomers measure the mass of {body}?",
            "When is the best time to observe {body} this {season}?",
            "Explain how {feature} form around objects like {body}.",
        ],
        "body": ["Jupiter", "Saturn", "the Andromeda galaxy", "Mars", "Betelgeuse", "the Moon"],
        "color": ["red", "orange", "bluish", "pale yellow"],
        "feature": ["rings", "craters", "moons", "spiral arms", "storms"],
        "season": ["winter", "summer", "spring", "autumn"],
    },
}


def fill(rng: random.Random, template: str, slots: dict[str, list[str]]) -> str:
    out = template
    for key, values in slots.items():
        token = "{" + key + "}"
        while token in out:
            out = out.replace(token, rng.choice(values), 1)
    return out


def build(per_topic: int = 160, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for topic, spec in TOPICS.items():
        slots = {k: v for k, v in spec.items() if k not in ("q", "phrase")}
        seen: set[str] = set()
        attempts = 0
        while len(seen) < per_topic and attempts < per_topic * 50:
            attempts += 1
            q = fill(rng, rng.choice(spec["q"]), slots)
            lq = q[0].lower() + q[1:]
            text = rng.choice(STYLES).format(
                q=q, lq=lq, lq_noq=lq.rstrip("?."), topic_phrase=rng.choice(spec["phrase"])
            )
            if text not in seen:
                seen.add(text)
                rows.append({"topic": topic, "prompt": text})
    return rows


def main() -> None:
    rows = build()
    path = Path(__file__).with_name("prompts.jsonl")
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["topic"]] = counts.get(row["topic"], 0) + 1
    print(f"wrote {len(rows)} prompts to {path}: {counts}")


if __name__ == "__main__":
    main()
