"""The metric interface.

A *metric family* shares one pass over the clips (one backbone run per clip) and produces several
metric ids, e.g. :class:`~v2abench.metrics.onset.OnsetMetrics` gives ``onset_acc``, ``onset_ap`` and
``onset_count_acc`` from the same onset detections. Every id has a :class:`MetricSpec` (declared
direction, backbone id and weights hash, definition version); together they are the protocol a board
freezes. A family is fed :class:`ClipSample` objects one clip at a time (``update``) and returns
:class:`MetricResult` values (``compute``), each with its own ``n``, dropped ids (with the reason) and
a bootstrap 95% interval.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

import torch


class Direction(str, enum.Enum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"


@dataclass(frozen=True)
class MetricSpec:
    """The definition of one metric id, as a board's protocol records it."""

    id: str
    direction: Direction
    backbone: str | None = None  # None: needs no learned backbone
    weights_sha256: str | None = None
    version: str = "1"  # bump when the computation changes: the board protocol changes with it
    unit: str = ""
    description: str = ""

    def protocol(self) -> dict[str, Any]:
        return {
            "direction": self.direction.value,
            "backbone": self.backbone,
            "weights_sha256": self.weights_sha256,
            "version": self.version,
        }


@dataclass
class MetricResult:
    id: str
    value: float | None
    direction: Direction
    n: int
    backbone: str | None = None
    weights_sha256: str | None = None
    version: str = "1"  # the MetricSpec.version it was computed under
    dropped: dict[str, str] = field(default_factory=dict)  # clip id -> reason
    interval: tuple[float, float] | None = None  # bootstrap 95%
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["direction"] = self.direction.value
        doc["interval"] = list(self.interval) if self.interval is not None else None
        return doc

    @classmethod
    def from_json(cls, mid: str, doc: dict[str, Any]) -> "MetricResult":
        interval = doc.get("interval")
        return cls(
            id=mid,
            value=doc.get("value"),
            direction=Direction(doc["direction"]),
            n=int(doc.get("n", 0)),
            backbone=doc.get("backbone"),
            weights_sha256=doc.get("weights_sha256"),
            version=str(doc.get("version", "1")),
            dropped=dict(doc.get("dropped") or {}),
            interval=tuple(interval) if interval else None,
            extra=dict(doc.get("extra") or {}),
        )


@dataclass
class ClipSample:
    """What a metric may read about one clip; audio is mono float32 ``[N]`` after DC removal."""

    id: str
    generated: torch.Tensor
    generated_rate: int
    reference: torch.Tensor | None
    reference_rate: int | None
    duration: float  # protocol duration (seconds)
    onsets: list[float] | None = None  # true event times (SynthFoley) or None
    caption: str | None = None
    frames: torch.Tensor | None = None  # uint8 [T,3,H,W]
    fps: float | None = None
    seconds: float | None = None  # wall clock spent generating this clip (None: read from a folder)
    nfe: int | None = None  # network evaluations spent on this clip


class MetricFamily(ABC):
    """Metrics that share one pass over the clips."""

    specs: tuple[MetricSpec, ...] = ()

    def __init__(self, bootstrap_seed: int = 0, bootstrap_resamples: int = 1000) -> None:
        self.bootstrap_seed = bootstrap_seed
        self.bootstrap_resamples = bootstrap_resamples
        self.dropped: dict[str, str] = {}

    @abstractmethod
    def update(self, sample: ClipSample) -> None: ...

    @abstractmethod
    def compute(self) -> list[MetricResult]: ...

    def drop(self, clip_id: str, reason: str) -> None:
        self.dropped[clip_id] = reason

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.specs)

    def spec(self, metric_id: str) -> MetricSpec:
        return next(s for s in self.specs if s.id == metric_id)

    def result(self, metric_id: str, value: float | None, n: int, **kw: Any) -> MetricResult:
        s = self.spec(metric_id)
        return MetricResult(metric_id, value, s.direction, n, s.backbone, s.weights_sha256, s.version, dict(self.dropped), **kw)
