"""The catalogue of metric families ``v2abench eval`` knows, and the specs a board protocol freezes."""

from __future__ import annotations

from v2abench.metrics.base import MetricFamily, MetricSpec
from v2abench.metrics.onset import OnsetMetrics
from v2abench.metrics.speed import SpeedMetrics

METRIC_FAMILIES: dict[str, type[MetricFamily]] = {
    "onset": OnsetMetrics,
    "speed": SpeedMetrics,
}


def metric_specs() -> dict[str, MetricSpec]:
    """Every known metric id and its definition."""
    return {spec.id: spec for family in METRIC_FAMILIES.values() for spec in family.specs}


def build_families(metric_ids: list[str] | None = None, **options: object) -> list[MetricFamily]:
    """The families needed for ``metric_ids`` (all when None). Unknown ids raise ``ValueError``."""
    specs = metric_specs()
    if metric_ids is not None:
        unknown = sorted(set(metric_ids) - set(specs))
        if unknown:
            raise ValueError(f"unknown metric ids: {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    wanted = set(specs) if metric_ids is None else set(metric_ids)
    return [cls(**options) for cls in METRIC_FAMILIES.values() if wanted & {s.id for s in cls.specs}]
