"""The ``tunewatch`` command line: the only place with process-level side effects."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from monitor import demo as demo_story
from monitor.config import ConfigError, Settings, ignored_env_names, load_settings
from monitor.untrusted import display_url

if TYPE_CHECKING:
    from monitor.app import Daemon
    from monitor.localmodel import LocalModel
    from monitor.server import Bound

T = TypeVar("T")

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
    """Mount the sub-apps of the components (probes, references, triggers, dispositions)."""
    from monitor.analysis.reference_cli import reference_app
    from monitor.governance.cli import disposition_app
    from monitor.probes.cli import baseline_app, probe_app
    from monitor.probes.pool.cli import pool_app
    from monitor.triggers.cli import triggers_app

    app.add_typer(baseline_app, name="baseline")
    app.add_typer(disposition_app, name="disposition")
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
    ignored = ignored_env_names()
    if ignored:  # Kubernetes service links for a Service named tunewatch*: names only
        logging.getLogger("tunewatch.config").warning(
            "ignoring environment variables that are not settings (Kubernetes service links; "
            "set enableServiceLinks: false in the pod spec to drop them): %s", ", ".join(ignored))


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
        where = f" (from {escape(p.origin)})" if p.origin else ""
        console.print(f"  [bold]{escape(p.key)}[/bold]{where}: {escape(p.message)}",
                      soft_wrap=True, highlight=False)
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
    _run(_serve_command(settings))


@app.command()
def demo(
    model: str = typer.Option("drift", help="production model: drift (tw-drift-15, a fine-tune "
                              "that eroded safety) or safe (tw-safe, the reviewed model)"),
    listen: str = typer.Option("127.0.0.1:8080", help="proxy HOST:PORT"),
    admin_listen: str = typer.Option("127.0.0.1:9464", "--admin-listen", help="admin HOST:PORT"),
    exit_after: bool = typer.Option(
        False, "--exit-after-traffic", help="stop after the story (for scripts and CI)"
    ),
    config: Path | None = typer.Option(None, help="YAML config file"),
) -> None:
    """A real fine-tune that eroded safety, caught: probes, live traffic, tickets."""
    if model not in ("drift", "safe"):
        _fail_paragraph("invalid --model", f"{model!r}; fix: use drift or safe")
        raise typer.Exit(2)
    base = _load(config, _overrides(None, listen, admin_listen))
    _configure_logging("error")  # the demo prints its own story (tickets included)
    os.environ.setdefault("TQDM_DISABLE", "1")  # no model-loading progress bars in the story
    _run(_demo(base, config, "drift" if model == "drift" else "safe", exit_after))


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


class _Gone(Exception):
    """The embedded model server stopped while a step was using it."""


async def _watched(local: LocalModel | None, step: Awaitable[T]) -> T:
    """Await ``step``; if the embedded model server dies first, cancel it and raise _Gone."""
    if local is None:
        return await step
    task = asyncio.ensure_future(step)
    watch = asyncio.ensure_future(local.watch())
    try:
        await asyncio.wait([task, watch], return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _Gone(watch.result())
    if task.exception() is not None:
        # a step that failed because the server died under it: give the exit a moment to show
        for _ in range(30):
            why = local.failure()
            if why is not None:
                raise _Gone(why)
            await asyncio.sleep(0.1)
    return task.result()


async def _start_embedded(settings: Settings) -> LocalModel:
    from monitor.localmodel import LocalModelError, start_local_model

    console.print("[bold]No upstream configured[/bold]: starting the embedded Gemma 3 270M "
                  "model (llama.cpp server)...")
    try:
        return await asyncio.to_thread(
            start_local_model, port=settings.local_model.port, n_ctx=settings.local_model.n_ctx,
            startup_timeout_s=settings.local_model.startup_timeout_s,
            cache_dir=settings.analysis.resolved_cache_dir())
    except (LocalModelError, OSError) as exc:
        _fail_paragraph("cannot start the embedded model", str(exc))
        raise typer.Exit(1) from None


async def _serve_command(settings: Settings) -> None:
    local = None
    if not settings.upstream.url:
        local = await _start_embedded(settings)
        settings = settings.model_copy(
            update={"upstream": settings.upstream.model_copy(update={"url": local.url})})
    await _serving(settings, local, note="  (embedded Gemma 3 270M)" if local else "")


async def _serving(settings: Settings, local: LocalModel | None, *, note: str = "",
                   story: Callable[[Daemon, Bound], Awaitable[None]] | None = None,
                   exit_after: bool = False) -> None:
    """Bind, build the daemon, serve until stopped; with ``story``, run it once ready. Owns
    ``local`` from here on: stops it at the end, keeping its log when it failed."""
    from monitor.app import create_app
    from monitor.server import Bound, bind
    from monitor.server import serve as serve_forever

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

        async def work(b: Bound) -> None:
            try:
                if story is not None:
                    await _watched(local, story(daemon, b))
                    if exit_after:
                        stop.set()
                elif local is not None:
                    await _watched(local, asyncio.Event().wait())  # until the server dies
            except _Gone as gone:
                failure.append(str(gone))
                stop.set()
            except Exception as exc:  # a step of the story failed: say so, no traceback
                if stop.is_set():
                    return  # stopping (Ctrl-C, SIGTERM): the story was cut short, not broken
                why = local.failure() if local is not None else None
                failure.append(why or f"the demo failed: {type(exc).__name__}: {exc}")
                stop.set()

        running: list[asyncio.Task[None]] = []

        def ready(b: Bound) -> None:
            _print_ready(settings, b, note)
            running.append(asyncio.ensure_future(work(b)))

        try:
            await serve_forever(daemon, bound, stop=stop, on_ready=ready,
                                install_signal_handlers=True)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    finally:
        if local is not None:
            local.stop(keep_log=bool(failure))
    if failure:
        if local is not None and not failure[0].startswith("the demo failed"):
            _fail_paragraph("the embedded model server stopped", local.explain(failure[0]))
        else:
            _fail_paragraph("the demo stopped", failure[0])
        raise typer.Exit(1)


async def _demo(base: Settings, config: Path | None, choice: demo_story.Choice,
                exit_after: bool) -> None:
    from monitor.localmodel import LocalModelError

    production = demo_story.production_alias(choice)
    paths = demo_story.DemoPaths(base.analysis.resolved_cache_dir() / "demo").fresh()
    console.print(Panel(
        f"[bold]tw-safe[/bold] is a reviewed, safety-tuned Gemma 3 270M. [bold]{demo_story.DRIFT}"
        "[/bold] is tw-safe after 15 steps of fine-tuning on harmless customer-support data, "
        "which silently eroded its refusals. Both are real LoRA adapters (lab/adapters), served "
        f"by one llama.cpp server. Production here is [bold]{production}[/bold]; Tunewatch sits "
        "in front of it and compares it with tw-safe.", title="tunewatch demo", expand=False))
    try:
        local = await asyncio.to_thread(demo_story.start_lab_server, paths.run / "llama",
                                        startup_timeout_s=base.local_model.startup_timeout_s)
    except (LocalModelError, OSError) as exc:
        _fail_paragraph("cannot start the demo models", str(exc))
        raise typer.Exit(1) from None
    judge = "static"
    baseline = paths.baseline(demo_story.baseline_key(judge))
    try:
        await _watched(local, demo_story.ensure_baseline(local.base_url, baseline, judge,
                                                         console))
    except _Gone as gone:
        local.stop(keep_log=True)
        _fail_paragraph("the embedded model server stopped", local.explain(str(gone)))
        raise typer.Exit(1) from None
    except (demo_story.DemoError, OSError) as exc:
        local.stop(keep_log=True)
        _fail_paragraph("the demo stopped", f"{exc} (model server log: {local.log_path})")
        raise typer.Exit(1) from None
    settings = _load(config, demo_story.overrides(
        upstream=local.url, paths=paths, baseline=baseline, production=production,
        judge_kind=judge, listen=base.proxy.listen, admin_listen=base.admin.listen))

    async def story(daemon: Daemon, b: Bound) -> None:
        out = await demo_story.story(daemon, b.proxy_url, production, paths, console)
        console.print(demo_story.summary(out))
        for line in demo_story.ticket_lines(out, paths):
            console.print(escape(line), highlight=False, soft_wrap=True)
        console.print(f"Summary as JSON: {demo_story.write_summary(out, paths)}",
                      highlight=False, soft_wrap=True)
        quiet = "quiet, as it should be" if choice == "safe" else "caught"
        console.print(f"Story told in {out.seconds:.0f} s ({quiet}). Metrics: {b.admin_url}"
                      f"/metrics, tickets: {b.admin_url}/v1/triggers, detectors: {b.admin_url}"
                      "/v1/detectors." + ("" if exit_after else " Ctrl-C to stop."))

    await _serving(settings, local, note=f"  ({production} on the embedded llama.cpp server)",
                   story=story, exit_after=exit_after)


def _fail_paragraph(title: str, text: str) -> None:
    """An expected failure, for a person: one paragraph, no traceback."""
    console.print(f"[bold red]{escape(title)}:[/bold red] {escape(text)}", soft_wrap=True,
                  highlight=False)


def _print_ready(settings: Settings, b: Bound, note: str) -> None:
    lines = [
        f"proxy     {b.proxy_url}  ->  {display_url(settings.upstream.url)}{note}",
        f"metrics   {b.admin_url}/metrics",
        f"health    {b.admin_url}/healthz   {b.admin_url}/readyz",
        f"status    {b.admin_url}/v1/status   (API docs: {b.admin_url}/docs)",
    ]
    console.print(Panel("\n".join(lines), title="tunewatch is running", expand=False))


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
