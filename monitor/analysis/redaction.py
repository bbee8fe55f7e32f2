"""PII and secret redaction applied before any sample is stored or logged.

Each kind of sensitive value is replaced by a typed placeholder such as ``[REDACTED:EMAIL]``.
Kinds (the keys of ``RedactionResult.counts``), applied in this order, one precompiled regex
pass each (phone: one per number format), a pass skipped outright when a cheap substring check
shows it cannot match:

``private_key``  PEM ``-----BEGIN ... PRIVATE KEY-----`` blocks; a block cut before its END loses
                 its BEGIN line and the base64 lines after it.
``jwt``          three base64url segments, the first starting with ``eyJ``.
``bearer``       the credential after ``Bearer`` (the word ``Bearer`` is kept).
``api_key``      vendor keys: OpenAI/Anthropic ``sk-...`` (incl. ``sk-proj-``), AWS ``AKIA...``,
                 GitHub ``ghp_``/``gho_``/``github_pat_``, Slack ``xox?-``, Google ``AIza...``,
                 Stripe ``sk_live_``/``rk_live_``, Hugging Face ``hf_``.
``secret``       the value of a generic assignment whose name ends in api_key, token, secret,
                 password, session, sid, ... (``API_KEY=...``, ``"token": "..."``,
                 ``password: ...``, ``session=...`` in a cookie or in prose); the name
                 is kept. After ``=`` or in quotes any value of 4+ characters is redacted; after a
                 bare ``:`` (prose such as "Password: required") only a value with a letter and a
                 digit, or 24+ characters.
``email``        ASCII addresses.
``iban``         upper-case IBANs (spaces allowed) of a known country with that country's length
                 and a valid mod-97 checksum.
``card``         13-19 digit card numbers (contiguous, 4-4-4-4[-1..3] or 4-6-4/5 with spaces,
                 dashes or dots) starting with 2-6 (the card networks' IIN ranges) and passing
                 Luhn.
``ssn``          US SSNs ``AAA-GG-SSSS`` excluding area 000/666/9xx, group 00, serial 0000.
``ipv6``         valid IPv6 addresses with at least three non-empty groups or one group of 3+
                 hex digits (so ``x[1::2]`` slices and ``a::b`` stay).
``ipv4``         dotted quads with octets 0-255 and no leading zeros. Decision: a bare four-part
                 ``1.2.3.4`` is indistinguishable from an address and IS redacted; ``v1.2.3.4``,
                 three-part (``1.2.3``) and five-part versions are not.
``phone``        ``+CC`` international numbers (7-15 digits), NANP ``(415) 555-2671`` /
                 ``415-555-2671`` / ``1-800-555-0199`` (area and exchange 2-9xx), and trunk-prefix
                 national numbers ``020 7946 0958`` / ``01 23 45 67 89`` (one separator kind,
                 9-12 digits). Plain digit runs, years, prices, dates and versions are not phones.

Text that is not ASCII is first put in Unicode NFKC form and every other decimal digit mapped to
its ASCII digit, so full-width or other-script digits and letters (``４１１１ ...``,
``ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ``) are found like their ASCII forms; the stored text is that form.

Every pattern uses bounded quantifiers and unambiguous repetition, so the cost is linear in the
text length (about 8 MB/s on text without findings, 1.5 MB/s on text dense with them, on one
core); :func:`redact` never raises on any ``str``. A placeholder can make its neighbour a separate
token, so passes repeat until one finds nothing: redacting twice equals redacting once. Not
covered: 7-digit local numbers, plain 10-digit runs, lower-case IBANs, non-ASCII emails, names
and street addresses.

>>> r = redact("Mail jane.doe@example.com or call +1 (415) 555-2671; "
...            "key sk-proj-Ab3dEf6hIj9kLm2nOp5q")
>>> r.text
'Mail [REDACTED:EMAIL] or call [REDACTED:PHONE]; key [REDACTED:API_KEY]'
>>> dict(r.counts)
{'api_key': 1, 'email': 1, 'phone': 1}
>>> redact("Card 4111 1111 1111 1111, not 4111 1111 1111 1112; v1.2.3 on 2024-01-15").text
'Card [REDACTED:CARD], not 4111 1111 1111 1112; v1.2.3 on 2024-01-15'
>>> Redactor(kinds=["email"], extra_patterns={"ticket": r"TCK-[0-9]{6}"})(
...     "TCK-123456 from a@b.io at 10.0.0.1").text
'[REDACTED:TICKET] from [REDACTED:EMAIL] at 10.0.0.1'
>>> obj, counts = redact_json({"messages": [{"role": "user", "content": "I am 078-05-1120"}]})
>>> obj, dict(counts)
({'messages': [{'role': 'user', 'content': 'I am [REDACTED:SSN]'}]}, {'ssn': 1})
"""

from __future__ import annotations

import functools
import ipaddress
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["KINDS", "RedactionResult", "Redactor", "placeholder", "redact", "redact_json"]

KINDS: tuple[str, ...] = (
    "private_key", "jwt", "bearer", "api_key", "secret", "email",
    "iban", "card", "ssn", "ipv6", "ipv4", "phone",
)

_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_EMPTY: Mapping[str, int] = MappingProxyType({})
_MAX_PASSES = 8


def placeholder(kind: str) -> str:
    """The replacement text for ``kind``.

    >>> placeholder("api_key")
    '[REDACTED:API_KEY]'
    """
    return f"[REDACTED:{kind.upper()}]"


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and how many values of each kind were replaced (only kinds seen)."""

    text: str
    counts: Mapping[str, int] = field(default_factory=lambda: _EMPTY)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --------------------------------------------------------------------------------------- checks

def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ISO 13616 registry lengths.
_IBAN_LENGTHS: Mapping[str, int] = MappingProxyType({
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
})


def _iban_ok(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _secretish(value: str) -> bool:
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return (has_digit and has_alpha) or len(value) >= 24


def _prefixes(s: str) -> Iterable[tuple[str, str]]:
    """(head, tail) splits of ``s`` at each digit-to-separator boundary, longest head first."""
    yield s, ""
    for i in range(len(s) - 1, 0, -1):
        if s[i - 1].isdigit() and not s[i].isdigit():
            yield s[:i], s[i:]


_PAREN_OK = re.compile(r"[^()]*(?:\([0-9]{1,4}\)[^()]*)?")
_DOUBLE_SEP = re.compile(r"[ .-]{2}")


def _intl_phone_ok(s: str) -> bool:
    digits = sum(c.isdigit() for c in s)
    return (7 <= digits <= 15 and _DOUBLE_SEP.search(s) is None
            and _PAREN_OK.fullmatch(s) is not None)


def _national_phone_ok(s: str) -> bool:
    digits = sum(c.isdigit() for c in s)
    seps = {c for c in s if not c.isdigit()}
    return 9 <= digits <= 12 and len(seps) == 1


# ----------------------------------------------------------------------------------- replacers

Replacer = Callable[[re.Match[str]], "str | None"]


def _whole(kind: str) -> Replacer:
    ph = placeholder(kind)
    return lambda m: ph


def _keep_prefix(kind: str, value_group: str) -> Replacer:
    ph = placeholder(kind)

    def repl(m: re.Match[str]) -> str:
        start, end = m.span(value_group)
        s, base = m.group(0), m.start()
        return s[: start - base] + ph + s[end - base:]
    return repl


def _api_key(m: re.Match[str]) -> str | None:
    s = m.group(0)
    if s.startswith("sk-") and not (any(c.isdigit() for c in s[3:]) and
                                    any(c.isalpha() for c in s[3:])):
        return None
    return placeholder("api_key")


def _bearer(m: re.Match[str]) -> str | None:
    if not _secretish(m.group("tok")):
        return None
    return m.group("word") + m.group("sp") + placeholder("bearer")


def _secret(m: re.Match[str]) -> str | None:
    ph = placeholder("secret")
    if m.group("qv") is not None:
        if m.group("qv").startswith("[REDACTED:"):
            return None
        return m.group("name") + m.group("sep") + m.group("q") + ph + m.group("q")
    value = m.group("bv")
    lenient = "=" in m.group("sep") or m.group("sep")[:1] in ("'", '"')
    if not lenient and not _secretish(value):
        return None
    return m.group("name") + m.group("sep") + ph


def _iban(m: re.Match[str]) -> str | None:
    s = m.group(0)
    length = _IBAN_LENGTHS.get(s[:2])
    if length is None:
        return None
    seen = 0
    for i, ch in enumerate(s):
        if ch != " ":
            seen += 1
            if seen == length:
                head, tail = s[: i + 1], s[i + 1:]
                if _iban_ok(head.replace(" ", "")):
                    return placeholder("iban") + tail
                return None
    return None


_CARD_SEP = re.compile(r"[ .-]")


def _card(m: re.Match[str]) -> str | None:
    groups = _CARD_SEP.split(m.group(0))
    if _luhn_ok("".join(groups)):
        return placeholder("card")
    if len(groups) == 5 and _luhn_ok("".join(groups[:4])):  # 4-4-4-4 then an unrelated number
        return placeholder("card") + m.group(0)[19:]
    return None


def _ipv4(m: re.Match[str]) -> str | None:
    for octet in m.group(0).split("."):
        if int(octet) > 255 or (len(octet) > 1 and octet[0] == "0"):
            return None
    return placeholder("ipv4")


def _ipv6(m: re.Match[str]) -> str | None:
    s = m.group(0)
    if s.count(":") < 2:
        return None
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return None
    groups = [g for g in re.split(r"[:.]", s) if g]
    if len(groups) >= 3 or any(len(g) >= 3 for g in groups):
        return placeholder("ipv6")
    return None


def _trimmed_phone(check: Callable[[str], bool]) -> Replacer:
    def repl(m: re.Match[str]) -> str | None:
        for head, tail in _prefixes(m.group(0)):
            if check(head):
                return placeholder("phone") + tail
        return None
    return repl


def _has_secret_name(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in ("key", "token", "secret", "passw", "pwd", "sess", "sid"))


# ------------------------------------------------------------------------------------ patterns
# Speed: CPython's regex engine scans fast for a pattern's first literal or character class, but
# not when the pattern opens with a lookaround. So most patterns consume their first character and
# then look behind across it: "X(?<![0-9].)" reads "X, not preceded by a digit".

_NANP = r"[2-9][0-9]{2}[ .-][0-9]{4}(?![0-9]|[.-][0-9])"  # exchange and line number
_SECRET_NAMES = (r"api[_-]?key|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret|"
                 r"auth[_-]?token|access[_-]?token|refresh[_-]?token|token|secret|password|"
                 r"passwd|pwd|session[_-]?id|sessionid|sessid|session|sid")

Prefilter = Callable[[str], bool]


def _contains(*needles: str) -> Prefilter:
    return lambda text: any(n in text for n in needles)


# (kind, regex, replacer, prefilter: the pass is skipped when it returns False), in order.
_BUILTIN: tuple[tuple[str, str, Replacer, Prefilter | None], ...] = (
    ("private_key",
     r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----"
     r"(?:(?:[^-]|-(?!-)){0,16384}+-----END (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----"
     r"|(?:[ \t]{0,8}(?:\r?\n|\\n)[A-Za-z0-9+/=]{1,128}){0,400})",
     _whole("private_key"), _contains("PRIVATE KEY-----")),
    ("jwt",
     r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{5,8192}\."
     r"[A-Za-z0-9_-]{8,8192}(?![A-Za-z0-9_-])",
     _whole("jwt"), _contains("eyJ")),
    ("bearer",
     r"(?<![A-Za-z0-9])(?P<word>[Bb]earer|BEARER)(?P<sp>[ \t]{1,8})"
     r"(?P<tok>[A-Za-z0-9._~+/-]{8,4096}={0,2})(?![A-Za-z0-9._~+/=-])",
     _bearer, _contains("earer", "EARER")),
    ("api_key",
     r"(?:s(?<![A-Za-z0-9_-].)k-[A-Za-z0-9_-]{20,256}"
     r"|A(?<![A-Za-z0-9_-].)(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}"
     r"|A(?<![A-Za-z0-9_-].)Iza[0-9A-Za-z_-]{35}"
     r"|g(?<![A-Za-z0-9_-].)(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{22,255})"
     r"|x(?<![A-Za-z0-9_-].)ox[abposr]-[A-Za-z0-9-]{10,250}"
     r"|s(?<![A-Za-z0-9_-].)k_(?:live|test)_[A-Za-z0-9]{16,247}"
     r"|r(?<![A-Za-z0-9_-].)k_(?:live|test)_[A-Za-z0-9]{16,247}"
     r"|h(?<![A-Za-z0-9_-].)f_[A-Za-z0-9]{30,64})(?![A-Za-z0-9_-])",
     _api_key, None),
    ("secret",
     r"(?i)(?<![a-z0-9])(?P<name>(?:[a-z0-9]{1,32}[_.-]){0,4}(?:" + _SECRET_NAMES + r"))"
     r"(?P<sep>[\"']?[ \t]{0,8}[:=][ \t]{0,8})"
     r"(?:(?P<q>[\"'])(?P<qv>[^\"'\n]{1,512}?)(?P=q)|(?P<bv>[^\s\"'`,;<>\[\]{}()]{4,512}))",
     _secret, _has_secret_name),
    ("email",
     r"[A-Za-z0-9._%+-](?<![A-Za-z0-9._%+-].)[A-Za-z0-9._%+-]{0,63}@"
     r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}"
     r"(?![A-Za-z0-9-])",
     _whole("email"), _contains("@")),
    ("iban",
     r"[A-Z](?<![A-Za-z0-9].)[A-Z][0-9]{2}(?: ?[A-Z0-9]){11,32}",
     _iban, None),
    ("card",
     r"[2-6](?<![0-9].)(?<![0-9][ -].)(?:[0-9]{12,18}"
     r"|[0-9]{3}([ .-])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?"
     r"|[0-9]{3}([ .-])[0-9]{6}\2[0-9]{4,5})(?![0-9])",
     _card, None),
    ("ssn",
     r"[0-8](?<![0-9-].)[0-9]{2}(?<!000)(?<!666)-(?!00)[0-9]{2}-(?!0000)[0-9]{4}"
     r"(?![0-9]|-[0-9])",
     _whole("ssn"), _contains("-")),
    ("ipv6",
     r"[0-9A-Fa-f:](?<![A-Za-z0-9_:.].)(?=[0-9A-Fa-f]{0,3}:)[0-9A-Fa-f:]{1,38}"
     r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![A-Za-z0-9_:]|\.[0-9])",
     _ipv6, _contains(":")),
    ("ipv4",
     r"[0-9](?<![A-Za-z0-9_.].)[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?![A-Za-z0-9_]|\.[0-9])",
     _ipv4, _contains(".")),
    # phone: +CC international; NANP with a leading 1, with (area), plain; trunk-prefix 0...
    ("phone",
     r"\+(?<![A-Za-z0-9_+].)[1-9][0-9 ().-]{5,22}[0-9](?![0-9])",
     _trimmed_phone(_intl_phone_ok), _contains("+")),
    ("phone",
     r"1(?<![A-Za-z0-9_+.-].)(?<![0-9][ .-].)[ .-]?"
     r"(?:\([2-9][0-9]{2}\)[ ]?|[2-9][0-9]{2}[ .-])" + _NANP,
     _whole("phone"), None),
    ("phone",
     r"\((?<![A-Za-z0-9_+.-].)[2-9][0-9]{2}\)[ ]?" + _NANP,
     _whole("phone"), _contains("(")),
    ("phone",
     r"[2-9](?<![A-Za-z0-9_+.-].)(?<![0-9][ .-].)[0-9]{2}[ .-]" + _NANP,
     _whole("phone"), None),
    ("phone",
     r"0(?<![A-Za-z0-9_.+-].)(?<![0-9][ .-].)(?!00)[0-9]{1,4}(?:[ .-][0-9]{2,6}){1,4}(?![0-9])",
     _trimmed_phone(_national_phone_ok), None),
)


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    replace: Replacer
    prefilter: Prefilter | None


class Redactor:
    """A configured redaction pipeline; call it on a ``str``.

    ``kinds``: built-in kinds to apply (default all of :data:`KINDS`).
    ``extra_patterns``: name -> regex (str or compiled) applied after the built-ins; each match
    becomes ``[REDACTED:NAME]``. Names are lower-case identifiers distinct from the built-ins.

    >>> Redactor(kinds=[])("sk-proj-Ab3dEf6hIj9kLm2nOp5q").text
    'sk-proj-Ab3dEf6hIj9kLm2nOp5q'
    >>> Redactor(kinds=["mail"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: kinds: unknown kind 'mail'; choose from private_key, jwt, bearer, ..., phone
    """

    def __init__(self, *, kinds: Iterable[str] | None = None,
                 extra_patterns: Mapping[str, str | re.Pattern[str]] | None = None) -> None:
        wanted = KINDS if kinds is None else tuple(kinds)
        for kind in wanted:
            if kind not in KINDS:
                raise ValueError(f"kinds: unknown kind {kind!r}; choose from {', '.join(KINDS)}")
        rules = [rule for rule in _builtin_rules() if rule.kind in wanted]
        for name, pattern in (extra_patterns or {}).items():
            rules.append(_extra_rule(name, pattern))
        self._rules: tuple[_Rule, ...] = tuple(rules)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this redactor applies, in order (built-ins, then extra patterns)."""
        return tuple(dict.fromkeys(rule.kind for rule in self._rules))

    def __call__(self, text: str) -> RedactionResult:
        if not isinstance(text, str):
            raise TypeError(f"redact() needs a str, got {type(text).__name__}")
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text).translate(_decimal_digits())
        counts: dict[str, int] = {}
        # A placeholder can turn its neighbour into a separate token that a boundary-anchored
        # pattern now matches ("0958api_key=x" -> "[REDACTED:PHONE]api_key=x"), so passes repeat
        # until one changes nothing; that makes redaction idempotent. Text without any finding
        # costs exactly one pass.
        for _ in range(_MAX_PASSES):
            before = sum(counts.values())
            text = self._one_pass(text, counts)
            if sum(counts.values()) == before:
                break
        return RedactionResult(text=text, counts=MappingProxyType(dict(sorted(counts.items()))))

    def _one_pass(self, text: str, counts: dict[str, int]) -> str:
        for rule in self._rules:
            if rule.prefilter is not None and not rule.prefilter(text):
                continue
            hits = 0

            def repl(m: re.Match[str], rule: _Rule = rule) -> str:
                nonlocal hits
                out = rule.replace(m)
                if out is None:
                    return m.group(0)
                hits += 1
                return out

            text = rule.pattern.sub(repl, text)
            if hits:
                counts[rule.kind] = counts.get(rule.kind, 0) + hits
        return text

    def redact_json(self, obj: Any) -> tuple[Any, Mapping[str, int]]:
        """Redact every string value (not the keys) of a JSON-like object; returns a new object.

        dicts, lists and tuples (returned as lists) are walked; str, int, float, bool and None
        pass; any other type raises ``TypeError`` rather than letting unredacted data through.
        """
        counts: dict[str, int] = {}
        out = self._walk(obj, counts)
        return out, MappingProxyType(dict(sorted(counts.items())))

    def _walk(self, obj: Any, counts: dict[str, int]) -> Any:
        if isinstance(obj, str):
            result = self(obj)
            for kind, n in result.counts.items():
                counts[kind] = counts.get(kind, 0) + n
            return result.text
        if isinstance(obj, dict):
            return {k: self._walk(v, counts) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self._walk(v, counts) for v in obj]
        if obj is None or isinstance(obj, (bool, int, float)):
            return obj
        raise TypeError(f"redact_json: unsupported value of type {type(obj).__name__}")


@functools.lru_cache(maxsize=1)
def _decimal_digits() -> dict[int, str]:
    """Every Unicode decimal digit that is not ASCII -> its ASCII digit (built on first use)."""
    return {cp: str(unicodedata.decimal(chr(cp))) for cp in range(128, sys.maxunicode + 1)
            if chr(cp).isdecimal()}


@functools.lru_cache(maxsize=1)
def _builtin_rules() -> tuple[_Rule, ...]:
    """Compiled once per process, on first use (not at import)."""
    return tuple(_Rule(kind, re.compile(regex), replace, prefilter)
                 for kind, regex, replace, prefilter in _BUILTIN)


def _extra_rule(name: str, pattern: str | re.Pattern[str]) -> _Rule:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"extra_patterns: name {name!r} must match [a-z][a-z0-9_]{{0,31}}")
    if name in KINDS:
        raise ValueError(f"extra_patterns: name {name!r} clashes with a built-in kind")
    try:
        compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"extra_patterns[{name!r}]: invalid regex: {exc}") from None
    if compiled.match("") is not None:
        raise ValueError(f"extra_patterns[{name!r}]: regex must not match the empty string")
    return _Rule(name, compiled, _whole(name), None)


@functools.lru_cache(maxsize=1)
def _default() -> Redactor:
    return Redactor()


def redact(text: str) -> RedactionResult:
    """Redact every built-in kind from ``text`` (see the module docstring)."""
    return _default()(text)


def redact_json(obj: Any) -> tuple[Any, Mapping[str, int]]:
    """Redact every string value of a JSON-like object with all built-in kinds."""
    return _default().redact_json(obj)
