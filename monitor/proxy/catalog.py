"""The models the upstream serves, and which are LoRA adapters of which base: model label values.

Fed from the upstream's ``GET /v1/models`` (polled by :mod:`monitor.proxy.health`, parsed by
:func:`monitor.governance.adapters.parse_vllm_models`: vLLM lists each LoRA module with its
``parent``). :class:`ModelLabels` turns the model names found in a request and its response into
bounded label values:

* a model the upstream lists keeps its name, any other is ``other`` (clients choose the request's
  ``model``, and some servers echo it back, so an unlisted name is client text and never a label);
  until a list has been read, names pass through a :class:`BoundedLabel` as the fingerprint's do;
* ``base_model`` is the adapter's parent, or the model itself when it is not an adapter;
* at most ``limit`` distinct values in all, then ``other``; names are cut to 64 characters.

>>> from monitor.governance.adapters import parse_vllm_models
>>> labels = ModelLabels(limit=10)
>>> labels.resolve("anything", None)  # no list yet: bounded, as the fingerprint's labels
('anything', 'anything', 'anything')
>>> labels.update(parse_vllm_models({"data": [{"id": "gemma-3-270m"},
...     {"id": "tw-safe", "parent": "gemma-3-270m"}]}))
>>> labels.resolve("tw-safe", "tw-safe")
('tw-safe', 'tw-safe', 'gemma-3-270m')
>>> labels.resolve("my secret question", "my secret question")
('other', 'other', 'other')
>>> labels.resolve(None, "gemma-3-270m")
('unknown', 'gemma-3-270m', 'gemma-3-270m')
"""

from __future__ import annotations

from monitor.governance.adapters import ServerModels
from monitor.metrics.labels import OTHER, UNKNOWN, BoundedLabel

MAX_VALUE_CHARS = 64
_CACHE_LIMIT = 1024


class ModelLabels:
    """``resolve(request_model, response_model) -> (request_model, model, base_model)``."""

    def __init__(self, *, limit: int) -> None:
        self._bounded = BoundedLabel(limit=limit)
        self._served: frozenset[str] | None = None
        self._parents: dict[str, str] = {}
        self._cache: dict[tuple[str | None, str | None], tuple[str, str, str]] = {}

    @property
    def known(self) -> bool:
        """Whether the upstream's model list has been read."""
        return self._served is not None

    def update(self, models: ServerModels) -> None:
        """A model list just read from the upstream (replaces the previous one)."""
        served = {b.id for b in models.base_models} | {a.name for a in models.adapters}
        parents = {a.name: a.parent for a in models.adapters if a.parent}
        if served == self._served and parents == self._parents:
            return
        self._served = frozenset(served)
        self._parents = parents
        self._cache = {}

    def resolve(self, request_model: str | None,
                response_model: str | None) -> tuple[str, str, str]:
        key = (request_model, response_model)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        request = self._label(request_model)
        model = self._label(response_model) if response_model else request
        parent = self._parents.get(model)
        base = self._bounded(parent[:MAX_VALUE_CHARS]) if parent else model
        out = (request, model, base)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {}
        self._cache[key] = out
        return out

    def _label(self, name: str | None) -> str:
        if not name:
            return UNKNOWN
        if self._served is not None and name not in self._served:
            return OTHER
        if not name.isprintable():
            return OTHER
        return self._bounded(name[:MAX_VALUE_CHARS])
