"""Tunewatch detectors: a pure analysis library (no web framework imports)."""
