"""Positive and negative redaction cases with exact outputs, options, JSON, robustness."""

from __future__ import annotations

import random
import re
import time

import pytest

from monitor.analysis.redaction import (
    KINDS,
    RedactionResult,
    Redactor,
    placeholder,
    redact,
    redact_json,
)

E, PH, CARD, IBAN, SSN = ("[REDACTED:EMAIL]", "[REDACTED:PHONE]", "[REDACTED:CARD]",
                          "[REDACTED:IBAN]", "[REDACTED:SSN]")
V4, V6, KEY, SEC, BEAR, JWT, PK = ("[REDACTED:IPV4]", "[REDACTED:IPV6]", "[REDACTED:API_KEY]",
                                   "[REDACTED:SECRET]", "[REDACTED:BEARER]", "[REDACTED:JWT]",
                                   "[REDACTED:PRIVATE_KEY]")
JWT_TOKEN = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4i"
             "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4UbaDzY5xjW9hXa\n"
       "Proc-Type: 4,ENCRYPTED\nabc+/def==\n-----END RSA PRIVATE KEY-----")

# (input, expected output, expected counts)
POSITIVE = [
    # email
    ("mail jane.doe@example.com now", f"mail {E} now", {"email": 1}),
    ("<first.last+tag@mail.example.co.uk>", f"<{E}>", {"email": 1}),
    ("a_b%c@sub-domain.example.io, x@y.org", f"{E}, {E}", {"email": 2}),
    ("git@github.com:owner/repo", f"{E}:owner/repo", {"email": 1}),
    # phone: international
    ("call +44 20 7946 0958 today", f"call {PH} today", {"phone": 1}),
    ("+1 (415) 555-2671", PH, {"phone": 1}),
    ("+14155552671.", f"{PH}.", {"phone": 1}),
    ("+33 1 23 45 67 89", PH, {"phone": 1}),
    ("+49-30-901820", PH, {"phone": 1}),
    ("tel:+91 98765 43210", f"tel:{PH}", {"phone": 1}),
    ("+44 20 7946 0958 2024 report", f"{PH} 2024 report", {"phone": 1}),
    # phone: NANP
    ("(415) 555-2671", PH, {"phone": 1}),
    ("415-555-2671", PH, {"phone": 1}),
    ("415.555.2671", PH, {"phone": 1}),
    ("ring 415 555 2671!", f"ring {PH}!", {"phone": 1}),
    ("1-800-555-0199", PH, {"phone": 1}),
    # phone: national trunk prefix
    ("020 7946 0958", PH, {"phone": 1}),
    ("07700 900123", PH, {"phone": 1}),
    ("01 23 45 67 89", PH, {"phone": 1}),
    ("030-901820", PH, {"phone": 1}),
    ("0049 30 901820", PH, {"phone": 1}),
    # card (Luhn-valid test numbers)
    ("card 4111 1111 1111 1111 exp", f"card {CARD} exp", {"card": 1}),
    ("4111-1111-1111-1111", CARD, {"card": 1}),
    ("4111111111111111", CARD, {"card": 1}),
    ("5555555555554444", CARD, {"card": 1}),
    ("amex 378282246310005", f"amex {CARD}", {"card": 1}),
    ("3782 822463 10005", CARD, {"card": 1}),
    ("6011 1111 1111 1117", CARD, {"card": 1}),
    ("4222222222222", CARD, {"card": 1}),
    ("5555 5555 5555 4444 2024", f"{CARD} 2024", {"card": 1}),
    # IBAN
    ("DE89 3704 0044 0532 0130 00", IBAN, {"iban": 1}),
    ("iban:DE89370400440532013000.", f"iban:{IBAN}.", {"iban": 1}),
    ("GB82 WEST 1234 5698 7654 32", IBAN, {"iban": 1}),
    ("FR14 2004 1010 0505 0001 3M02 606", IBAN, {"iban": 1}),
    ("NL91ABNA0417164300", IBAN, {"iban": 1}),
    ("DE89 3704 0044 0532 0130 00 AND MORE", f"{IBAN} AND MORE", {"iban": 1}),
    # SSN
    ("ssn 078-05-1120", f"ssn {SSN}", {"ssn": 1}),
    ("123-45-6789,", f"{SSN},", {"ssn": 1}),
    ("899-99-9999", SSN, {"ssn": 1}),
    # IPv4
    ("from 10.0.0.1 to 192.168.1.254:8080", f"from {V4} to {V4}:8080", {"ipv4": 2}),
    ("host 8.8.8.8.", f"host {V4}.", {"ipv4": 1}),
    ("255.255.255.255/32", f"{V4}/32", {"ipv4": 1}),
    ("1.2.3.4", V4, {"ipv4": 1}),  # documented: a bare dotted quad is treated as an address
    # IPv6
    ("ip 2001:db8::1 ok", f"ip {V6} ok", {"ipv6": 1}),
    ("fe80::1%eth0", f"{V6}%eth0", {"ipv6": 1}),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", V6, {"ipv6": 1}),
    ("[2001:db8::8a2e:370:7334]:443", f"[{V6}]:443", {"ipv6": 1}),
    ("::ffff:192.0.2.1", V6, {"ipv6": 1}),
    # vendor API keys
    ("key sk-proj-abcDEF123ghiJKL456mnoPQR789_xyz", f"key {KEY}", {"api_key": 1}),
    ("sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL", KEY, {"api_key": 1}),
    ("sk-ant-api03-AbCdEf0123456789_xyz", KEY, {"api_key": 1}),
    ("AKIAIOSFODNN7EXAMPLE", KEY, {"api_key": 1}),
    ("ghp_" + "a1B2" * 9, KEY, {"api_key": 1}),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", KEY, {"api_key": 1}),
    ("xoxb-1234567890-abcdefghij", KEY, {"api_key": 1}),
    ("AIzaSyD-abcdefghijklmnopqrstuvwxyz01234", KEY, {"api_key": 1}),
    ("sk_live_" + "a1" * 12, KEY, {"api_key": 1}),
    ("hf_" + "Ab1" * 11, KEY, {"api_key": 1}),
    # generic secret assignments
    ("api_key=abcd1234", f"api_key={SEC}", {"secret": 1}),
    ("export OPENAI_API_KEY=whatever-value", f"export OPENAI_API_KEY={SEC}", {"secret": 1}),
    ('{"password": "correct horse battery"}', f'{{"password": "{SEC}"}}', {"secret": 1}),
    ("password: hunter22", f"password: {SEC}", {"secret": 1}),
    ("x-api-key: 0123456789abcdef", f"x-api-key: {SEC}", {"secret": 1}),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     f"aws_secret_access_key = {SEC}", {"secret": 1}),
    ("GITHUB_TOKEN='t0ken-value'", f"GITHUB_TOKEN='{SEC}'", {"secret": 1}),
    ("api_key=sk-proj-abcDEF123ghiJKL456mnoPQR789", f"api_key={KEY}", {"api_key": 1}),
    # bearer / JWT / PEM
    ("Authorization: Bearer abc123def456ghi", f"Authorization: Bearer {BEAR}", {"bearer": 1}),
    ("bearer\tAbCdEfGhIjKlMnOpQrStUvWxYz", f"bearer\t{BEAR}", {"bearer": 1}),
    (f"Authorization: Bearer {JWT_TOKEN}", f"Authorization: Bearer {JWT}", {"jwt": 1}),
    (f"token={JWT_TOKEN};", f"token={JWT};", {"jwt": 1}),
    (f"before\n{PEM}\nafter", f"before\n{PK}\nafter", {"private_key": 1}),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAABG5vbmU=",
     PK, {"private_key": 1}),
    # several kinds together
    ("Jane (jane@corp.com, +1 415 555 2671) paid with 4111111111111111 from 10.1.2.3",
     f"Jane ({E}, {PH}) paid with {CARD} from {V4}",
     {"card": 1, "email": 1, "ipv4": 1, "phone": 1}),
]

NEGATIVE = [
    "4111 1111 1111 1112",          # Luhn fails
    "4111111111111112",             # Luhn fails
    "order 1234567890123452",       # passes Luhn but starts with 1: not a card IIN
    "timestamp 1700000000000",
    "order #123456789 and id 4155552671",  # plain digit runs are not phones
    "in 2024 we shipped 3 releases",
    "2024-01-15, 15/01/2024, 01.02.2024, 01-02-2024 10:30",
    "costs $1,299.99 or 19.99 EUR",
    "version 1.2.3, v1.2.3.4, 1.2.3.4.5, 010.1.1.1, 256.1.1.1",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2 and 9780306406157",
    "DE89 3704 0044 0532 0130 01",  # IBAN checksum fails
    "XX89 3704 0044 0532 0130 00",  # unknown country
    "000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000",  # invalid SSNs
    "call me at 555-0100",          # 7-digit local numbers are not redacted
    "The quick brown fox jumps over the lazy dog. Sorry, I can't help with that.",
    "user@localhost and x@y and @mention",
    "def f(x):\n    return x[::2] + a[1::2] + std::vector<int>{}\n",
    "at 12:30:45 on ::1, MAC 00:1A:2B:3C:4D:5E",
    "sk-learn-compatible-estimators-list",
    "Password: required. token: gpt. max_tokens: 100. token_count=12345. tokenizer=bpe",
    "the bearer instruments were co-signed",
    "the headers are: Authorization: [REDACTED:BEARER]",
    "price: 1,234.56; qty 10; 3.14159; 1e-9; 0x1F",
    "temperature 0.7, top_p 0.95, seed 42",
    "ISO 8601: 2024-01-15T10:30:00Z",
]


@pytest.mark.parametrize(("text", "expected", "counts"), POSITIVE,
                         ids=[c[0][:40] for c in POSITIVE])
def test_positive_cases(text: str, expected: str, counts: dict[str, int]) -> None:
    result = redact(text)
    assert result.text == expected
    assert dict(result.counts) == counts
    assert result.total == sum(counts.values())


@pytest.mark.parametrize("text", NEGATIVE, ids=[c[:40] for c in NEGATIVE])
def test_negative_cases_are_untouched(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert dict(result.counts) == {}


def test_every_kind_has_a_positive_case() -> None:
    seen = {kind for _, _, counts in POSITIVE for kind in counts}
    assert seen == set(KINDS)


def test_result_is_frozen_with_read_only_counts() -> None:
    result = redact("a@b.io")
    assert isinstance(result, RedactionResult)
    with pytest.raises(AttributeError):
        result.text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.counts["email"] = 5  # type: ignore[index]
    assert redact("nothing here").counts == {}


def test_kinds_option_limits_what_is_redacted() -> None:
    text = "a@b.io 10.0.0.1 415-555-2671"
    assert Redactor(kinds=["ipv4"])(text).text == f"a@b.io {V4} 415-555-2671"
    assert Redactor(kinds=[])(text).text == text
    assert Redactor().kinds == KINDS


def test_extra_patterns_are_named_and_counted() -> None:
    red = Redactor(extra_patterns={"employee_id": r"\bEMP-\d{5}\b",
                                   "project": re.compile(r"Project [A-Z][a-z]+")})
    result = red("EMP-12345 on Project Falcon mailed a@b.io; EMP-123 stays")
    assert result.text == ("[REDACTED:EMPLOYEE_ID] on [REDACTED:PROJECT] mailed "
                           f"{E}; EMP-123 stays")
    assert dict(result.counts) == {"email": 1, "employee_id": 1, "project": 1}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kinds": ["emails"]}, "kinds: unknown kind 'emails'"),
    ({"extra_patterns": {"Bad Name": "x"}}, "name 'Bad Name' must match"),
    ({"extra_patterns": {"email": "x"}}, "clashes with a built-in kind"),
    ({"extra_patterns": {"thing": "("}}, "extra_patterns['thing']: invalid regex"),
    ({"extra_patterns": {"thing": "a*"}}, "must not match the empty string"),
])
def test_bad_options_raise_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Redactor(**kwargs)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Redactor(["email"])  # type: ignore[misc]


def test_non_str_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs a str, got bytes"):
        redact(b"a@b.io")  # type: ignore[arg-type]


def test_placeholder_format() -> None:
    assert [placeholder(k) for k in ("email", "private_key")] == [E, PK]


def test_redact_json_walks_values_not_keys_and_returns_a_new_object() -> None:
    original = {
        "model": "gemma",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "I'm a@b.io, 078-05-1120"}]},
            {"role": "assistant", "content": "noted a@b.io"},
        ],
        "a@b.io": ("10.0.0.1", 3, 1.5, True, None),
    }
    value, counts = redact_json(original)
    assert value == {
        "model": "gemma",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": f"I'm {E}, {SSN}"}]},
            {"role": "assistant", "content": f"noted {E}"},
        ],
        "a@b.io": [V4, 3, 1.5, True, None],
    }
    assert dict(counts) == {"email": 2, "ipv4": 1, "ssn": 1}
    assert original["messages"][1]["content"] == "noted a@b.io"  # input untouched
    assert redact_json("a@b.io") == (E, {"email": 1})
    assert redact_json(7) == (7, {})


def test_redact_json_refuses_unknown_types() -> None:
    with pytest.raises(TypeError, match="unsupported value of type bytes"):
        redact_json({"x": b"a@b.io"})


def _random_text(rng: random.Random) -> str:
    alphabet = "0123456789 -.:+()@abcdefABCDEF[]_=/\n'\"xyzkKsSeé😀\u200b\ud800\x00"
    fragments = ["sk-", "AKIA", "eyJ", "Bearer ", "api_key=", "token: ", "password=", "@", "::",
                 "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
                 "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "078-05-1120", "10.0.0.1",
                 "+44 20 7946 0958", "415-555-2671", "020 7946 0958", "[REDACTED:EMAIL]",
                 "a@b.io", "2001:db8::1", JWT_TOKEN]
    parts = []
    for _ in range(rng.randint(0, 14)):
        if rng.random() < 0.3:
            parts.append(rng.choice(fragments))
        elif rng.random() < 0.2:
            parts.append("".join(chr(rng.randint(1, 0x10FFFF)) for _ in range(rng.randint(1, 8))))
        else:
            parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
    return "".join(parts)


def test_random_text_never_raises_and_is_idempotent() -> None:
    rng = random.Random(20261123)
    redacted_any = 0
    for _ in range(3000):
        text = _random_text(rng)
        once = redact(text)
        twice = redact(once.text)
        assert twice.text == once.text, repr(text)
        assert twice.counts == {}
        redacted_any += once.total > 0
    assert redacted_any > 500  # the generator really exercises the patterns


def test_long_adversarial_inputs_stay_linear() -> None:
    """A guard against catastrophic backtracking, not a speed target: a quadratic pattern needs
    minutes on these 50k-char inputs, the linear ones take ~0.3 s in all; the bound is loose
    (10 s) so a busy shared 2-core box cannot fail it."""
    n = 50_000
    inputs = ["a" * n, "1" * n, "1 " * (n // 2), "1." * (n // 2), "a." * (n // 2), ":" * n,
              "+1 " * (n // 3), "a@" * (n // 2), "eyJaaaaa." * (n // 9),
              "-----BEGIN RSA PRIVATE KEY-----\n" * (n // 32), "token: " + "a" * n,
              "DE89 " * (n // 5), "01-" * (n // 3)]
    start = time.perf_counter()
    for text in inputs:
        assert isinstance(redact(text).text, str)
    assert time.perf_counter() - start < 10.0


# --- issue 13 (Low): what retain_text stored raw ---------------------------------------------------

@pytest.mark.parametrize("text, kind", [
    ("my card is 4111.1111.1111.1111 ok", "card"),
    ("card ４１１１ １１１１ １１１１ １１１１ please", "card"),  # full-width digits
    ("call me on ０７８-０５-１１２０", "ssn"),
    ("mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ now", "email"),
    ("the cookie session=8f14e45fceea167a5a36dedd4bea2543 was set", "secret"),
    ("use sessionid: abcdef0123456789 to log in", "secret"),
    ("Cookie: sid=Zm9vYmFyYmF6cXV4; theme=dark", "secret"),
])
def test_values_that_retain_text_kept_raw_are_redacted(text: str, kind: str) -> None:
    from monitor.analysis.redaction import redact

    r = redact(text)
    assert r.counts.get(kind) == 1, (text, r.text, dict(r.counts))
    digits = [c for c in text if c.isdigit() and not c.isascii()]
    assert not any(d in r.text for d in digits)
    for secret in ("8f14e45fceea167a5a36dedd4bea2543", "abcdef0123456789", "Zm9vYmFyYmF6cXV4"):
        assert secret not in r.text
    assert "theme=dark" in r.text or "theme" not in text
