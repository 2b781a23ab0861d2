"""Metrics (installed as ``v2abench.metrics``): one module per family, one interface in :mod:`.base`.

The catalogue below is what ``v2abench eval`` can compute and what a board's protocol records.
"""

from v2abench.metrics.base import Direction, MetricFamily, MetricResult, MetricSpec, ClipSample
from v2abench.metrics.catalog import METRIC_FAMILIES, metric_specs, build_families

__all__ = [
    "Direction",
    "MetricFamily",
    "MetricResult",
    "MetricSpec",
    "ClipSample",
    "METRIC_FAMILIES",
    "metric_specs",
    "build_families",
]
