"""The ``tunewatch`` command line: the only place with process-level side effects."""

from __future__ import annotations

import asyncio
import logging
import os
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
    from monitor.probes.pool.cli import pool_app
    from monitor.triggers.cli import triggers_app

    app.add_typer(baseline_app, name="baseline")
    app.add_typer(probe_app, name="probe")
    app.add_typer(pool_app, name="pool")
    app.add_typer(reference_app, name="reference")
    app.add_typer(triggers_app, name="triggers")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO (the upstream poll, with any password in the URL)
    logging.getLogger("httpx").setLevel(logging.WARNING)


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
    overrides = _overrides(None, listen, admin_listen)
    overrides.setdefault("log_level", "warning")  # the demo prints its own story
    settings = _load(config, overrides)
    _configure_logging(settings.log_level)
    os.environ.setdefault("TQDM_DISABLE", "1")  # no model-loading progress bars in the story
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
        except (LocalModelError, OSError) as exc:
            _fail_paragraph("cannot start the embedded model", str(exc))
            raise typer.Exit(1) from None
        settings = settings.model_copy(
            update={"upstream": settings.upstream.model_copy(update={"url": local.url})}
        )
    failure: list[str] = []
    try:
        try:
            bound = Bound(proxy=bind(settings.proxy.listen), admin=bind(settings.admin.listen))
        except OSError as exc:
            _fail_paragraph("cannot listen", f"{exc.strerror or exc} (proxy.listen "
                            f"{settings.proxy.listen}, admin.listen {settings.admin.listen}). "
                            "Fix: stop the process using the port or choose another with "
                            "--listen / --admin-listen.")
            raise typer.Exit(1) from None
        try:
            daemon = create_app(settings, CollectorRegistry())
        except ValueError as exc:  # a bad probe pool import, baseline or suite (file:line)
            from monitor.probes.baseline import BaselineMismatch
            from monitor.probes.yamlmarks import SourceErrors

            if not isinstance(exc, SourceErrors | BaselineMismatch):
                raise
            _fail_paragraph("cannot start the probes", str(exc))
            raise typer.Exit(1) from None
        stop = asyncio.Event()
        watcher = None
        if local is not None:
            watcher = asyncio.ensure_future(local.watch())

            def on_model_gone(task: asyncio.Future[str]) -> None:
                if not task.cancelled():
                    failure.append(task.result())
                    stop.set()

            watcher.add_done_callback(on_model_gone)

        async def ready(b: Bound) -> None:
            _print_ready(settings, b, local is not None)
            if demo_traffic:
                problem = await _demo_traffic(b, n_requests)
                if problem is not None:
                    if local is not None:
                        # A failed request is most often the model server dying: wait for the
                        # watcher to see the exit so the message names the real cause.
                        await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=3.0)
                    if not failure:
                        failure.append(problem)
                    stop.set()
                    return
                if not await asyncio.to_thread(daemon.worker.wait_idle, 2.0):
                    console.print("  analysing the samples (the first run also builds the static "
                                  "embedding model: 1-2 minutes on 2 cores)...")
                    if not await asyncio.to_thread(daemon.worker.wait_idle, 600.0):
                        console.print("  [yellow]analysis is still running; the table shows "
                                      "what is done so far[/yellow]")
                _print_demo_summary(daemon, b)
                if exit_after:
                    stop.set()

        try:
            await serve_forever(daemon, bound, stop=stop, on_ready=ready,
                                install_signal_handlers=True)
        finally:
            if watcher is not None:
                watcher.cancel()
    finally:
        if local is not None:
            local.stop(keep_log=bool(failure))
    if failure:
        if local is not None and local.failure() is not None:
            _fail_paragraph("the embedded model server stopped", local.explain(failure[0]))
        elif local is not None and failure[0].startswith(("exited", "stopped")):
            _fail_paragraph("the embedded model server stopped", local.explain(failure[0]))
        else:
            _fail_paragraph("the demo traffic failed", failure[0])
        raise typer.Exit(1)


def _fail_paragraph(title: str, text: str) -> None:
    """An expected failure, for a person: one paragraph, no traceback."""
    console.print(f"[bold red]{escape(title)}:[/bold red] {escape(text)}", soft_wrap=True,
                  highlight=False)


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


async def _demo_traffic(b: Bound, n: int) -> str | None:
    """Send ``n`` requests through the sidecar; return why one failed (``None`` when all did)."""
    from openai import APIError, AsyncOpenAI

    client = AsyncOpenAI(base_url=b.proxy_url + "/v1", api_key="sk-demo-not-a-real-key",
                         max_retries=0)
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
            try:
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
            except APIError as exc:
                status = getattr(exc, "status_code", None)
                return (f"demo request {i + 1}/{n} through the sidecar failed "
                        f"({type(exc).__name__}{f', HTTP {status}' if status else ''}).")
            console.print(f"  demo request {i + 1}/{n}: {len(text.split())} words back"
                          + (" (streamed)" if i % 2 else ""))
    finally:
        await client.close()
    return None


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
    deployment = daemon.fingerprint.current()
    parts = "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(deployment.items()) if v)
    if parts:
        console.print(f"Deployment seen: {escape(parts)} (the full fingerprint is in /v1/status).",
                      highlight=False)
    console.print(f"Look at {b.admin_url}/metrics (prefix tunewatch_) and {b.admin_url}/v1/status.")


@app.command()
def doctor(
    timeout: float = typer.Option(180.0, min=1, help="seconds to wait for the model to answer"),
) -> None:
    """Check the embedded model: no CPU instruction this machine cannot run in llama.cpp's
    kernels, then one real completion. Exit 1 with the cause and the server log if it fails."""
    from monitor.localmodel import (
        NEVER_ALLOWED,
        LocalModelError,
        cpu_flags,
        llama_libraries,
        smoke_completion,
        unsupported_instructions,
    )

    try:
        libs = llama_libraries()
        bad = unsupported_instructions(libs, cpu_flags())
        if bad:
            found = "; ".join(f"{lib}: " + ", ".join(f"{n} {flag}" for flag, n in sorted(c.items()))
                              for lib, c in sorted(bad.items()))
            _fail_paragraph("llama-cpp-python was built with CPU instructions it must not use",
                            f"{found} (never allowed: {', '.join(sorted(NEVER_ALLOWED))}; others "
                            "only where /proc/cpuinfo lists them). Fix: rebuild it portably with "
                            "`bash scripts/install.sh`.")
            raise typer.Exit(1)
        out.print(f"[green]ok[/green] llama.cpp kernels: {len(libs)} libraries, no instruction "
                  "this CPU lacks, no AMX or AVX-512")
        text = smoke_completion(timeout_s=timeout)
    except LocalModelError as exc:
        _fail_paragraph("the embedded model failed its check", str(exc))
        raise typer.Exit(1) from None
    out.print(f"[green]ok[/green] the embedded Gemma 3 270M answered a completion "
              f"({len(text.split())} words)")


def main() -> None:
    _register_subcommands()
    try:
        app(prog_name="tunewatch")
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
