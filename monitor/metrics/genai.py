"""The token and latency histograms under the OpenTelemetry GenAI semantic-convention names.

The conventions (``docs/gen-ai/gen-ai-metrics.md`` of the OpenTelemetry semantic conventions,
v1.37.0 and later) are marked **Development**: names and attributes may still change. Nothing is
measured twice: :class:`GenAIView` reads the ``tunewatch_*`` histograms of
:mod:`monitor.metrics.tokens` when asked and renames them, so both views always agree and the hot
path pays nothing for the second one. Two readers:

* :class:`GenAICollector` (opt-in, ``metrics.genai_names``): the same series on ``/metrics`` under
  the names Prometheus gives the GenAI instruments (dots become underscores, unit ``s`` becomes
  ``_seconds``, the ``{token}`` annotation is dropped);
* :mod:`monitor.metrics.otlp` (``metrics.otlp.endpoint``): the same points over OTLP, under the
  instrument names themselves.

=========================================  ===============================================
``tunewatch_*`` (labels)                   GenAI instrument (attributes)
=========================================  ===============================================
``request_tokens`` (type, source)          ``gen_ai.client.token.usage`` (gen_ai.token.type)
``operation_duration_seconds`` (error_type)  ``gen_ai.client.operation.duration`` (error.type)
``time_to_first_token_seconds``            ``gen_ai.server.time_to_first_token``
``time_per_output_token_seconds``          ``gen_ai.server.time_per_output_token``
=========================================  ===============================================

Common labels: ``operation`` -> ``gen_ai.operation.name``, ``request_model`` ->
``gen_ai.request.model``, ``model`` -> ``gen_ai.response.model``, plus ``gen_ai.provider.name``
(``metrics.genai_provider_name``). Tunewatch's own ``base_model`` and ``source`` are kept as
``tunewatch.base_model`` and ``tunewatch.token.source``. Empty values (an unknown request model,
no error) are left out.

>>> from prometheus_client import CollectorRegistry, generate_latest
>>> from monitor.metrics import Metrics
>>> reg = CollectorRegistry()
>>> m = Metrics(reg)
>>> m.tokens.tokens.labels("chat", "gemma", "gemma", "gemma", "output", "usage").observe(9)
>>> reg.register(GenAICollector(GenAIView(m.tokens, provider="openai")))
>>> reg.get_sample_value("gen_ai_client_token_usage_sum", {
...     "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
...     "gen_ai_request_model": "gemma", "gen_ai_response_model": "gemma",
...     "gen_ai_token_type": "output", "tunewatch_base_model": "gemma",
...     "tunewatch_token_source": "usage"})
9.0
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.metrics.labels import UNKNOWN
from monitor.metrics.tokens import TokenMetrics

SEMCONV_URL = "https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/"

# tunewatch label -> GenAI attribute
COMMON_ATTRIBUTES = {
    "operation": "gen_ai.operation.name",
    "request_model": "gen_ai.request.model",
    "model": "gen_ai.response.model",
    "base_model": "tunewatch.base_model",
}
_OMIT_WHEN = {"gen_ai.request.model": UNKNOWN}


@dataclass(frozen=True)
class Instrument:
    """One GenAI instrument and the ``tunewatch_*`` histogram it is read from."""

    name: str  # OpenTelemetry instrument name
    prometheus_name: str
    unit: str
    description: str
    attributes: dict[str, str]  # tunewatch label -> attribute


@dataclass(frozen=True)
class Point:
    """One histogram series: attributes (GenAI names), cumulative bucket counts, sum, count."""

    attributes: dict[str, str]
    bounds: tuple[float, ...]  # finite upper bounds
    cumulative: tuple[float, ...]  # one per bound, then +Inf
    sum: float
    count: float
    created: float | None


def _attrs(**extra: str) -> dict[str, str]:
    return {**COMMON_ATTRIBUTES, **extra}


class GenAIView:
    """The GenAI instruments, each paired with the histogram it renames; read at call time."""

    def __init__(self, metrics: TokenMetrics, *, provider: str) -> None:
        self.provider = provider
        self.instruments: list[tuple[Instrument, Any]] = [
            (Instrument("gen_ai.client.token.usage", "gen_ai_client_token_usage", "{token}",
                        "Number of input and output tokens used.",
                        _attrs(type="gen_ai.token.type", source="tunewatch.token.source")),
             metrics.tokens),
            (Instrument("gen_ai.client.operation.duration",
                        "gen_ai_client_operation_duration_seconds", "s",
                        "GenAI operation duration.", _attrs(error_type="error.type")),
             metrics.operation_duration),
            (Instrument("gen_ai.server.time_to_first_token",
                        "gen_ai_server_time_to_first_token_seconds", "s",
                        "Time to generate first token for successful responses.", _attrs()),
             metrics.ttft),
            (Instrument("gen_ai.server.time_per_output_token",
                        "gen_ai_server_time_per_output_token_seconds", "s",
                        "Time per output token generated after the first token for successful "
                        "responses.", _attrs()),
             metrics.tpot),
        ]

    def read(self) -> Iterator[tuple[Instrument, list[Point]]]:
        for instrument, histogram in self.instruments:
            yield instrument, [self._point(instrument, labels, series)
                               for labels, series in _series(histogram)]

    def _point(self, instrument: Instrument, labels: tuple[tuple[str, str], ...],
               series: dict[str, Any]) -> Point:
        attributes = {"gen_ai.provider.name": self.provider}
        for label, value in labels:
            name = instrument.attributes.get(label)
            if name is not None and value and _OMIT_WHEN.get(name) != value:
                attributes[name] = value
        buckets = sorted(series["buckets"].items())
        return Point(attributes=attributes,
                     bounds=tuple(b for b, _ in buckets if not math.isinf(b)),
                     cumulative=tuple(c for _, c in buckets),
                     sum=series.get("sum", 0.0), count=series.get("count", 0.0),
                     created=series.get("created"))


def _series(histogram: Any) -> Iterator[tuple[tuple[tuple[str, str], ...], dict[str, Any]]]:
    """(labels without ``le``, {buckets: {bound: cumulative}, sum, count, created}) per child."""
    out: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for family in histogram.collect():
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            entry = out.setdefault(labels, {"buckets": {}})
            if s.name.endswith("_bucket"):
                entry["buckets"][float(s.labels["le"])] = s.value
            elif s.name.endswith("_sum"):
                entry["sum"] = s.value
            elif s.name.endswith("_count"):
                entry["count"] = s.value
            elif s.name.endswith("_created"):
                entry["created"] = s.value
    yield from out.items()


def prometheus_label(attribute: str) -> str:
    """``gen_ai.request.model -> gen_ai_request_model`` (Prometheus' translation of names)."""
    return attribute.replace(".", "_")


class GenAICollector(Collector):
    """``/metrics`` families under the GenAI names, read from :class:`GenAIView` at scrape time."""

    def __init__(self, view: GenAIView) -> None:
        self.view = view

    def describe(self) -> list[Metric]:
        return [HistogramMetricFamily(i.prometheus_name, i.description, labels=[])
                for i, _ in self.view.instruments]

    def collect(self) -> Iterator[Metric]:
        for instrument, points in self.view.read():
            names = ["gen_ai.provider.name", *instrument.attributes.values()]
            labels = [prometheus_label(n) for n in names]
            family = HistogramMetricFamily(
                instrument.prometheus_name,
                f"{instrument.description} OpenTelemetry {instrument.name} (semantic "
                f"conventions, status Development), the same series as Tunewatch's.",
                labels=labels)
            for p in points:
                buckets = [(_le(b), c) for b, c in zip((*p.bounds, math.inf), p.cumulative,
                                                       strict=True)]
                family.add_metric([p.attributes.get(n, "") for n in names], buckets, p.sum)
            yield family


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))
