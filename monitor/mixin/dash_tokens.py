"""The generations row of the SRE overview: tokens, time to first token, time per output token,
adapters and generation errors, per model (``monitor/metrics/tokens.py``).

These series carry their own ``model`` label (the response's model), so they are filtered on it
directly (:meth:`~monitor.mixin.queries.Queries.model_rate`) instead of joined on the pod's model.
"""

from __future__ import annotations

from monitor.mixin.config import MixinConfig, m
from monitor.mixin.grafana import Panel, row, target, thresholds, timeseries
from monitor.mixin.queries import Queries

TOKENS = "tunewatch_request_tokens"
TTFT = "tunewatch_time_to_first_token_seconds"
TPOT = "tunewatch_time_per_output_token_seconds"
DURATION = "tunewatch_operation_duration_seconds"


def token_panels(q: Queries, config: MixinConfig) -> list[Panel]:
    ttft_steps = thresholds((None, "green"), (config.ttft_p95_seconds, "red"))
    tpot_steps = thresholds((None, "green"), (config.tpot_p95_seconds, "red"))
    output = m("type", "=", "output")
    return [
        row("Generations: tokens and time per token"),
        timeseries(
            "Tokens per second by model",
            [target(q.model_rate(f"{TOKENS}_sum", "model, type"), "{{model}} {{type}}")],
            unit="short",
            width=8,
            stack=True,
            description="Input and output tokens of every generation response (not only sampled "
            "ones), from the response's usage or, for streams without one, estimated.",
        ),
        timeseries(
            "Time to first token",
            [
                target(q.model_quantile(0.5, TTFT), "p50 {{model}}"),
                target(q.model_quantile(0.95, TTFT), "p95 {{model}}"),
            ],
            unit="s",
            width=8,
            steps=ttft_steps,
            description="Streams: request receipt to the first piece of output relayed "
            "(includes queueing and prefill on the model server).",
        ),
        timeseries(
            "Time per output token",
            [
                target(q.model_quantile(0.5, TPOT), "p50 {{model}}"),
                target(q.model_quantile(0.95, TPOT), "p95 {{model}}"),
            ],
            unit="s",
            width=8,
            steps=tpot_steps,
            description="Streams: (duration - time to first token) / (output tokens - 1), the "
            "decode speed clients see.",
        ),
        timeseries(
            "Output tokens per request p95",
            [target(q.model_quantile(0.95, TOKENS, "model", output), "{{model}}")],
            unit="short",
            width=8,
        ),
        timeseries(
            "Output tokens by base model and adapter",
            [target(q.model_rate(f"{TOKENS}_sum", "base_model, model", output),
                    "{{base_model}} / {{model}}")],
            unit="short",
            width=8,
            stack=True,
            description="LoRA adapters (vLLM /v1/models parent) under their base model; a model "
            "that is no adapter is its own base.",
        ),
        timeseries(
            "Estimated share of output tokens",
            [target(f"{q.model_rate(f'{TOKENS}_sum', 'model', output, m('source', '=', 'estimate'))}"
                    f" / {q.model_rate(f'{TOKENS}_sum', 'model', output)}", "{{model}}")],
            unit="percentunit",
            width=8,
            description="Output tokens counted as one per streamed delta because the stream had "
            "no usage chunk (clients that do not ask for stream_options.include_usage).",
        ),
        timeseries(
            "Generation errors by type",
            [target(q.model_rate(f"{DURATION}_count", "model, error_type",
                                 m("error_type", "!=", "")), "{{model}} {{error_type}}")],
            unit="reqps",
            width=12,
            stack=True,
            description="Generation requests that ended in an error: upstream status codes, "
            "upstream_unreachable / upstream_timeout, stream_cut, client_disconnect.",
        ),
        timeseries(
            "Generation duration",
            [
                target(q.model_quantile(0.5, DURATION), "p50 {{model}}"),
                target(q.model_quantile(0.99, DURATION), "p99 {{model}}"),
            ],
            unit="s",
            width=12,
            description="Every generation request by model, receipt to last byte "
            "(gen_ai.client.operation.duration).",
        ),
    ]
