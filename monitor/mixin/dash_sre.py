"""SRE overview dashboard: traffic, latency, sidecar overhead, time to first byte, generations
(tokens, time per token; ``dash_tokens.py``), upstream and fail-open errors, sampling."""

from __future__ import annotations

from typing import Any

from monitor.mixin.config import MixinConfig, m
from monitor.mixin.dash_tokens import token_panels
from monitor.mixin.grafana import (
    Panel,
    dashboard,
    row,
    stat,
    target,
    thresholds,
    timeseries,
)
from monitor.mixin.queries import Queries, dashboard_annotations, dashboard_variables


def sre_overview(config: MixinConfig) -> dict[str, Any]:
    q = Queries(config)
    slo = config.overhead_p99_seconds
    overhead_steps = thresholds((None, "green"), (slo / 5, "yellow"), (slo, "red"))
    panels: list[Panel] = [
        row("Traffic"),
        stat(
            "Request rate",
            [target(q.rate("tunewatch_requests_total", ""))],
            unit="reqps",
            description="Requests forwarded by the selected sidecars.",
        ),
        stat(
            "5xx ratio",
            [
                target(
                    "("
                    + q.rate("tunewatch_requests_total", "", m("status_class", "=", "5xx"))
                    + " or vector(0)) / "
                    f"{q.rate('tunewatch_requests_total', '')}"
                )
            ],
            unit="percentunit",
            description="Share of responses with a 5xx status (upstream or sidecar).",
            steps=thresholds(
                (None, "green"), (0.01, "yellow"), (config.upstream_error_ratio, "red")
            ),
        ),
        stat(
            "Sidecar overhead p99",
            [target(q.quantile(0.99, "tunewatch_overhead_seconds", ""))],
            unit="s",
            steps=overhead_steps,
            description=f"Time spent inside the sidecar; SLO p99 < {slo * 1000:g} ms.",
        ),
        stat(
            "Sidecars up",
            [target(f"sum(up{q.sel()})")],
            unit="none",
            description="Scraped Tunewatch targets that answered the last scrape.",
            steps=thresholds((None, "red"), (1, "green")),
        ),
        timeseries(
            "Requests by model and status class",
            [
                target(
                    q.rate("tunewatch_requests_total", "model, status_class"),
                    "{{model}} {{status_class}}",
                )
            ],
            unit="reqps",
            stack=True,
        ),
        timeseries(
            "Requests by route",
            [target(q.rate("tunewatch_requests_total", "route, method"), "{{method}} {{route}}")],
            unit="reqps",
            stack=True,
        ),
        row("Latency"),
        timeseries(
            "Request duration",
            [
                target(q.quantile(0.5, "tunewatch_request_duration_seconds"), "p50 {{model}}"),
                target(q.quantile(0.99, "tunewatch_request_duration_seconds"), "p99 {{model}}"),
            ],
            unit="s",
            width=8,
            description="Request receipt to last response byte, as clients see it.",
        ),
        timeseries(
            "Sidecar overhead",
            [
                target(q.quantile(0.5, "tunewatch_overhead_seconds"), "p50 {{model}}"),
                target(q.quantile(0.99, "tunewatch_overhead_seconds"), "p99 {{model}}"),
            ],
            unit="s",
            width=8,
            steps=overhead_steps,
            description="Time in the sidecar excluding the upstream (x-tunewatch-overhead-ms).",
        ),
        timeseries(
            "Time to first byte (streams)",
            [
                target(q.quantile(0.5, "tunewatch_time_to_first_byte_seconds"), "p50 {{model}}"),
                target(q.quantile(0.99, "tunewatch_time_to_first_byte_seconds"), "p99 {{model}}"),
            ],
            unit="s",
            width=8,
        ),
        *token_panels(q, config),
        row("Errors"),
        timeseries(
            "Upstream errors by kind",
            [
                target(
                    q.rate("tunewatch_upstream_errors_total", "model, kind"), "{{model}} {{kind}}"
                )
            ],
            unit="reqps",
            width=8,
            stack=True,
        ),
        timeseries(
            "Fail-open monitor errors by stage",
            [
                target(
                    q.rate("tunewatch_monitor_errors_total", "model, stage"), "{{model}} {{stage}}"
                )
            ],
            unit="ops",
            width=8,
            stack=True,
            steps=thresholds((None, "green"), (0.001, "red")),
            description="Exceptions inside monitoring; the proxy failed open, clients saw nothing.",
        ),
        timeseries(
            "Client disconnects",
            [
                target(
                    q.rate("tunewatch_client_disconnects_total", "model, route"),
                    "{{model}} {{route}}",
                )
            ],
            unit="reqps",
            width=8,
        ),
        row("Sampling"),
        timeseries(
            "Sample queue",
            [
                target(q.gauge("tunewatch_sample_queue_depth", "model, pod"), "depth {{pod}}"),
                target(
                    q.gauge("tunewatch_sample_queue_capacity", "model, pod"), "capacity {{pod}}"
                ),
            ],
            unit="none",
            width=8,
        ),
        timeseries(
            "Samples taken, analysed and dropped",
            [
                target(q.rate("tunewatch_samples_total", "model"), "sampled {{model}}"),
                target(q.rate("tunewatch_samples_analyzed_total", "model"), "analysed {{model}}"),
                target(
                    q.rate("tunewatch_samples_dropped_total", "model, reason"),
                    "dropped {{reason}} {{model}}",
                ),
            ],
            unit="ops",
            width=8,
        ),
        timeseries(
            "Analysis batch duration p99",
            [target(q.quantile(0.99, "tunewatch_analysis_batch_duration_seconds"), "{{model}}")],
            unit="s",
            width=8,
        ),
    ]
    return dashboard(
        uid="tunewatch-sre-overview",
        title="Tunewatch / SRE overview",
        description="Traffic, latency, sidecar overhead, upstream and fail-open errors, sampling.",
        panels=panels,
        variables=dashboard_variables(q),
        annotations=dashboard_annotations(q),
    )
