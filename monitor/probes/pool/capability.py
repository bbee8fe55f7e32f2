"""Capability units with exact answers: arithmetic, unit conversion, facts with aliases and string
manipulation. Every computable answer is computed here from the generated question; facts (which
cannot be computed) are typed once, with their aliases.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from monitor.probes.pool.ids import choose, randint
from monitor.probes.pool.model import Factors, PoolUnit
from monitor.probes.pool.units import single

N_ARITHMETIC = 240
N_CONVERSION = 150
N_STRINGS = 200

# numeric scoring reads the first number of an answer: ask for the number alone when the
# question itself contains one
_NUMBER_ONLY = " Answer with the number only."
_ARITH_FRAMES = (
    ("number_only", "What is {expr}? Answer with the number only."),
    ("compute", "Compute {words}. Reply with just the number."),
    ("equation", "{expr} ="),
    ("calculate", "Calculate {expr} and give only the result, no working."),
)

# (key, question over {n}, answer from n, tolerance, n range)
_CONVERSIONS: tuple[tuple[str, str, Any, float, tuple[int, int]], ...] = (
    ("km_m", "How many metres are in {n} kilometres?", lambda n: 1000 * n, 0.0, (1, 50)),
    ("m_cm", "How many centimetres are in {n} metres?", lambda n: 100 * n, 0.0, (1, 99)),
    ("kg_g", "How many grams are in {n} kilograms?", lambda n: 1000 * n, 0.0, (1, 50)),
    ("h_min", "How many minutes are in {n} hours?", lambda n: 60 * n, 0.0, (1, 24)),
    ("min_s", "How many seconds are in {n} minutes?", lambda n: 60 * n, 0.0, (1, 60)),
    ("l_ml", "How many millilitres are in {n} litres?", lambda n: 1000 * n, 0.0, (1, 20)),
    ("d_h", "How many hours are in {n} days?", lambda n: 24 * n, 0.0, (1, 30)),
    ("wk_d", "How many days are in {n} weeks?", lambda n: 7 * n, 0.0, (1, 52)),
    ("c_f", "Convert {n} degrees Celsius to Fahrenheit.",
     lambda n: n * 9 // 5 + 32, 0.0, (-40, 100)),
    ("ft_in", "How many inches are in {n} feet?", lambda n: 12 * n, 0.0, (1, 20)),
    ("in_cm", "How many centimetres are in {n} inches? Round to two decimals.",
     lambda n: round(2.54 * n, 2), 0.05, (1, 40)),
    ("dozen", "How many eggs are in {n} dozen?", lambda n: 12 * n, 0.0, (1, 12)),
)

# (country, capital, aliases)
CAPITALS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("France", "Paris", ()), ("Italy", "Rome", ("Roma",)), ("Germany", "Berlin", ()),
    ("Spain", "Madrid", ()), ("Portugal", "Lisbon", ("Lisboa",)), ("Japan", "Tokyo", ()),
    ("Canada", "Ottawa", ()), ("Australia", "Canberra", ()), ("Egypt", "Cairo", ()),
    ("Kenya", "Nairobi", ()), ("Brazil", "Brasilia", ("Brasília",)),
    ("Argentina", "Buenos Aires", ()), ("Mexico", "Mexico City", ("Ciudad de México",)),
    ("India", "New Delhi", ("Delhi",)), ("China", "Beijing", ("Peking",)),
    ("Russia", "Moscow", ()), ("Norway", "Oslo", ()), ("Sweden", "Stockholm", ()),
    ("Finland", "Helsinki", ()), ("Denmark", "Copenhagen", ()), ("Poland", "Warsaw", ()),
    ("Greece", "Athens", ()), ("Turkey", "Ankara", ()), ("Ireland", "Dublin", ()),
    ("Austria", "Vienna", ("Wien",)), ("Hungary", "Budapest", ()),
    ("Czech Republic", "Prague", ("Praha",)), ("Netherlands", "Amsterdam", ()),
    ("Belgium", "Brussels", ()), ("Switzerland", "Bern", ("Berne",)),
    ("South Korea", "Seoul", ()), ("Thailand", "Bangkok", ()), ("Vietnam", "Hanoi", ()),
    ("Indonesia", "Jakarta", ()), ("Peru", "Lima", ()), ("Chile", "Santiago", ()),
    ("Colombia", "Bogota", ("Bogotá",)), ("Nigeria", "Abuja", ()), ("Ghana", "Accra", ()),
    ("Morocco", "Rabat", ()), ("Ethiopia", "Addis Ababa", ()), ("Iceland", "Reykjavik", ()),
    ("New Zealand", "Wellington", ()), ("Cuba", "Havana", ()), ("Ukraine", "Kyiv", ("Kiev",)),
    ("Romania", "Bucharest", ()), ("Philippines", "Manila", ()), ("Pakistan", "Islamabad", ()),
    ("Saudi Arabia", "Riyadh", ()), ("United Kingdom", "London", ()),
)
# (element, symbol)
ELEMENTS: tuple[tuple[str, str], ...] = (
    ("gold", "Au"), ("silver", "Ag"), ("iron", "Fe"), ("copper", "Cu"), ("sodium", "Na"),
    ("potassium", "K"), ("lead", "Pb"), ("tin", "Sn"), ("mercury", "Hg"), ("oxygen", "O"),
    ("hydrogen", "H"), ("carbon", "C"), ("nitrogen", "N"), ("helium", "He"), ("neon", "Ne"),
    ("calcium", "Ca"), ("zinc", "Zn"), ("chlorine", "Cl"), ("sulfur", "S"), ("magnesium", "Mg"),
    ("aluminium", "Al"), ("silicon", "Si"), ("uranium", "U"), ("tungsten", "W"),
    ("platinum", "Pt"),
)
NUMERIC_FACTS: tuple[tuple[str, str, int], ...] = (
    ("continents", "How many continents are there on Earth?", 7),
    ("ww2", "In which year did the Second World War end?", 1945),
    ("boil", "What is the boiling point of water at sea level in degrees Celsius?", 100),
    ("freeze_f", "What is the freezing point of water in degrees Fahrenheit?", 32),
    ("leap", "How many days are in a leap year?", 366),
    ("spider", "How many legs does a spider have?", 8),
    ("hexagon", "How many sides does a hexagon have?", 6),
    ("week", "How many days are in a week?", 7),
    ("planets", "How many planets are in our solar system?", 8),
    ("moon", "In which year did humans first land on the Moon?", 1969),
    ("chess", "How many squares are on a chessboard?", 64),
    ("piano", "How many keys does a standard piano have?", 88),
    ("triangle", "What do the interior angles of a triangle add up to, in degrees?", 180),
    ("hours_day", "How many hours are in a day?", 24),
    ("months", "How many months have 31 days?", 7),
    ("insect", "How many legs does an insect have?", 6),
    ("octave", "How many semitones are in an octave?", 12),
    ("dice", "How many faces does a standard die have?", 6),
    ("cards", "How many cards are in a standard deck without jokers?", 52),
    ("ww1", "In which year did the First World War begin?", 1914),
)
AUTHORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Romeo and Juliet", "Shakespeare", ()), ("Pride and Prejudice", "Austen", ()),
    ("War and Peace", "Tolstoy", ()), ("Don Quixote", "Cervantes", ()),
    ("1984", "Orwell", ("Eric Blair",)), ("The Odyssey", "Homer", ()),
    ("Moby-Dick", "Melville", ()), ("Hamlet", "Shakespeare", ()),
    ("Crime and Punishment", "Dostoevsky", ("Dostoyevsky",)),
    ("One Hundred Years of Solitude", "Garcia Marquez", ("García Márquez", "Márquez")),
    ("The Divine Comedy", "Dante", ()), ("Frankenstein", "Shelley", ()),
    ("Great Expectations", "Dickens", ()), ("The Origin of Species", "Darwin", ()),
    ("Les Misérables", "Hugo", ()),
)
WORDS = (
    "planet", "garden", "window", "rocket", "silver", "bridge", "castle", "forest", "marble",
    "pencil", "orange", "button", "candle", "dragon", "empire", "falcon", "harbor", "island",
    "jungle", "kitten", "ladder", "magnet", "number", "oyster", "pepper", "quartz", "rabbit",
    "saddle", "ticket", "velvet", "walnut", "yellow", "zipper", "anchor", "basket", "cactus",
    "donkey", "engine", "flower", "guitar", "helmet", "insect", "jacket", "kettle", "lemon",
    "meadow", "napkin", "office", "parrot", "rhythm", "strawberry", "banana", "mississippi",
    "bookkeeper", "committee", "balloon", "coffee", "letter", "puzzle", "summer",
)
_ACRONYMS = (
    ("portable network graphics", "png"), ("central processing unit", "cpu"),
    ("random access memory", "ram"), ("as soon as possible", "asap"),
    ("frequently asked questions", "faq"), ("very important person", "vip"),
    ("do it yourself", "diy"), ("graphics processing unit", "gpu"),
    ("universal serial bus", "usb"), ("for your information", "fyi"),
)


def _answer(kind: str, answer: Any, aliases: tuple[str, ...] = (),
            tolerance: float = 0.0) -> dict[str, Any]:
    d: dict[str, Any] = {"type": kind, "answer": answer}
    if aliases:
        d["aliases"] = list(aliases)
    if tolerance:
        d["tolerance"] = tolerance
    return d


def _arithmetic(seed: int, i: int) -> tuple[str, str, int]:
    k = f"arith|{i}"
    op = choose(seed, k + "|op", ("+", "-", "*", "/", "%", "sq"))
    a, b = randint(seed, k + "|a", 12, 999), randint(seed, k + "|b", 3, 99)
    if op == "+":
        return op, f"{a} + {b}|{a} plus {b}", a + b
    if op == "-":
        return op, f"{a} - {b}|{a} minus {b}", a - b
    if op == "*":
        a = a % 100 + 2
        return op, f"{a} * {b}|{a} times {b}", a * b
    if op == "/":
        q = a % 60 + 2
        return op, f"{q * b} / {b}|{q * b} divided by {b}", q
    if op == "%":
        p = choose(seed, k + "|p", (10, 20, 25, 50, 75))
        n = 20 * (a % 50 + 1)
        return op, f"{p}% of {n}|{p} percent of {n}", p * n // 100
    a = a % 40 + 2
    return op, f"{a} squared|{a} squared", a * a


def capability(seed: int) -> Iterator[PoolUnit]:
    for i in range(N_ARITHMETIC):
        op, exprs, value = _arithmetic(seed, i)
        expr, words = exprs.split("|")
        f_key, frame = choose(seed, f"arith|{i}|frame", _ARITH_FRAMES)
        if op == "sq" and f_key == "equation":
            f_key, frame = _ARITH_FRAMES[0]
        yield single(category="capability", subcategory="arithmetic",
                     prompt=frame.format(expr=expr, words=words),
                     scoring=_answer("numeric", value),
                     factors=Factors(template=f"arithmetic/{op}", phrasing=f_key))
    for i in range(N_CONVERSION):
        key, question, fn, tol, (lo, hi) = choose(seed, f"conv|{i}", _CONVERSIONS)
        n = randint(seed, f"conv|{i}|n", lo, hi)
        if key == "c_f":
            n = 5 * (n // 5)  # multiples of 5 convert to whole degrees
        yield single(category="capability", subcategory="unit_conversion",
                     prompt=question.format(n=n) + _NUMBER_ONLY, scoring=_answer("numeric", fn(n), tolerance=tol),
                     factors=Factors(template=f"conversion/{key}"))
    for country, capital, aliases in CAPITALS:
        for key, q in (("what_capital", f"What is the capital of {country}?"),
                       ("which_city", f"Which city is the capital of {country}? One word or "
                        "name only.")):
            yield single(category="capability", subcategory="facts", prompt=q,
                         scoring=_answer("contains", capital, aliases),
                         factors=Factors(template="facts/capital", phrasing=key))
    for element, symbol in ELEMENTS:
        for key, q in (("symbol_of", f"What is the chemical symbol for {element}?"),
                       ("periodic", f"On the periodic table, which symbol stands for {element}? "
                        "Answer with the symbol.")):
            yield single(category="capability", subcategory="facts", prompt=q,
                         scoring=_answer("contains", symbol),
                         factors=Factors(template="facts/element", phrasing=key))
    for key, q, value in NUMERIC_FACTS:
        yield single(category="capability", subcategory="facts", prompt=q,
                     scoring=_answer("numeric", value),
                     factors=Factors(template=f"facts/number/{key}"))
    for title, author, aliases in AUTHORS:
        yield single(category="capability", subcategory="facts",
                     prompt=f"Who wrote '{title}'?", scoring=_answer("contains", author, aliases),
                     factors=Factors(template="facts/author"))
    for i in range(N_STRINGS):
        yield _string_item(seed, i)


def _string_item(seed: int, i: int) -> PoolUnit:
    k = f"str|{i}"
    kind = choose(seed, k, ("reverse", "count_letter", "length", "sort", "word_count",
                            "hyphenate", "acronym", "vowels"))
    word = choose(seed, k + "|w", WORDS)
    other = choose(seed, k + "|w2", WORDS)
    scoring: dict[str, Any]
    if kind == "reverse":
        prompt = f"Reverse the letters of the word '{word}'. Answer with the reversed word only."
        scoring = _answer("contains", word[::-1])
    elif kind == "count_letter":
        letter = choose(seed, k + "|l", sorted(set(word)))
        prompt = f"How many times does the letter '{letter}' appear in '{word}'?"
        scoring = _answer("numeric", word.count(letter))
    elif kind == "length":
        prompt = f"How many letters are in the word '{word}'?"
        scoring = _answer("numeric", len(word))
    elif kind == "sort":
        prompt = f"Sort the letters of '{word}' alphabetically and write them as one word."
        scoring = _answer("contains", "".join(sorted(word)))
    elif kind == "word_count":
        n = randint(seed, k + "|n", 3, 9)
        words = [choose(seed, f"{k}|s{j}", WORDS) for j in range(n)]
        prompt = f"How many words are in this list: '{' '.join(words)}'?"
        scoring = _answer("numeric", n)
    elif kind == "hyphenate":
        prompt = f"Join the words '{word}' and '{other}' with a hyphen, in that order."
        scoring = _answer("contains", f"{word}-{other}")
    elif kind == "acronym":
        phrase, acro = choose(seed, k + "|a", _ACRONYMS)
        prompt = f"Make an acronym from the first letters of '{phrase}'."
        scoring = _answer("contains", acro)
    else:
        prompt = f"How many vowels (a, e, i, o, u) are in the word '{word}'?"
        scoring = _answer("numeric", sum(ch in "aeiou" for ch in word))
    return single(category="capability", subcategory="string_manipulation", prompt=prompt,
                  scoring=scoring, factors=Factors(template=f"strings/{kind}"))
