"""monitor/governance/server_adapters.py: the adapters the server reports, kept per server kind,
durable across restarts, readable by tools; bad bodies raise the parser's error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.governance.adapters import AdapterParseError
from monitor.governance.server_adapters import ServerAdapters, stored_adapter_components
from monitor.store import Store

VLLM = {"object": "list", "data": [
    {"id": "gemma-3-270m", "object": "model", "root": "/models/gemma", "parent": None},
    {"id": "tw-safe", "object": "model", "root": "/adapters/tw-safe", "parent": "gemma-3-270m"},
    {"id": "tw-drift-3", "object": "model", "root": "/adapters/tw-drift-3",
     "parent": "gemma-3-270m"}]}


def test_vllm_cards_give_components_and_lineage(store: Store) -> None:
    s = ServerAdapters(store=store)
    changes: list[dict[str, str]] = []
    s.add_change_listener(changes.append)
    assert s.models(VLLM) is True
    assert s.models(VLLM) is False  # the same list: no change, no event
    assert s.parents() == {"tw-drift-3": "gemma-3-270m", "tw-safe": "gemma-3-270m"}
    assert s.components() == {
        "adapter:tw-drift-3": "parent=gemma-3-270m;source=/adapters/tw-drift-3",
        "adapter:tw-safe": "parent=gemma-3-270m;source=/adapters/tw-safe"}
    assert changes == [s.components()]
    digest = s.digest()
    assert digest is not None and len(digest) == 16
    # one adapter swapped for another: a change with a new digest
    cards = [c for c in VLLM["data"] if c["id"] != "tw-drift-3"]  # type: ignore[index]
    assert s.models({"object": "list", "data": cards}) is True
    assert s.digest() != digest and len(changes) == 2


def test_llamacpp_reports_do_not_erase_vllm_ones_and_survive_a_restart(
        open_store: Callable[[], Store]) -> None:
    first = open_store()
    s = ServerAdapters(store=first)
    s.models(VLLM)
    s.llamacpp({"model_path": "/models/gemma.gguf", "build_info": "b5000"},
               [{"id": 0, "path": "/adapters/tw-safe.gguf", "scale": 0.5}])
    expected = s.components()
    assert expected["adapter:tw-safe.gguf"] == (
        "parent=/models/gemma.gguf;source=/adapters/tw-safe.gguf;scale=0.5")
    assert len(expected) == 3
    again = ServerAdapters(store=open_store())
    assert again.components() == expected and again.digest() == s.digest()
    assert stored_adapter_components(open_store()) == expected
    # a llama.cpp server without /lora-adapters reports none
    assert s.llamacpp({"model_path": "/models/gemma.gguf"}, None) is True
    assert "adapter:tw-safe.gguf" not in s.components()


@pytest.mark.parametrize("body", [
    None, [], {"data": "x"}, {"data": [{"id": ""}]}, {"data": [{"id": "a", "parent": 3}]}])
def test_a_body_not_in_the_documented_shape_raises_the_parse_error(store: Store, body) -> None:
    s = ServerAdapters(store=store)
    with pytest.raises(AdapterParseError):
        s.models(body)
    assert s.components() == {}


def test_bad_llamacpp_bodies_raise_the_parse_error(store: Store) -> None:
    s = ServerAdapters(store=store)
    with pytest.raises(AdapterParseError):
        s.llamacpp([], None)
    with pytest.raises(AdapterParseError):
        s.llamacpp({"model_path": "/m.gguf"}, [{"id": 0, "scale": 1.0}])  # no path
    assert stored_adapter_components(store) == {}
