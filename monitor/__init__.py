"""Tunewatch daemon: sidecar proxy, sampler, analysis worker, probes, triggers and CLI."""

__version__ = "0.1.0"
