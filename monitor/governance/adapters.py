"""Adapters the model server says it serves: pure parsers of vLLM and llama.cpp responses.

- vLLM ``GET /v1/models`` lists the base model(s) and every LoRA module; a LoRA card has a
  ``parent`` (the base model it applies to) and a ``root`` (where it was loaded from).
- llama.cpp's server: ``GET /props`` gives ``model_path`` and ``build_info``; ``GET /lora-adapters``
  lists ``{id, path, scale}`` (scale 0 = loaded but not applied).

(llama-cpp-python's server, the embedded default, reports neither: list its ``--lora_path`` files
under ``deployment.artifacts`` instead.) :func:`adapter_components` turns the adapters into
fingerprint components; the scale is part of the value, since a LoRA's effect depends on it.

>>> models = parse_vllm_models({"object": "list", "data": [
...     {"id": "gemma-3-270m", "object": "model", "root": "/models/gemma", "parent": None},
...     {"id": "tw-safe", "object": "model", "root": "/adapters/tw-safe", "parent": "gemma-3-270m"}]})
>>> [b.id for b in models.base_models], [(a.name, a.parent) for a in models.adapters]
(['gemma-3-270m'], [('tw-safe', 'gemma-3-270m')])
>>> adapter_components(models.adapters)
{'adapter:tw-safe': 'parent=gemma-3-270m;source=/adapters/tw-safe'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

MAX_ENTRIES = 256
MAX_TEXT = 200


class AdapterParseError(ValueError):
    """The body is not in the server's documented shape; the message names the field."""


@dataclass(frozen=True)
class ServedBase:
    id: str
    root: str | None


@dataclass(frozen=True)
class ServedAdapter:
    name: str
    parent: str | None
    source: str | None  # vLLM root / llama.cpp path
    scale: float | None  # llama.cpp only
    server: Literal["vllm", "llama.cpp"]


@dataclass(frozen=True)
class ServerModels:
    base_models: tuple[ServedBase, ...]
    adapters: tuple[ServedAdapter, ...]


@dataclass(frozen=True)
class LlamaCppProps:
    model_path: str | None
    build_info: str | None
    total_slots: int | None


def _str(value: Any, where: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise AdapterParseError(f"{where} must be a non-empty string")
    return value.strip()[:MAX_TEXT]


def _entries(body: Any, where: str) -> list[Any]:
    if not isinstance(body, list):
        raise AdapterParseError(f"{where} must be a list")
    if len(body) > MAX_ENTRIES:
        raise AdapterParseError(f"{where} has more than {MAX_ENTRIES} entries")
    return body


def parse_vllm_models(body: Any) -> ServerModels:
    """Base models and LoRA modules of a vLLM ``/v1/models`` response."""
    if not isinstance(body, Mapping):
        raise AdapterParseError("/v1/models body must be a JSON object")
    bases, adapters = [], []
    for i, card in enumerate(_entries(body.get("data"), "data")):
        if not isinstance(card, Mapping):
            raise AdapterParseError(f"data[{i}] must be an object")
        ident = _str(card.get("id"), f"data[{i}].id", required=True) or ""
        root = _str(card.get("root"), f"data[{i}].root")
        parent = _str(card.get("parent"), f"data[{i}].parent")
        if parent is None:
            bases.append(ServedBase(id=ident, root=root))
        else:
            adapters.append(ServedAdapter(name=ident, parent=parent, source=root, scale=None,
                                          server="vllm"))
    return ServerModels(base_models=tuple(bases), adapters=tuple(adapters))


def parse_llamacpp_props(body: Any) -> LlamaCppProps:
    """``model_path``, ``build_info`` and ``total_slots`` of llama.cpp's ``GET /props``."""
    if not isinstance(body, Mapping):
        raise AdapterParseError("/props body must be a JSON object")
    slots = body.get("total_slots")
    if slots is not None and (not isinstance(slots, int) or isinstance(slots, bool)):
        raise AdapterParseError("total_slots must be an integer")
    return LlamaCppProps(model_path=_str(body.get("model_path"), "model_path"),
                         build_info=_str(body.get("build_info"), "build_info"),
                         total_slots=slots)


def parse_llamacpp_lora_adapters(body: Any, *, parent: str | None = None
                                 ) -> tuple[ServedAdapter, ...]:
    """llama.cpp's ``GET /lora-adapters`` list; ``parent`` is the ``model_path`` from ``/props``."""
    out = []
    for i, entry in enumerate(_entries(body, "/lora-adapters body")):
        if not isinstance(entry, Mapping):
            raise AdapterParseError(f"[{i}] must be an object")
        path = _str(entry.get("path"), f"[{i}].path", required=True) or ""
        scale = entry.get("scale", 1.0)
        if not isinstance(scale, int | float) or isinstance(scale, bool):
            raise AdapterParseError(f"[{i}].scale must be a number")
        ident = entry.get("id")
        name = path.replace("\\", "/").rsplit("/", 1)[-1] or str(ident)
        out.append(ServedAdapter(name=name, parent=parent, source=path, scale=float(scale),
                                 server="llama.cpp"))
    return tuple(out)


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._/@+=-]", "_", text)[:128] or "_"


def adapter_components(adapters: Iterable[ServedAdapter]) -> dict[str, str]:
    """``adapter:<name>`` -> ``parent=...;source=...[;scale=...]`` for the fingerprint.

    >>> adapter_components(parse_llamacpp_lora_adapters(
    ...     [{"id": 0, "path": "adapters/tw-safe.gguf", "scale": 0.5}], parent="gemma.gguf"))
    {'adapter:tw-safe.gguf': 'parent=gemma.gguf;source=adapters/tw-safe.gguf;scale=0.5'}
    """
    out = {}
    for a in adapters:
        value = f"parent={a.parent or '-'};source={a.source or '-'}"
        if a.scale is not None:
            value += f";scale={a.scale:g}"
        out[f"adapter:{_label(a.name)}"] = value[:256]
    return out
