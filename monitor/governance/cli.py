"""``tunewatch disposition record|list|show``: governance decisions in the SQLite store.

Like ``tunewatch triggers``, the commands work on the database file (``--db``, or ``store.path`` of
``--config``), with the daemon running or not; a running daemon's review state picks a new record
up within ``governance.refresh_interval_s`` (at once when recorded through the admin API).
``--current`` binds the serving fingerprint the daemon last stored
(:func:`monitor.governance.serving.stored_serving`).

    tunewatch disposition record -r DR-2026-014 --decision approved --owner gov@example.com \\
        --current --control output_filter=v3 --evidence "Red-team report=https://..." --ticket TW-3
    tunewatch disposition list [--decision rejected] [--heads] [--json]
    tunewatch disposition show DR-2026-014 [--json]
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sqlite3
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import (
    DECISIONS,
    DEFAULT_REFERENCE_PATTERN,
    Disposition,
    DispositionError,
)
from monitor.governance.schema import SchemaError
from monitor.governance.serving import stored_serving
from monitor.store import Store

disposition_app = typer.Typer(help="Governance dispositions: record, list and show decisions.",
                              no_args_is_help=True)

DB_HELP = "SQLite store of the daemon (default: store.path of --config or of the environment)"


def _fail(err: Console, message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def _open(db: Path | None, config: Path | None, err: Console) -> tuple[Store, str]:
    """The store and the configured reference pattern."""
    pattern = DEFAULT_REFERENCE_PATTERN
    if db is None:
        from monitor.config import ConfigError, load_settings

        try:
            settings = load_settings(config)
        except ConfigError as exc:
            raise _fail(err, str(exc)) from None
        pattern = settings.governance.reference_pattern
        db = Path(settings.store.path)
    if str(db) == ":memory:" or not db.is_file():
        raise _fail(err, f"no database at {db}; pass --db PATH (the daemon's store.path)")
    return Store(db), pattern


def _dispositions(store: Store, pattern: str, err: Console) -> DispositionStore:
    try:
        return DispositionStore(store=store, reference_pattern=pattern)
    except (SchemaError, sqlite3.Error) as exc:
        store.close()
        raise _fail(err, f"cannot use {store.path}: {exc}") from None


def _pairs(values: list[str], option: str, err: Console) -> list[tuple[str, str]]:
    out = []
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise _fail(err, f"{option} expects KEY=VALUE, e.g. {option} output_filter=v3")
        out.append((key.strip(), value.strip()))
    return out


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@disposition_app.command("record")
def record_cmd(
    reference: str = typer.Option(..., "--reference", "-r", help="e.g. DR-2026-014"),
    decision: str = typer.Option(..., help="approved, approved-with-conditions or rejected"),
    owner: str = typer.Option(..., help="who owns the decision (name or e-mail)"),
    component: list[str] = typer.Option([], help="fingerprint component KEY=VALUE; repeat a key "
                                        "for several reviewed values (e.g. system prompts)"),
    fingerprint: Path | None = typer.Option(None, help="JSON file: component -> value or list"),
    current: bool = typer.Option(False, help="bind the fingerprint the daemon serves now"),
    control: list[str] = typer.Option([], help="control relied on, COMPONENT=VALUE"),
    condition: list[str] = typer.Option([], help="condition of an approval-with-conditions"),
    evidence: list[str] = typer.Option([], help="evidence link, TITLE=URL"),
    ticket: list[str] = typer.Option([], help="ticket this decision answers, e.g. TW-3"),
    recorded_by: str | None = typer.Option(None, help="who records it (default: login name)"),
    decided_at: str | None = typer.Option(None, help="ISO date of the decision (default: now)"),
    expires_at: str | None = typer.Option(None, help="ISO date the approval lapses"),
    note: str | None = typer.Option(None, help="remarks (no prompts or user data)"),
    as_json: bool = typer.Option(False, "--json", help="print the stored record as JSON"),
    db: Path | None = typer.Option(None, help=DB_HELP),
    config: Path | None = typer.Option(None, help="daemon YAML config"),
) -> None:
    """Record a disposition for a deployment fingerprint (it supersedes the previous one)."""
    out, err = Console(), Console(stderr=True)
    sources = sum((bool(component), fingerprint is not None, current))
    if sources != 1:
        raise _fail(err, "give the fingerprint one way: --component KEY=VALUE ..., "
                    "--fingerprint FILE or --current")
    store, pattern = _open(db, config, err)
    try:
        ds = _dispositions(store, pattern, err)
        bound: dict[str, Any]
        if current:
            bound = stored_serving(store)
            if not bound:
                raise _fail(err, "the daemon has not recorded a fingerprint yet; use --component")
        elif fingerprint is not None:
            try:
                bound = json.loads(fingerprint.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise _fail(err, f"cannot read {fingerprint} as JSON: {exc}") from None
        else:
            bound = {}
            for key, value in _pairs(component, "--component", err):
                bound.setdefault(key, []).append(value)
        body = {
            "reference": reference, "decision": decision, "owner": owner, "fingerprint": bound,
            "controls": [{"component": k, "value": v}
                         for k, v in _pairs(control, "--control", err)],
            "conditions": condition,
            "evidence": [{"title": k, "url": v} for k, v in _pairs(evidence, "--evidence", err)],
            "tickets": ticket, "recorded_by": recorded_by or getpass.getuser(),
            "decided_at": decided_at, "expires_at": expires_at, "note": note,
        }
        try:
            d = ds.record(body)
        except DispositionError as exc:
            for p in exc.problems:
                err.print(f"[bold red]error:[/] {escape(p)}")
            raise typer.Exit(2) from None
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps(d.as_dict()))
        return
    sup = f"; supersedes record {d.supersedes}" if d.supersedes else ""
    out.print(f"[green]recorded[/green] {escape(d.reference)} (record {d.id}): {d.decision}, "
              f"fingerprint {d.fingerprint_id}{sup}")


@disposition_app.command("list")
def list_cmd(
    decision: str | None = typer.Option(None, help="only this decision"),
    heads: bool = typer.Option(False, help="only decisions in force (not superseded)"),
    limit: int = typer.Option(100, min=1, help="most records shown"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines, one record each"),
    db: Path | None = typer.Option(None, help=DB_HELP),
    config: Path | None = typer.Option(None, help="daemon YAML config"),
) -> None:
    """List dispositions, newest first."""
    out, err = Console(), Console(stderr=True)
    if decision is not None and decision not in DECISIONS:
        raise _fail(err, f"--decision must be one of {', '.join(DECISIONS)}")
    store, pattern = _open(db, config, err)
    try:
        records = _dispositions(store, pattern, err).list_records(
            decision=decision, heads_only=heads, limit=limit)
    finally:
        store.close()
    if as_json:
        for d in records:
            print(json.dumps(d.as_dict(), sort_keys=True))
        return
    table = Table(title="Tunewatch dispositions")
    for col in ("#", "reference", "decision", "owner", "fingerprint", "decided", "by",
                "superseded by"):
        table.add_column(col, overflow="fold",
                         no_wrap=col in ("#", "reference", "decision", "decided"))
    for d in records:
        table.add_row(str(d.id), escape(d.reference), d.decision, escape(d.owner),
                      d.fingerprint_id, _when(d.decided_at)[:10], escape(d.recorded_by),
                      str(d.superseded_by or ""))
    out.print(table)
    if not records:
        out.print("no dispositions")


def _show(out: Console, d: Disposition) -> None:
    out.print(f"[bold]{escape(d.reference)}[/bold] (record {d.id}): {d.decision}")
    rows = [("owner", d.owner), ("decided", _when(d.decided_at)),
            ("expires", _when(d.expires_at)), ("recorded", f"{_when(d.recorded_at)} by "
                                                          f"{d.recorded_by}"),
            ("fingerprint id", d.fingerprint_id),
            ("supersedes", str(d.supersedes or "-")),
            ("superseded by", str(d.superseded_by or "-")),
            ("tickets", ", ".join(d.tickets) or "-"), ("note", d.note or "-")]
    for k, v in rows:
        out.print(f"  {k}: {escape(v)}")
    out.print("  fingerprint:")
    for k, vs in d.fingerprint.items():
        out.print(f"    {escape(k)}: {escape(', '.join(vs))}")
    for c in d.controls:
        out.print(f"  control: {escape(c.component)} = {escape(c.value)}"
                  + (f" ({escape(c.note)})" if c.note else ""))
    for cond in d.conditions:
        out.print(f"  condition: {escape(cond)}")
    for e in d.evidence:
        out.print(f"  evidence: {escape(e.title)} <{escape(e.url)}>")


@disposition_app.command("show")
def show_cmd(
    key: str = typer.Argument(..., help="reference (e.g. DR-2026-014) or record number"),
    as_json: bool = typer.Option(False, "--json", help="JSON: records and fingerprint history"),
    db: Path | None = typer.Option(None, help=DB_HELP),
    config: Path | None = typer.Option(None, help="daemon YAML config"),
) -> None:
    """Show a disposition, every record under its reference and its fingerprint's history."""
    out, err = Console(), Console(stderr=True)
    store, pattern = _open(db, config, err)
    try:
        ds = _dispositions(store, pattern, err)
        found = ds.resolve(key)
        if not found:
            raise _fail(err, f"no disposition {key!r} (give a reference or a record number)", 1)
        history = ds.history(found[-1].fingerprint_id)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps({"records": [d.as_dict() for d in found],
                                   "history": [d.summary() for d in history]}))
        return
    for d in found:
        _show(out, d)
    if len(history) > 1:
        out.print("history of this fingerprint: " + " -> ".join(
            f"{escape(h.reference)} {h.decision} (record {h.id})" for h in history))
