"""Re-assessment triggers: fingerprint changes, probe regressions, drift and alerts -> tickets."""
