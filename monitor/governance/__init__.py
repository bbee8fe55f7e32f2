"""The governance loop: dispositions, review state, verified artefacts, the evidence pack.

- :mod:`monitor.governance.dispositions` — what a disposition is (types and validation);
  :mod:`monitor.governance.disposition_store` — their append-only SQLite history.
- :mod:`monitor.governance.review` — is the serving fingerprint reviewed? Metrics and
  ``deployment_layer_change`` events when a control a disposition relies on changes.
- :mod:`monitor.governance.ack` — what acknowledging a ticket must do about dispositions.
- :mod:`monitor.governance.artifacts`, :mod:`~monitor.governance.signatures`,
  :mod:`~monitor.governance.adapters` — model files hashed and verified; adapters the server
  reports.
- :mod:`monitor.governance.pack` and :mod:`~monitor.governance.pack_render` — the evidence pack
  a reviewer signs, as Markdown and static HTML.
- :mod:`monitor.governance.api`, :mod:`~monitor.governance.cli` — the admin API router and the
  ``tunewatch disposition`` commands; :mod:`~monitor.governance.mixin` — alerts and panels as data.

Nothing here has import-time side effects; see docs/governance.md for how the pieces are wired.
"""
