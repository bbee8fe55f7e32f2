"""``tunewatch triggers list|ack``: read and acknowledge re-assessment tickets in the SQLite store.

The commands work on the database file directly (``--db``, or ``store.path`` of ``--config``), so
they also work while the daemon is stopped; a running daemon delivers the ``closed`` events an
ack enqueues within a second.

``ack`` applies ``governance.ack_disposition`` (from ``--config``, else the environment) as the
daemon does: ``--disposition DR-2026-015`` names the decision that answers the ticket, checked
against the serving fingerprint the daemon last stored; with ``require`` an ack without a covering
disposition is refused (exit 1, with the command that records one).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.store import Store
from monitor.triggers.api import parse_ticket_id
from monitor.triggers.config import sink_name
from monitor.triggers.outbox import Outbox

if TYPE_CHECKING:
    from monitor.config import Settings

triggers_app = typer.Typer(help="Re-assessment tickets: list and acknowledge.",
                           no_args_is_help=True)

DB_HELP = "SQLite store of the daemon (default: store.path of --config or of the environment)"


def _settings(config: Path | None, err: Console) -> Settings:
    from monitor.config import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _db_path(db: Path | None, config: Path | None, err: Console) -> tuple[str, list[str] | None]:
    if db is not None:
        if not db.is_file():
            err.print(f"[bold red]error:[/] no database at {db}")
            raise typer.Exit(2)
        return str(db), None
    settings = _settings(config, err)
    sinks = [sink_name(s) for s in settings.triggers.sinks]
    path = settings.store.path
    if path == ":memory:" or not Path(path).is_file():
        err.print(f"[bold red]error:[/] no database at {path} (store.path); pass --db PATH")
        raise typer.Exit(2)
    return path, sinks


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@triggers_app.command("list")
def list_cmd(
    state: str = typer.Option("open", help="open, acked or all"),
    db: Path | None = typer.Option(None, help=DB_HELP),
    config: Path | None = typer.Option(None, help="daemon YAML config"),
) -> None:
    """List tickets with their type, owner, dedup key and delivery backlog."""
    out, err = Console(), Console(stderr=True)
    if state not in ("open", "acked", "all"):
        err.print(f"[bold red]error:[/] --state must be open, acked or all, not {state!r}")
        raise typer.Exit(2)
    path, _ = _db_path(db, config, err)
    store = Store(path)
    try:
        box = Outbox(store=store, sinks=[])
        tickets = box.tickets(state=state)
        backlog = box.undelivered_by_ticket()
    except sqlite3.Error as exc:
        err.print(f"[bold red]error:[/] cannot read {path}: {exc}")
        raise typer.Exit(2) from None
    finally:
        store.close()
    table = Table(title=f"Tunewatch tickets ({state})")
    for col in ("id", "type", "state", "owner", "fired", "opened", "updated", "dedup key",
                "undelivered"):
        table.add_column(col, justify="right" if col in ("fired", "undelivered") else "left",
                         overflow="fold", no_wrap=col in ("id", "fired"))
    for t in tickets:
        table.add_row(t.ref, t.type, t.state, t.owner, str(t.fire_count), _when(t.created_at),
                      _when(t.updated_at), t.dedup_key, str(backlog.get(t.id, 0)))
    out.print(table)
    if not tickets:
        out.print(f"no {state if state != 'all' else ''} tickets".replace("  ", " "))


@triggers_app.command("ack")
def ack_cmd(
    ticket: str = typer.Argument(..., help="ticket id, e.g. TW-3"),
    disposition: str | None = typer.Option(
        None, help="the disposition that answers the ticket: a reference (e.g. DR-2026-015) or "
        "a record number (`tunewatch disposition list`)"),
    db: Path | None = typer.Option(None, help=DB_HELP),
    config: Path | None = typer.Option(None, help="daemon YAML config"),
) -> None:
    """Acknowledge a ticket: it closes, and every sink gets a `closed` event carrying the
    decision (governance.ack_disposition decides whether one is required)."""
    from monitor.governance.ack import DispositionAckGate
    from monitor.governance.disposition_store import DispositionStore
    from monitor.governance.schema import SchemaError
    from monitor.governance.serving import stored_serving

    out, err = Console(), Console(stderr=True)
    path, sinks = _db_path(db, config, err)
    governance = _settings(config, err).governance
    store = Store(path)
    try:
        try:
            tid = parse_ticket_id(ticket)
        except KeyError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc).strip(chr(39)))}")
            raise typer.Exit(2) from None
        box = Outbox(store=store, sinks=[])
        if sinks is None:  # no config: announce to the sinks that carried this ticket
            sinks = box.sinks_of(tid)
        box.sinks = sinks
        found = box.get(tid)
        if found is None:
            err.print(f"[bold red]error:[/] no ticket TW-{tid}")
            raise typer.Exit(1)
        try:
            gate = DispositionAckGate(
                dispositions=DispositionStore(store=store,
                                              reference_pattern=governance.reference_pattern),
                mode=governance.ack_disposition, serving=lambda: stored_serving(store))
            plan = gate.plan(found, disposition)
        except (SchemaError, sqlite3.Error) as exc:
            err.print(f"[bold red]error:[/] cannot read the dispositions in {path}: {exc}")
            raise typer.Exit(2) from None
        if not plan.allowed:
            err.print(f"[bold red]error:[/] {escape(plan.message)}", soft_wrap=True)
            raise typer.Exit(1)
        try:
            t = box.ack(tid, by="cli", extra=plan.closed_event)
        except KeyError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc).strip(chr(39)))}")
            raise typer.Exit(1) from None
        except ValueError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(1) from None
    finally:
        store.close()
    out.print(f"[green]acked[/green] {t.ref} ({t.type}, {escape(t.dedup_key)}); "
              f"closed event queued for {len(sinks)} sink(s)")
    out.print(escape(plan.message), soft_wrap=True, highlight=False)
