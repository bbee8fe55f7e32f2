"""Loopback ports for servers the tests start: the daemon's own helper (one implementation)."""

from __future__ import annotations

from monitor.localmodel import free_port

__all__ = ["free_port"]
