"""Stateful detectors in the daemon: one host for all of them (:mod:`monitor.detection.host`),
their persisted state (:mod:`monitor.detection.state`), the admin routes that read and reset
them (:mod:`monitor.detection.api`) and the refusal judge both traffic and probes load
(:mod:`monitor.detection.judge`)."""
