"""``tunewatch pool validate|import|show``: check and convert a team's own probes for the pool.

* ``validate FILE...``: parse CSV (HarmBench, JailbreakBench, AdvBench, ``prompt,category``) and
  JSONL files as the daemon would (``probes.pool.imports``); every bad row is printed as
  ``FILE:LINE: problem``; exit 1 on any.
* ``import FILE... --out POOL.jsonl``: the same, then write one pool JSONL (optionally with the
  generated pool, ``--with-generated``) that ``probes.pool.imports`` can name.
* ``show``: units per category of the pool the configuration builds (``--config``), its hash.

Exit codes: 0 ok, 1 bad rows, 2 usage or configuration error. Prompt text is never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer
from rich.console import Console

from monitor.probes.config import PoolImport, PoolSettings
from monitor.probes.pool.generate import POOL_NAME, combine, generate_pool
from monitor.probes.pool.loader import import_file, load_pool
from monitor.probes.pool.model import Pool
from monitor.probes.yamlmarks import SourceError, SourceErrors

EXIT_OK, EXIT_BAD_ROWS, EXIT_USAGE = 0, 1, 2
CsvCategory = Literal["disallowed", "obfuscated", "benign"]


def _console() -> Console:
    return Console(stderr=True, highlight=False)


def _counts(pool: Pool) -> str:
    return ", ".join(f"{c} {n}" for c, n in pool.counts().items()) or "no units"


def _read_all(con: Console, files: list[Path], category: CsvCategory) -> list[Pool]:
    pools: list[Pool] = []
    errors: list[SourceError] = []
    for f in files:
        try:
            spec = PoolImport(path=f, category=category)
        except ValueError as e:
            errors.append(SourceError(file=str(f), problem=str(e).splitlines()[-1].strip()))
            continue
        try:
            pool = import_file(spec)
        except SourceErrors as e:
            errors.extend(e.errors)
            continue
        con.print(f"{f}: {len(pool.units)} units ({_counts(pool)})")
        pools.append(pool)
    if errors:
        for err in errors:
            con.print(str(err), soft_wrap=True, markup=False, style="red")
        con.print(f"[bold red]{len(errors)} problem(s)[/]; nothing written")
        raise typer.Exit(EXIT_BAD_ROWS)
    return pools


def build_pool_app() -> typer.Typer:
    app = typer.Typer(help="Validate and import your own probes for the probe pool.",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.command("validate")
    def validate(
        files: list[Path] = typer.Argument(..., help="CSV or JSONL files"),
        category: CsvCategory = typer.Option(
            "disallowed", "--category", help="pool category of CSV rows (benign for "
            "over-refusal sets)"),
    ) -> None:
        """Parse the files as probes.pool.imports would; print every bad row as FILE:LINE."""
        con = _console()
        pools = _read_all(con, files, category)
        try:
            combined = combine(*pools, name=POOL_NAME)
        except ValueError as e:  # the files clash with each other (ids, canaries)
            con.print(f"[bold red]error:[/] {e}")
            raise typer.Exit(EXIT_BAD_ROWS) from None
        con.print(f"[green]ok[/]: {len(combined.units)} units ({_counts(combined)})")

    @app.command("import")
    def import_cmd(
        files: list[Path] = typer.Argument(..., help="CSV or JSONL files"),
        out: Path = typer.Option(..., "--out", help="pool JSONL file to write"),
        category: CsvCategory = typer.Option("disallowed", "--category",
                                             help="pool category of CSV rows"),
        with_generated: bool = typer.Option(False, "--with-generated",
                                            help="include the generated pool"),
        seed: int = typer.Option(20261201, "--seed", help="seed of the generated pool"),
    ) -> None:
        """Write the files (and optionally the generated pool) as one pool JSONL."""
        con = _console()
        pools = _read_all(con, files, category)
        if with_generated:
            pools.insert(0, generate_pool(seed=seed))
        try:
            combined = combine(*pools, name=POOL_NAME)
        except ValueError as e:
            con.print(f"[bold red]error:[/] {e}")
            raise typer.Exit(EXIT_BAD_ROWS) from None
        out.write_text(combined.to_jsonl(), encoding="utf-8")
        con.print(f"wrote {out}: {len(combined.units)} units ({_counts(combined)}); sha256 "
                  f"{combined.hash}")

    @app.command("show")
    def show(config: Path | None = typer.Option(None, "--config",
                                                help="daemon YAML config (probes.pool)")) -> None:
        """Units per category of the pool the configuration builds."""
        con = _console()
        settings = PoolSettings()
        if config is not None:
            from monitor.config import ConfigError, load_settings

            try:
                settings = load_settings(config).probes.pool
            except ConfigError as e:
                con.print(f"[bold red]error:[/] {e}", markup=False)
                raise typer.Exit(EXIT_USAGE) from None
        try:
            pool = load_pool(settings)
        except SourceErrors as e:
            con.print(str(e), markup=False)
            raise typer.Exit(EXIT_BAD_ROWS) from None
        suite = pool.suite()
        con.print(f"{pool.name}: {len(pool.units)} units ({_counts(pool)}), {len(suite.probes)} "
                  f"probes; suite hash {suite.hash}")

    return app


pool_app = build_pool_app()
