"""A password in ``upstream.url`` is used, never shown: not in the banner, a log line or
``/v1/status`` (issue 13, Low)."""

from __future__ import annotations

import base64
import logging

import httpx

from tests.support.daemon import run_daemon, settings_for

PASSWORD = "s3cretPassw0rd"


def _with_credentials(url: str) -> str:
    return url.replace("http://", f"http://bob:{PASSWORD}@")


def test_the_password_is_not_in_status_or_logs(upstream, caplog) -> None:
    _, url = upstream
    with caplog.at_level(logging.DEBUG):
        with run_daemon(settings_for(_with_credentials(url))) as d:
            d.call(d.daemon.upstream.check())
            status = httpx.get(d.admin_url + "/v1/status").text
            assert d.daemon.upstream.health.ok is True
            # the credentials still reach the upstream: as Basic auth, unless the client has its
            # own Authorization (which wins and is forwarded untouched)
            echo = httpx.get(d.proxy_url + "/test/echo").json()
            basic = "Basic " + base64.b64encode(f"bob:{PASSWORD}".encode()).decode()
            assert dict(echo["headers"])["authorization"] == basic
            echo = httpx.get(d.proxy_url + "/test/echo",
                             headers={"authorization": "Bearer sk-client"}).json()
            assert dict(echo["headers"])["authorization"] == "Bearer sk-client"
    assert PASSWORD not in status and "bob:***@" in status
    assert PASSWORD not in caplog.text


def test_the_banner_hides_the_password(upstream) -> None:
    from monitor.cli import _print_ready, console
    from monitor.server import Bound, bind

    _, url = upstream
    s = settings_for(_with_credentials(url))
    bound = Bound(proxy=bind("127.0.0.1:0"), admin=bind("127.0.0.1:0"))
    try:
        with console.capture() as captured:
            _print_ready(s, bound, False)
    finally:
        bound.proxy.close()
        bound.admin.close()
    text = captured.get()
    assert PASSWORD not in text and "bob:***@127.0.0.1" in text
