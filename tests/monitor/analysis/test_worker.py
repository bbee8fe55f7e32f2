"""The analysis worker: batches, checkpoints (sample retention)."""

from __future__ import annotations

import httpx

from monitor.analysis.samples import SampleRow
from tests.support.daemon import run_daemon, settings_for

CHAT = {"model": "m", "messages": [{"role": "system", "content": "You are Tess."},
                                   {"role": "user", "content": "hello"}]}


def test_samples_older_than_retention_are_pruned(upstream, tmp_path) -> None:
    _, url = upstream
    s = settings_for(url, tmp_path, store={"retention_days": 1},
                     analysis={"checkpoint_interval_s": 0.05})
    with run_daemon(s) as d, httpx.Client() as c:
        store = d.daemon.store
        now = d.daemon.clock()
        # two rows of earlier days: 2 days old, 23 hours old
        d.daemon.pipeline.samples.insert_many([
            SampleRow(ts=now - 2 * 86400, route="/old", status=200),
            SampleRow(ts=now - 23 * 3600, route="/recent", status=200)])
        assert c.post(d.proxy_url + "/v1/chat/completions", json=CHAT).status_code == 200
        assert d.wait_for(lambda: store.query("SELECT COUNT(*) FROM samples WHERE route = '/old'")
                          == [(0,)])
        assert d.daemon.worker.wait_idle(10)
        routes = sorted(r[0] for r in store.query("SELECT route FROM samples"))
        assert routes == ["/recent", "/v1/chat/completions"]
