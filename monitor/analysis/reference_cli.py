"""``tunewatch reference``: build drift references from a JSONL file or from production samples."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from monitor.analysis.redaction import Redactor
from monitor.analysis.references import Reference, ReferenceError, read_pairs
from monitor.analysis.samples import NotAStore, read_recent_pairs

reference_app = typer.Typer(help="Drift references (what normal traffic looks like).",
                            no_args_is_help=True)
console = Console(stderr=True)


@reference_app.command("capture")
def capture(
    out: Path = typer.Option(..., help="reference file to write (JSONL)"),
    from_jsonl: Path | None = typer.Option(
        None, "--from-jsonl", help="JSONL of {prompt, response} pairs"
    ),
    from_db: Path | None = typer.Option(
        None, "--from-db", help="the daemon's SQLite store (needs privacy.retain_text: true)"
    ),
    n: int = typer.Option(500, min=2, help="number of pairs to take (most recent from the DB)"),
) -> None:
    """Build a reference (id, content hash, creation time) from N pairs."""
    if (from_jsonl is None) == (from_db is None):
        console.print("[red]give exactly one of --from-jsonl or --from-db[/red]")
        raise typer.Exit(2)
    try:
        if from_jsonl is not None:
            pairs = read_pairs(from_jsonl)[-n:]
            source = f"jsonl:{from_jsonl.name}"
        else:
            assert from_db is not None
            pairs = _pairs_from_db(from_db, n)
            source = f"production:{from_db.name}"
    except ReferenceError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    ref = Reference.build(pairs, source=source)
    out.write_text(ref.to_jsonl(), encoding="utf-8")
    console.print(f"[green]wrote[/green] {out}: id={ref.id} n={ref.n} sha256={ref.sha256[:16]}…")


def _pairs_from_db(path: Path, n: int) -> list[tuple[str, str]]:
    try:
        pairs = read_recent_pairs(path, n)
    except NotAStore as exc:
        raise ReferenceError(str(exc)) from None
    if len(pairs) < 2:
        raise ReferenceError(
            f"{path}: fewer than 2 stored pairs with text; enable privacy.retain_text so the "
            "daemon keeps redacted text, or use --from-jsonl")
    redact = Redactor()  # stored text is already redacted; this is idempotent belt and braces
    return [(redact(p).text, redact(r).text) for p, r in pairs]
