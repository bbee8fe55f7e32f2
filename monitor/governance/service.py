"""The governance loop inside the daemon: its components, built once and wired one way.

:class:`Governance` owns the disposition store, the review state, the artefact verifier and the
adapters the server reports, all on the daemon's SQLite store and clock. ``create_app`` builds
it and connects it:

- the fingerprint tracker's *current-changed* event (every change of a current value, a return
  to a known value included) re-evaluates the review state against :meth:`Governance.serving`;
- a change of the verified artefacts or of the reported adapters is observed by the tracker as
  one digest (``artifacts``, ``server_adapters``: bounded ``tunewatch_deployment_info`` labels and
  a re-assessment ticket when new), and re-evaluates the review state;
- :meth:`Governance.raise_into` hands the review state's control-change events and the
  verifier's mismatches to a queue (the trigger service's ``notify``): tickets are raised on
  the trigger service's own thread, never on the thread that noticed the change;
- :meth:`Governance.lineage` (served model id -> parent) lets the trigger service tell a
  re-fine-tune from a base-model change; :meth:`Governance.ack_gate` checks acks against
  ``governance.ack_disposition``.

:meth:`Governance.start` reports the serving fingerprint once, starts the verifier (hashing in a
worker thread) and a loop that picks up dispositions another process recorded (the CLI) every
``governance.refresh_interval_s``; :meth:`Governance.stop` stops both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prometheus_client.registry import Collector

from monitor.analysis.fingerprint import Change, FingerprintTracker
from monitor.governance.ack import DispositionAckGate
from monitor.governance.artifacts import ArtifactVerifier, artifacts_digest
from monitor.governance.config import ArtifactSpec, GovernanceSettings
from monitor.governance.disposition_store import DispositionStore
from monitor.governance.dispositions import DispositionError
from monitor.governance.review import ReviewState
from monitor.governance.server_adapters import ServerAdapters
from monitor.governance.serving import serving_fingerprint
from monitor.store import Store
from monitor.triggers.model import Ticket, TriggerEvent

log = logging.getLogger("tunewatch.governance")


class Governance:
    def __init__(self, *, settings: GovernanceSettings, artifacts: Sequence[ArtifactSpec],
                 model_parents: Mapping[str, str], store: Store, fingerprint: FingerprintTracker,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._model_parents = dict(model_parents)
        self._fingerprint = fingerprint
        self._clock = clock
        self.dispositions = DispositionStore(store=store, clock=clock,
                                             reference_pattern=settings.reference_pattern)
        self.review = ReviewState(dispositions=self.dispositions, store=store, clock=clock)
        self.verifier = ArtifactVerifier(specs=artifacts, store=store, clock=clock,
                                         settings=settings.artifact_checks)
        self.adapters = ServerAdapters(store=store, clock=clock)
        self._seen_record = self.dispositions.latest_id()
        self._refresher: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        fingerprint.add_current_listener(self._on_current)
        self.verifier.add_change_listener(self._on_artifacts)
        self.adapters.add_change_listener(self._on_adapters)

    # -- what the rest of the daemon reads ----------------------------------------------------
    def serving(self) -> dict[str, str]:
        """The serving fingerprint the dispositions are compared with
        (:func:`monitor.governance.serving.serving_fingerprint`)."""
        return serving_fingerprint(self._fingerprint.current(),
                                   artifacts=self.verifier.components(),
                                   adapters=self.adapters.components())

    def lineage(self) -> dict[str, str]:
        """Model id -> parent: ``deployment.model_parents``, overridden by what the server
        reports (vLLM's LoRA cards)."""
        return {**self._model_parents, **self.adapters.parents()}

    def collectors(self) -> list[Collector]:
        """``tunewatch_deployment_reviewed``, ``..._disposition_info`` and ``tunewatch_artifact_*``,
        read at scrape time."""
        return [self.review.collector(), self.verifier.collector()]

    def raise_into(self, notify: Callable[[TriggerEvent], None]) -> None:
        """Hand control-change events and artefact mismatches to ``notify`` (a queue)."""
        self.review.add_listener(lambda event: notify(event.to_trigger_event()))
        self.verifier.add_mismatch_listener(lambda event: notify(event.to_trigger_event()))

    def ack_gate(self) -> DispositionAckGate:
        return DispositionAckGate(dispositions=self.dispositions,
                                  mode=self.settings.ack_disposition, serving=self.serving,
                                  clock=self._clock)

    def record_for_ticket(self, body: dict[str, Any], ticket: Ticket) -> int:
        """Record a disposition sent with an ack (``fingerprint`` defaults to the serving one;
        the ticket joins its ``tickets``); returns its record number. Raises
        :class:`~monitor.governance.dispositions.DispositionError` (a ValueError naming fields)."""
        data = dict(body)
        if data.get("fingerprint", "current") == "current":
            serving = self.serving()
            if not serving:
                raise DispositionError(["fingerprint: no deployment fingerprint observed yet; "
                                        "pass it explicitly, e.g. {\"model\": \"tw-safe\"}"])
            data["fingerprint"] = serving
        tickets = data.get("tickets") or []
        if not isinstance(tickets, list):
            raise DispositionError(["tickets: expected a list such as [\"TW-3\"]"])
        data["tickets"] = [*tickets, ticket.ref] if ticket.ref not in tickets else tickets
        data.setdefault("recorded_by", "api")
        return self.dispositions.record(data).id

    def status_json(self) -> dict[str, Any]:
        """For ``/v1/status`` (``governance``): the review state, the artefacts, the adapters."""
        return {**self.review.status_json(),
                "artifacts": [r.as_dict() for r in self.verifier.results()],
                "adapters": self.adapters.components(),
                "ack_disposition": self.settings.ack_disposition}

    # -- inputs --------------------------------------------------------------------------------
    def _on_current(self, _: Change) -> None:
        self.review.update(self.serving())

    def _on_artifacts(self, components: dict[str, str]) -> None:
        if components:
            self._fingerprint.observe("artifacts", artifacts_digest(components))
        self.review.update(self.serving())

    def _on_adapters(self, _: dict[str, str]) -> None:
        digest = self.adapters.digest()
        if digest is not None:
            self._fingerprint.observe("server_adapters", digest)
        self.review.update(self.serving())

    def refresh(self) -> bool:
        """Re-read the dispositions when another process recorded one; returns whether it did."""
        latest = self.dispositions.latest_id()
        if latest == self._seen_record:
            return False
        self._seen_record = latest
        self.review.refresh()
        return True

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Report the serving fingerprint once (artefact states restored from the store join
        it), then start hashing and the refresh loop."""
        components = self.verifier.components()
        if components:
            self._fingerprint.observe("artifacts", artifacts_digest(components))
        digest = self.adapters.digest()
        if digest is not None:
            self._fingerprint.observe("server_adapters", digest)
        self.review.update(self.serving())
        await self.verifier.start()
        self._stopping = asyncio.Event()
        self._refresher = asyncio.ensure_future(self._refresh_loop(self._stopping))

    async def _refresh_loop(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), timeout=self.settings.refresh_interval_s)
            except TimeoutError:
                pass
            if stopping.is_set():
                return
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                log.exception("reading new dispositions failed")

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._refresher is not None:
            await asyncio.wait({self._refresher}, timeout=10)
            self._refresher = None
        await self.verifier.stop()
