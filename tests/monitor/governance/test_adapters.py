"""monitor/governance/adapters.py on responses in the servers' documented formats.

The samples follow vLLM's ``ModelCard``/``ModelList`` (vllm/entrypoints/openai/protocol.py:
id, object, created, owned_by, root, parent, max_model_len, permission; LoRA cards are built by
``show_available_models`` with ``root`` = the adapter path and ``parent`` = the base model) and
llama.cpp's server README (``GET /props``, ``GET /lora-adapters``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.governance.adapters import (
    AdapterParseError,
    ServedAdapter,
    adapter_components,
    parse_llamacpp_lora_adapters,
    parse_llamacpp_props,
    parse_vllm_models,
)

PERMISSION = {"id": "modelperm-0c3d", "object": "model_permission", "created": 1735142223,
              "allow_create_engine": False, "allow_sampling": True, "allow_logprobs": True,
              "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False,
              "organization": "*", "group": None, "is_blocking": False}

VLLM_MODELS = json.loads(json.dumps({
    "object": "list",
    "data": [
        {"id": "google/gemma-3-270m", "object": "model", "created": 1735142223,
         "owned_by": "vllm", "root": "/models/gemma-3-270m", "parent": None,
         "max_model_len": 32768, "permission": [PERMISSION]},
        {"id": "tw-safe", "object": "model", "created": 1735142223, "owned_by": "vllm",
         "root": "/adapters/tw-safe", "parent": "google/gemma-3-270m", "max_model_len": None,
         "permission": [PERMISSION]},
        {"id": "tw-drift-3", "object": "model", "created": 1735142223, "owned_by": "vllm",
         "root": "/adapters/tw-drift-3", "parent": "google/gemma-3-270m", "max_model_len": None,
         "permission": [PERMISSION]},
    ],
}))

LLAMACPP_PROPS = {
    "default_generation_settings": {"id": 0, "id_task": -1, "n_ctx": 1024, "speculative": False,
                                    "is_processing": False,
                                    "params": {"n_predict": -1, "seed": 4294967295,
                                               "temperature": 0.800000011920929, "lora": []}},
    "total_slots": 1,
    "model_path": "../models/gemma-3-270m-Q4_K_M.gguf",
    "chat_template": "{{ bos_token }}...",
    "chat_template_caps": {},
    "modalities": {"vision": False},
    "build_info": "b6123-a1b2c3d",
    "is_sleeping": False,
}

LLAMACPP_LORA = [{"id": 0, "path": "adapters/tw-safe.gguf", "scale": 1.0},
                 {"id": 1, "path": "adapters/tw-drift-3.gguf", "scale": 0.0}]


def test_vllm_lists_base_models_and_lora_modules_with_their_parent() -> None:
    models = parse_vllm_models(VLLM_MODELS)
    assert [(b.id, b.root) for b in models.base_models] == [
        ("google/gemma-3-270m", "/models/gemma-3-270m")]
    assert models.adapters == (
        ServedAdapter(name="tw-safe", parent="google/gemma-3-270m", source="/adapters/tw-safe",
                      scale=None, server="vllm"),
        ServedAdapter(name="tw-drift-3", parent="google/gemma-3-270m",
                      source="/adapters/tw-drift-3", scale=None, server="vllm"))
    assert adapter_components(models.adapters) == {
        "adapter:tw-safe": "parent=google/gemma-3-270m;source=/adapters/tw-safe",
        "adapter:tw-drift-3": "parent=google/gemma-3-270m;source=/adapters/tw-drift-3"}


def test_a_server_without_adapters_reports_none() -> None:
    llama_cpp_python = {"object": "list", "data": [
        {"id": "tw-safe", "object": "model", "owned_by": "me", "permissions": []}]}
    models = parse_vllm_models(llama_cpp_python)
    assert [b.id for b in models.base_models] == ["tw-safe"] and models.adapters == ()


def test_llamacpp_props_and_lora_adapters() -> None:
    props = parse_llamacpp_props(LLAMACPP_PROPS)
    assert (props.model_path, props.build_info, props.total_slots) == (
        "../models/gemma-3-270m-Q4_K_M.gguf", "b6123-a1b2c3d", 1)
    adapters = parse_llamacpp_lora_adapters(LLAMACPP_LORA, parent=props.model_path)
    assert [(a.name, a.scale, a.parent) for a in adapters] == [
        ("tw-safe.gguf", 1.0, "../models/gemma-3-270m-Q4_K_M.gguf"),
        ("tw-drift-3.gguf", 0.0, "../models/gemma-3-270m-Q4_K_M.gguf")]
    comps = adapter_components(adapters)
    assert comps["adapter:tw-drift-3.gguf"].endswith(";scale=0")
    rescaled = adapter_components(parse_llamacpp_lora_adapters(
        [{**LLAMACPP_LORA[1], "scale": 0.25}], parent=props.model_path))
    assert rescaled["adapter:tw-drift-3.gguf"] != comps["adapter:tw-drift-3.gguf"]  # a change


@pytest.mark.parametrize(("parse", "body", "says"), [
    (parse_vllm_models, [], "must be a JSON object"),
    (parse_vllm_models, {"data": {}}, "data must be a list"),
    (parse_vllm_models, {"data": [{"object": "model"}]}, "data[0].id"),
    (parse_vllm_models, {"data": [{"id": "a", "parent": 3}]}, "data[0].parent"),
    (parse_vllm_models, {"data": [{"id": f"m{i}"} for i in range(300)]}, "more than 256"),
    (parse_llamacpp_props, {"total_slots": "1"}, "total_slots"),
    (parse_llamacpp_lora_adapters, {"id": 0}, "must be a list"),
    (parse_llamacpp_lora_adapters, [{"id": 0, "path": "a.gguf", "scale": "1"}], "[0].scale"),
    (parse_llamacpp_lora_adapters, [{"id": 0}], "[0].path"),
])
def test_malformed_bodies_name_the_field(parse: Any, body: Any, says: str) -> None:
    with pytest.raises(AdapterParseError) as exc:
        parse(body)
    assert says in str(exc.value)
