"""Everything off the hot path that happens to a sampled pair, in the analysis worker's thread:
parse (:mod:`~monitor.analysis.extract`, :mod:`~monitor.analysis.bodies`), redact
(:mod:`~monitor.analysis.redaction`), fingerprint (:mod:`~monitor.analysis.fingerprint`), the
analyzers (one per file: :mod:`~monitor.analysis.refusal`, :mod:`~monitor.analysis.embedding_drift`,
:mod:`~monitor.analysis.scalar_drift`), storage (:mod:`~monitor.analysis.samples`), driven stage by
stage by :mod:`~monitor.analysis.pipeline` on :mod:`~monitor.analysis.worker`. Drift references:
:mod:`~monitor.analysis.references`."""
