"""What acknowledging a re-assessment ticket must do about dispositions.

``governance.ack_disposition`` is ``off``, ``offer`` or ``require``. :func:`plan_ack` takes the
ticket, that mode, the disposition the person acking named (if any) and the serving fingerprint,
and returns an :class:`AckPlan`: whether the ack may proceed, what to tell the person, and the
extra fields of the ticket's ``closed`` event, which carry the decision to every sink.

- A named disposition must cover the serving deployment and not have expired; with ``require`` a
  failure refuses the ack, with ``offer`` (and ``off``) it is a warning in the closed event.
- Without one, ``require`` refuses (the message says how to record one), ``offer`` acks and
  suggests the command that records one for the serving fingerprint.

:class:`DispositionAckGate` is the trigger service's :class:`~monitor.triggers.service.AckGate`:
it resolves the named disposition and plans the ack against the serving fingerprint. The sinks
render the decision with :func:`monitor.triggers.render.disposition_markdown` and
:func:`~monitor.triggers.render.disposition_line`.

>>> from monitor.triggers.model import Ticket
>>> t = Ticket(id=3, uid="u", dedup_key="fingerprint:model:tw-drift-3", type="re_fine_tune",
...            owner="gov", state="open", title="Model re-fine-tuned", created_at=0.0,
...            updated_at=0.0, fire_count=1, evidence={})
>>> plan = plan_ack(ticket=t, mode="require", disposition=None, serving={"model": "tw-drift-3"},
...                 now=0.0)
>>> plan.allowed, plan.message.splitlines()[0]
(False, 'TW-3 needs a disposition before it can be acknowledged (governance.ack_disposition: require).')
>>> plan_ack(ticket=t, mode="offer", disposition=None, serving={}, now=0.0).allowed
True
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import Disposition
from monitor.triggers.model import Ticket

AckMode = Literal["off", "offer", "require"]


@dataclass(frozen=True)
class AckPlan:
    allowed: bool
    message: str  # for the person acking (CLI output, API response)
    disposition: Disposition | None
    warnings: tuple[str, ...] = ()
    closed_event: dict[str, Any] = field(default_factory=dict)  # merged into the closed payload


def record_command(ticket: Ticket, serving: Mapping[str, str]) -> str:
    """The ``tunewatch disposition record`` command that answers ``ticket`` for ``serving``."""
    parts = ["tunewatch", "disposition", "record", "--reference", "DR-YYYY-NNN", "--decision",
             "approved", "--owner", ticket.owner if ticket.owner != "unassigned" else "OWNER",
             "--ticket", ticket.ref]
    parts += ["--current"] if serving else ["--component", "model=MODEL_ID"]
    return " ".join(shlex.quote(p) if p not in ("DR-YYYY-NNN", "OWNER") else p for p in parts)


def decision_payload(d: Disposition) -> dict[str, Any]:
    """The decision as sinks receive it (no fingerprint values beyond the id)."""
    return {"id": d.id, "reference": d.reference, "decision": d.decision, "owner": d.owner,
            "conditions": list(d.conditions), "recorded_by": d.recorded_by,
            "decided_at": d.decided_at, "expires_at": d.expires_at,
            "fingerprint_id": d.fingerprint_id,
            "evidence": [{"title": e.title, "url": e.url} for e in d.evidence]}


def plan_ack(*, ticket: Ticket, mode: AckMode, disposition: Disposition | None,
             serving: Mapping[str, str], now: float) -> AckPlan:
    if ticket.state != "open":
        return AckPlan(allowed=False, disposition=disposition,
                       message=f"{ticket.ref} is already {ticket.state}.")
    if disposition is None:
        if mode == "require":
            return AckPlan(allowed=False, disposition=None, message=(
                f"{ticket.ref} needs a disposition before it can be acknowledged "
                "(governance.ack_disposition: require).\nRecord one, then ack with "
                f"--disposition REFERENCE:\n  {record_command(ticket, serving)}"))
        extra: dict[str, Any] = {"disposition": None}
        msg = f"{ticket.ref} acknowledged without a disposition."
        if mode == "offer":
            extra["disposition_offered"] = True
            msg += ("\nThe deployment stays unreviewed until one is recorded:\n  "
                    + record_command(ticket, serving))
        return AckPlan(allowed=True, disposition=None, message=msg, closed_event=extra)
    warnings: list[str] = []
    gaps = disposition.uncovered(serving) if serving else []
    if gaps:
        warnings.append(f"{disposition.reference} does not cover the serving deployment ("
                        + "; ".join(gaps[:3]) + ")")
    if disposition.expired(now):
        warnings.append(f"{disposition.reference} has expired")
    if disposition.superseded_by is not None:
        warnings.append(f"{disposition.reference} (record {disposition.id}) was superseded by "
                        f"record {disposition.superseded_by}")
    if warnings and mode == "require":
        return AckPlan(allowed=False, disposition=disposition, warnings=tuple(warnings),
                       message=f"{ticket.ref} not acknowledged: " + "; ".join(warnings) + ".")
    msg = (f"{ticket.ref} acknowledged with {disposition.reference}: {disposition.decision}"
           f" (owner {disposition.owner}).")
    if warnings:
        msg += "\nwarning: " + "\nwarning: ".join(warnings)
    return AckPlan(allowed=True, disposition=disposition, message=msg, warnings=tuple(warnings),
                   closed_event={"disposition": decision_payload(disposition),
                                 "disposition_warnings": list(warnings)})


class DispositionAckGate:
    """Plans acks against the stored dispositions and the serving fingerprint (the daemon's and
    ``tunewatch triggers ack``'s gate). An unknown disposition refuses the ack in every mode."""

    def __init__(self, *, dispositions: DispositionStore, mode: AckMode,
                 serving: Callable[[], Mapping[str, str]],
                 clock: Callable[[], float] = time.time) -> None:
        self._dispositions = dispositions
        self._mode = mode
        self._serving = serving
        self._clock = clock

    def plan(self, ticket: Ticket, disposition: str | None) -> AckPlan:
        found: Disposition | None = None
        if disposition is not None:
            records = self._dispositions.resolve(str(disposition))
            if not records:
                return AckPlan(allowed=False, disposition=None, message=(
                    f"{ticket.ref} not acknowledged: no disposition {str(disposition)[:64]!r} "
                    "(give a reference such as DR-2026-015 or a record number; "
                    "`tunewatch disposition list` shows them)."))
            found = records[-1]
        return plan_ack(ticket=ticket, mode=self._mode, disposition=found,
                        serving=self._serving(), now=self._clock())
