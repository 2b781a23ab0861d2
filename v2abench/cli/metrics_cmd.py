"""``v2abench metrics``: every metric with its direction, backbone, sample rate and weights."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table



def register(app) -> None:  # type: ignore[no-untyped-def]
    app.command("metrics")(metrics)


def metrics() -> None:
    """List every metric id: direction, backbone, its sample rate and whether its weights are present."""
    from v2abench.metrics.catalog import BACKBONE_RATES, NOT_IMPLEMENTED, metric_specs, weights_name_of

    table = Table("metric", "direction", "backbone", "rate", "weights", "description")
    for mid, spec in sorted(metric_specs().items()):
        if spec.backbone is None:
            weights = "none needed"
        else:
            weights = f"present {spec.weights_sha256[:8]}" if spec.weights_sha256 else f"missing: v2abench weights fetch {weights_name_of(spec.backbone)}"
        rate = BACKBONE_RATES.get(spec.backbone or "", None)
        table.add_row(mid, spec.direction.value, spec.backbone or "–", f"{rate} Hz" if rate else "–", weights, spec.description)
    for mid, why in sorted(NOT_IMPLEMENTED.items()):
        table.add_row(mid, "–", mid.partition("@")[2] or "–", "–", "not implemented", why)
    Console().print(table)
