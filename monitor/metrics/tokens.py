"""Metrics of generations (``monitor/proxy/tokens.py``): tokens per request, time to first token,
time per output token and operation duration, per model, on every response (not only sampled ones).

Bucket boundaries are the ExplicitBucketBoundaries the OpenTelemetry semantic conventions for
generative AI metrics recommend (``docs/gen-ai/gen-ai-metrics.md``, semantic conventions v1.37.0
and later, status Development), so these histograms map one to one onto ``gen_ai.*`` instruments
(:mod:`monitor.metrics.genai`).

Labels, all bounded (:class:`~monitor.proxy.catalog.ModelLabels`): ``operation`` (``chat``,
``text_completion``, ``embeddings``), ``request_model``, ``model`` (the response's model),
``base_model`` (an adapter's parent, else the model), and for tokens ``type`` (``input``,
``output``) and ``source`` (``usage``: the response's usage; ``estimate``: output tokens counted as
one per streamed delta, for streams without a usage chunk).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from monitor.metrics.errors import MonitorErrors

# OpenTelemetry semconv gen_ai.client.token.usage
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)
# gen_ai.client.operation.duration (and gen_ai.server.request.duration)
OPERATION_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                              20.48, 40.96, 81.92)
# gen_ai.server.time_to_first_token
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0)
# gen_ai.server.time_per_output_token
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)

MODEL_LABELS = ("operation", "request_model", "model", "base_model")
TOKEN_LABELS = (*MODEL_LABELS, "type", "source")
DURATION_LABELS = (*MODEL_LABELS, "error_type")


class TokenMetrics:
    def __init__(self, registry: CollectorRegistry, *, errors: MonitorErrors) -> None:
        r = self.registry = registry
        self.errors = errors
        self.tokens = Histogram(
            "tunewatch_request_tokens",
            "Tokens per request by type (input, output), from the response's usage "
            "(source=usage) or, for streams without a usage chunk, output tokens counted as one "
            "per streamed delta (source=estimate). _sum is the token count.",
            TOKEN_LABELS,
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.operation_duration = Histogram(
            "tunewatch_operation_duration_seconds",
            "Generation requests (chat, completions, embeddings) by model: receipt to last "
            "response byte; error_type is empty on success.",
            DURATION_LABELS,
            buckets=OPERATION_DURATION_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "tunewatch_time_to_first_token_seconds",
            "Successful streams: request receipt to the first streamed piece of output relayed.",
            MODEL_LABELS,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.tpot = Histogram(
            "tunewatch_time_per_output_token_seconds",
            "Successful streams: (duration - time to first token) / (output tokens - 1).",
            MODEL_LABELS,
            buckets=TPOT_BUCKETS,
            registry=r,
        )

    def monitor_error(self, stage: str) -> None:
        self.errors.count(stage)
