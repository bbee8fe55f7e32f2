"""Tunewatch monitoring mixin: alerts, recording rules and Grafana dashboards as Python data.

One source generates ``alerts/tunewatch-rules.yaml``, the Helm ``PrometheusRule`` template and
``dashboards/*.json``; run ``python -m monitor.mixin.generate`` after changing anything here
(``--check`` verifies the generated files are up to date).
"""

from monitor.mixin.config import MixinConfig

__all__ = ["MixinConfig"]
