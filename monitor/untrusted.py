"""Strings that came off the wire (model names, header values, paths, an upstream's JSON), made
safe before they reach a Prometheus label, SQLite, a log line or JSON output.

JSON escapes can carry lone surrogates (``"\\ud800"``), which no UTF-8 encoder accepts: an
exposition, a ``JSONResponse`` or an SQLite bind would fail on them. Control characters would
forge log lines and terminal output. Both become U+FFFD; values are bounded in length.

>>> safe_text("bad \\ud800 esc") == "bad \\ufffd esc"
True
>>> safe_token("gemma\\x1b[31m\\udfff" + "x" * 200, max_chars=12) == "gemma\\ufffd[31m\\ufffdx"
True
>>> safe_token("  \\t ") is None, safe_token(None) is None
(True, True)
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """Free text (prompts, responses, error messages): lone surrogates become U+FFFD."""
    return _SURROGATES.sub(REPLACEMENT, text)


def safe_token(value: str | None, *, max_chars: int = 128) -> str | None:
    """A one-line value (an id, a label, a finish reason): cut to ``max_chars``, every character
    that is not printable (controls, separators, surrogates) replaced by U+FFFD, outer
    whitespace stripped first; ``None`` when nothing is left."""
    if value is None:
        return None
    cut = value[:max_chars].strip()
    if not cut.isprintable():
        cut = "".join(c if c.isprintable() else REPLACEMENT for c in cut)
    return cut or None


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pw@host/x`` -> ``("http://host/x", ("user", "pw"))``: a URL that can be shown
    or logged, and the credentials it carried.

    >>> split_credentials("http://bob:s3cret@127.0.0.1:8000/v1")
    ('http://127.0.0.1:8000/v1', ('bob', 's3cret'))
    >>> split_credentials("http://127.0.0.1:8000")
    ('http://127.0.0.1:8000', None)
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, (parts.username or "", parts.password or "")


def display_url(url: str | None) -> str | None:
    """A URL fit for a banner, a log line or ``/v1/status``: any password replaced by ``***``.

    >>> display_url("https://bob:s3cret@models.internal/v1")
    'https://bob:***@models.internal/v1'
    """
    if url is None:
        return None
    bare, creds = split_credentials(url)
    if creds is None:
        return url
    scheme, rest = bare.split("://", 1)
    user = creds[0] + (":***" if creds[1] else "")
    return f"{scheme}://{user}@{rest}"
