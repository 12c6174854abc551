"""Readings of this process's Prometheus registry."""

from __future__ import annotations

from prometheus_client import REGISTRY


def metric(name: str, **labels: str) -> float:
    """The current value of a sample (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
