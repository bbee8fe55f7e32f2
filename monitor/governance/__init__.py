"""The governance loop: dispositions, review state, verified artefacts, the evidence pack.

- :mod:`monitor.governance.dispositions` — what a disposition is (types and validation);
  :mod:`monitor.governance.disposition_store` — their append-only SQLite history.
- :mod:`monitor.governance.review` — is the serving fingerprint reviewed? Metrics and
  ``deployment_layer_change`` events when a control a disposition relies on changes.
- :mod:`monitor.governance.ack` — what acknowledging a ticket must do about dispositions.
- :mod:`monitor.governance.artifacts`, :mod:`~monitor.governance.signatures`,
  :mod:`~monitor.governance.adapters`, :mod:`~monitor.governance.server_adapters` — model files
  hashed and verified; adapters the server reports (parsed, kept current and durable).
- :mod:`monitor.governance.serving` — the serving fingerprint the dispositions are compared with.
- :mod:`monitor.governance.pack`, :mod:`~monitor.governance.pack_render`,
  :mod:`~monitor.governance.pack_sources` — the evidence pack a reviewer signs, as Markdown and
  static HTML, filled from the daemon's real sources.
- :mod:`monitor.governance.service` — the loop inside the daemon (built and wired by
  ``create_app``).
- :mod:`monitor.governance.api`, :mod:`~monitor.governance.cli` — the admin API router and the
  ``tunewatch disposition`` commands. Alerts and dashboard panels live in the mixin
  (``monitor/mixin/alerts.py``, ``dash_governance.py``).

Nothing here has import-time side effects; see docs/governance.md for how the pieces are wired.
"""
