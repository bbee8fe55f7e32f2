"""Scheduled adversarial probes, base-model baselines and the probe gate (see docs/probes.md)."""
