"""The serving fingerprint: what the review state compares with the dispositions.

It is the fingerprint tracker's current values (model, system prompt, output filter and scope
versions, upstream model list) with the detail of the governance components in place of the
tracker's one-value digests: ``artifact:<name>`` (sha256 of each verified file) instead of
``artifacts``, ``adapter:<name>`` (each adapter the server reports) instead of
``server_adapters``. A disposition then names exactly which file or adapter it reviewed, and the
digests (bounded metric labels for ``tunewatch_deployment_info``) are not bound twice.

>>> serving_fingerprint({"model": "tw-safe", "artifacts": "82ab43b22cc05a7d"},
...                     artifacts={"artifact:base": "00" * 32}, adapters={})
{'model': 'tw-safe', 'artifact:base': '0000000000000000000000000000000000000000000000000000000000000000'}
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.analysis.fingerprint import read_current
from monitor.governance.artifacts import stored_components
from monitor.governance.server_adapters import stored_adapter_components
from monitor.store import Store

DIGEST_COMPONENTS = ("artifacts", "server_adapters")


def serving_fingerprint(current: Mapping[str, str], *, artifacts: Mapping[str, str],
                        adapters: Mapping[str, str]) -> dict[str, str]:
    out = {k: v for k, v in current.items() if k not in DIGEST_COMPONENTS}
    out.update(artifacts)
    out.update(adapters)
    return out


def stored_serving(store: Store) -> dict[str, str]:
    """The serving fingerprint as the daemon last stored it (``tunewatch disposition record
    --current``, ``tunewatch triggers ack --disposition``), read through the owning modules."""
    return serving_fingerprint(read_current(store), artifacts=stored_components(store),
                               adapters=stored_adapter_components(store))
