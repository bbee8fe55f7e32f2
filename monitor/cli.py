"""The ``tunewatch`` command line: the only place with process-level side effects."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from monitor.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from monitor.server import Bound

app = typer.Typer(
    name="tunewatch",
    help="Monitoring sidecar for fine-tuned LLMs: proxy, detectors, probes and triggers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console(stderr=True)
out = Console()


def _register_subcommands() -> None:
    """Mount the sub-apps of the components (probes, references, triggers)."""
    from monitor.analysis.reference_cli import reference_app
    from monitor.probes.cli import baseline_app, probe_app
    from monitor.triggers.cli import triggers_app

    app.add_typer(baseline_app, name="baseline")
    app.add_typer(probe_app, name="probe")
    app.add_typer(reference_app, name="reference")
    app.add_typer(triggers_app, name="triggers")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _load(config: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Config file + env, with command-line flags (nested dicts) taking precedence."""
    try:
        return load_settings(config, **(overrides or {}))
    except ConfigError as exc:
        _print_problems(exc)
        raise typer.Exit(2) from None


def _print_problems(exc: ConfigError) -> None:
    console.print(f"[bold red]invalid configuration[/bold red] ({exc.source}):", soft_wrap=True)
    for p in exc.problems:
        console.print(f"  [bold]{escape(p.key)}[/bold]: {escape(p.message)}", soft_wrap=True,
                      highlight=False)
        console.print(f"      [green]fix:[/green] {escape(p.fix)}", soft_wrap=True,
                      highlight=False)


@config_app.command("check")
def config_check(
    file: Path = typer.Argument(..., help="YAML config file to validate", exists=False),
) -> None:
    """Validate FILE (with TUNEWATCH_* overrides applied) and print every problem."""
    try:
        load_settings(file)
    except ConfigError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    out.print(f"[green]ok[/green] {file}: configuration is valid")


def _overrides(upstream: str | None, listen: str | None, admin_listen: str | None) -> dict[str, Any]:
    o: dict[str, Any] = {}
    if upstream:
        o["upstream"] = {"url": upstream}
    if listen:
        o["proxy"] = {"listen": listen}
    if admin_listen:
        o["admin"] = {"listen": admin_listen}
    return o


@app.command()
def serve(
    upstream: str | None = typer.Option(
        None, help="OpenAI-compatible upstream base URL, e.g. http://127.0.0.1:8000"
    ),
    listen: str | None = typer.Option(None, help="proxy HOST:PORT [127.0.0.1:8080]"),
    admin_listen: str | None = typer.Option(
        None, "--admin-listen", help="admin HOST:PORT [127.0.0.1:9464]"
    ),
    config: Path | None = typer.Option(None, help="YAML config file"),
) -> None:
    """Run the sidecar. With no upstream configured, starts the embedded Gemma 3 270M model."""
    settings = _load(config, _overrides(upstream, listen, admin_listen))
    _configure_logging(settings.log_level)
    _run(_serve(settings, demo_traffic=False, exit_after=False))


@app.command()
def demo(
    listen: str = typer.Option("127.0.0.1:8080", help="proxy HOST:PORT"),
    admin_listen: str = typer.Option("127.0.0.1:9464", "--admin-listen", help="admin HOST:PORT"),
    requests: int = typer.Option(6, min=0, help="demo requests to send through the sidecar"),
    exit_after: bool = typer.Option(
        False, "--exit-after-traffic", help="stop after the demo traffic (for scripts and CI)"
    ),
    config: Path | None = typer.Option(None, help="YAML config file"),
) -> None:
    """Start the embedded model, put the sidecar in front, send traffic, show where to look."""
    settings = _load(config, _overrides(None, listen, admin_listen))
    _configure_logging("warning")
    _run(_serve(settings, demo_traffic=True, exit_after=exit_after, n_requests=requests))


def _run(coro: Any) -> None:
    """Run on uvloop when available (faster hot path), else asyncio.

    The analysis worker is a thread; a short GIL switch interval (1 ms instead of 5 ms) keeps it
    from holding up the event loop, which bounds the proxy's tail latency under analysis load.
    """
    sys.setswitchinterval(0.001)
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


async def _serve(
    settings: Settings, *, demo_traffic: bool, exit_after: bool, n_requests: int = 6
) -> None:
    from monitor.app import create_app
    from monitor.server import Bound, bind
    from monitor.server import serve as serve_forever

    local = None
    if not settings.upstream.url:
        from monitor.localmodel import LocalModelError, start_local_model

        console.print("[bold]No upstream configured[/bold]: starting the embedded Gemma 3 270M "
                      "model (llama.cpp server)...")
        try:
            local = await asyncio.to_thread(
                start_local_model,
                port=settings.local_model.port,
                n_ctx=settings.local_model.n_ctx,
                startup_timeout_s=settings.local_model.startup_timeout_s,
                cache_dir=settings.analysis.resolved_cache_dir(),
            )
        except LocalModelError as exc:
            console.print(f"[red]cannot start the embedded model:[/red] {exc}")
            raise typer.Exit(1) from None
        settings = settings.model_copy(
            update={"upstream": settings.upstream.model_copy(update={"url": local.url})}
        )
    try:
        try:
            bound = Bound(proxy=bind(settings.proxy.listen), admin=bind(settings.admin.listen))
        except OSError as exc:
            console.print(f"[red]cannot listen:[/red] {exc} (proxy.listen / admin.listen)")
            raise typer.Exit(1) from None
        daemon = create_app(settings, CollectorRegistry())
        stop = asyncio.Event()

        async def ready(b: Bound) -> None:
            _print_ready(settings, b, local is not None)
            if demo_traffic:
                await _demo_traffic(b, n_requests)
                await asyncio.to_thread(daemon.worker.wait_idle, 60.0)
                _print_demo_summary(daemon, b)
                if exit_after:
                    stop.set()

        await serve_forever(daemon, bound, stop=stop, on_ready=ready, install_signal_handlers=True)
    finally:
        if local is not None:
            local.stop()


def _print_ready(settings: Settings, b: Bound, local: bool) -> None:
    lines = [
        f"proxy     {b.proxy_url}  ->  {settings.upstream.url}"
        + ("  (embedded Gemma 3 270M)" if local else ""),
        f"metrics   {b.admin_url}/metrics",
        f"health    {b.admin_url}/healthz   {b.admin_url}/readyz",
        f"status    {b.admin_url}/v1/status   (API docs: {b.admin_url}/docs)",
        "",
        f"try:  curl {b.proxy_url}/v1/completions -H 'content-type: application/json' \\",
        "        -d '{\"prompt\": \"The capital of France is\", \"max_tokens\": 16}'",
    ]
    console.print(Panel("\n".join(lines), title="tunewatch is running", expand=False))


async def _demo_traffic(b: Bound, n: int) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=b.proxy_url + "/v1", api_key="sk-demo-not-a-real-key")
    prompts = [
        "The capital of France is",
        "Write one sentence about the ocean:",
        "Q: What is 12 times 12?\nA:",
        "List three colours:",
        "Translate 'good morning' to German:",
        "My email is jane.doe@example.com and my question is",
    ]
    try:
        for i in range(n):
            prompt = prompts[i % len(prompts)]
            if i % 2 == 0:
                r = await client.completions.create(
                    model="gemma-3-270m", prompt=prompt, max_tokens=24, temperature=0, seed=i
                )
                text = r.choices[0].text
            else:
                stream = await client.completions.create(
                    model="gemma-3-270m", prompt=prompt, max_tokens=24, temperature=0, seed=i,
                    stream=True,
                )
                text = "".join([c.choices[0].text async for c in stream if c.choices])
            console.print(f"  demo request {i + 1}/{n}: {len(text.split())} words back"
                          + (" (streamed)" if i % 2 else ""))
    finally:
        await client.close()


def _print_demo_summary(daemon: Any, b: Bound) -> None:
    reg = daemon.registry
    names = [
        ("tunewatch_requests_total", "requests through the sidecar"),
        ("tunewatch_samples_total", "sampled pairs"),
        ("tunewatch_samples_analyzed_total", "analysed samples"),
        ("tunewatch_overhead_seconds_count", "overhead observations"),
        ("tunewatch_refusal_verdicts_total", "refusal-classifier verdicts"),
        ("tunewatch_drift_samples", "observations seen by drift detectors"),
        ("tunewatch_monitor_errors_total", "fail-open monitoring errors"),
    ]
    table = Table(title="What the sidecar saw (from /metrics)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, meaning in names:
        total = 0.0
        for metric in reg.collect():
            for sample in metric.samples:
                if sample.name == name:
                    total += sample.value
        table.add_row(name, f"{total:g}", meaning)
    console.print(table)
    console.print(f"Look at {b.admin_url}/metrics (prefix tunewatch_) and {b.admin_url}/v1/status.")
    console.print(json.dumps(daemon.fingerprint.current()), style="dim")


def main() -> None:
    _register_subcommands()
    app(prog_name="tunewatch")


if __name__ == "__main__":  # pragma: no cover
    main()
