"""The metric interface.

A *metric family* shares one pass over the clips (one backbone run per clip) and produces several
metric ids, e.g. :class:`~v2abench.metrics.onset.OnsetMetrics` gives ``onset_acc``, ``onset_ap`` and
``onset_count_acc`` from the same onset detections. Every id has a :class:`MetricSpec` (declared
direction, backbone id and weights hash, definition version); together they are the protocol a board
freezes. A family is fed :class:`ClipSample` objects one clip at a time (``update``) and returns
:class:`MetricResult` values (``compute``), each with its own ``n``, dropped ids (with the reason) and
a bootstrap 95% interval.

Reduction across processes (like torchmetrics' ``dist_reduce_fx``): a family's state is its
:meth:`~MetricFamily.state_dict` -- per-clip dicts keyed by clip id (:attr:`MetricFamily.per_clip_state`,
merged by union) and counters (:attr:`MetricFamily.summed_state`, merged by addition). Families read
per-clip state in clip-id order (:func:`by_clip`), so a result depends only on which clips were scored,
not on their order or on how they were shared between processes: shards merged with
:meth:`~MetricFamily.merge` give the numbers of one pass, intervals included. A family whose state is
sufficient statistics (e.g. float64 sums) overrides :meth:`~MetricFamily.merge_state`.
"""

from __future__ import annotations

import copy
import enum
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, replace
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
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


@dataclass(eq=False)
class PooledTerms:
    """The per-clip data a pooled metric is computed from, kept so two rows on the same clips can be
    resampled together (paired significance on boards; PROTOCOL.md, Statistics).

    ``group`` names the data, shared by every metric computed from it and stored once in a result's
    sidecar (``embeddings@<backbone>``: arrays ``gen`` and ``ref``; ``logits@<backbone>``: ``logits``;
    ``onsets``: ``confidence``, ``hit`` and ``n_ref``). ``clips`` are clip ids; ``arrays[name]`` has one
    row per item (a clip's embedding, a VGGish frame, an onset detection) and ``members[name]`` the
    index into ``clips`` of each row's clip, ascending: frame-level data keep their clip membership.
    Identity equality: results and resample caches key on the object.
    """

    group: str
    clips: list[str]
    arrays: dict[str, np.ndarray]
    members: dict[str, np.ndarray]

    @property
    def kind(self) -> str:
        return self.group.split("@")[0]

    @classmethod
    def collect(cls, group: str, *, per_row: Mapping[str, Mapping[str, Any]] | None = None,
                per_clip: Mapping[str, Mapping[str, Any]] | None = None) -> "PooledTerms":
        """Build from per-clip dicts (clip id -> tensor or array), read in clip-id order.

        ``per_row``: each clip holds several rows ``[rows, ...]`` (frames, detections; zero rows allowed);
        ``per_clip``: each clip holds one row ``[...]`` (a clip embedding, logits, a count).
        """
        sets = {name: (values, True) for name, values in (per_row or {}).items()}
        sets |= {name: (values, False) for name, values in (per_clip or {}).items()}
        clips = sorted({c for values, _ in sets.values() for c in values})
        index = {c: i for i, c in enumerate(clips)}
        arrays, members = {}, {}
        for name, (values, several) in sets.items():
            keys = sorted(values)
            parts = [_numpy(values[c]) for c in keys]
            parts = parts if several else [p[None] for p in parts]
            arrays[name] = np.concatenate(parts) if parts else np.zeros(0)
            members[name] = np.repeat(np.array([index[c] for c in keys], np.int64), [len(p) for p in parts])
        return cls(group, clips, arrays, members)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def attach_pooled(results: list["MetricResult"], terms: Mapping[str, PooledTerms | None]) -> None:
    """Set :attr:`MetricResult.pooled` of the results whose id is in ``terms`` (metric id -> data)."""
    for result in results:
        if result.id in terms and result.value is not None:
            result.pooled = terms[result.id]


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
    # per-clip terms of a per-clip metric, for paired comparisons on boards: {"value": {clip: v}}
    # (the metric is their mean) or {"numerator": {...}, "denominator": {...}} (sum / sum); None for
    # pooled and distribution metrics (FD, KAD, IS, onset AP)
    per_clip: dict[str, dict[str, float]] | None = None
    # the per-clip data of a pooled metric (embeddings, logits, onset detections), for paired
    # resampling on boards; never in the JSON body: results keep it in a sidecar file
    pooled: PooledTerms | None = None

    def to_json(self) -> dict[str, Any]:
        doc = asdict(replace(self, pooled=None))
        del doc["pooled"]
        doc["direction"] = self.direction.value
        doc["interval"] = list(self.interval) if self.interval is not None else None
        if self.per_clip is None:
            del doc["per_clip"]  # pooled metrics, and results written before per-clip terms were stored
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
            per_clip=doc.get("per_clip"),
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
    # audio the task was given (FE: the prefix; AC-VTA: the style clip), mono float32 [N]; None elsewhere
    conditioning: torch.Tensor | None = None
    conditioning_rate: int | None = None


T = TypeVar("T")


def by_clip(state: Mapping[str, T]) -> list[T]:
    """The values of a per-clip dict in clip-id order (the order every family reads its state in)."""
    return [state[k] for k in sorted(state)]


def _union(mine: dict[str, Any], theirs: Mapping[str, Any], where: str) -> None:
    """Add ``theirs`` into ``mine``; nested dicts merge recursively, a clip present in both is an error."""
    for key, value in theirs.items():
        if key in mine and isinstance(mine[key], dict) and isinstance(value, Mapping):
            _union(mine[key], value, f"{where}[{key!r}]")
        elif key in mine:
            raise ValueError(f"cannot merge metric states: {where} has {key!r} in both (a clip scored twice?)")
        else:
            mine[key] = copy.deepcopy(value)


class MetricFamily(ABC):
    """Metrics that share one pass over the clips.

    Subclasses name their state: :attr:`per_clip_state` (dicts keyed by clip id, or metric id ->
    clip id) and :attr:`summed_state` (counters); :attr:`dropped` is always part of it. Everything else
    (backbones, feature caches, memo tables) is not state and never travels between processes.
    """

    specs: tuple[MetricSpec, ...] = ()
    per_clip_state: tuple[str, ...] = ()
    summed_state: tuple[str, ...] = ()

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

    def flush(self) -> None:
        """Finish pending work (families that batch clips embed the pending batch here)."""

    # ------------------------------------------------------------------ reduction across processes
    def state_dict(self) -> dict[str, Any]:
        """This family's state (plain data: dicts, numbers, tensors, arrays), a copy."""
        self.flush()
        names = ("dropped", *self.per_clip_state, *self.summed_state)
        return {name: copy.deepcopy(getattr(self, name)) for name in names}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace this family's state by ``state`` (from :meth:`state_dict`)."""
        self.flush()
        for name in ("dropped", *self.per_clip_state, *self.summed_state):
            setattr(self, name, copy.deepcopy(state[name]))

    def merge_state(self, state: Mapping[str, Any]) -> None:
        """Add another process's :meth:`state_dict`: per-clip dicts by union, counters by addition."""
        self.flush()
        missing = {"dropped", *self.per_clip_state, *self.summed_state} - set(state)
        if missing:
            raise ValueError(f"cannot merge into {type(self).__name__}: the state lacks {', '.join(sorted(missing))}")
        for name in ("dropped", *self.per_clip_state):
            _union(getattr(self, name), state[name], f"{type(self).__name__}.{name}")
        for name in self.summed_state:
            setattr(self, name, getattr(self, name) + state[name])

    def merge(self, other: MetricFamily) -> None:
        """Add the state of ``other`` (the same family, e.g. another shard's) into this one."""
        if type(other) is not type(self) or other.specs != self.specs:
            raise TypeError(f"cannot merge {type(other).__name__} {other.ids} into {type(self).__name__} {self.ids}")
        self.merge_state(other.state_dict())

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.specs)

    def spec(self, metric_id: str) -> MetricSpec:
        return next(s for s in self.specs if s.id == metric_id)

    @staticmethod
    def mean_terms(values: Mapping[str, float]) -> dict[str, dict[str, float]]:
        """``MetricResult.per_clip`` of a metric that is the mean of per-clip values."""
        return {"value": {k: float(values[k]) for k in sorted(values)}}

    def result(self, metric_id: str, value: float | None, n: int, **kw: Any) -> MetricResult:
        s = self.spec(metric_id)
        return MetricResult(metric_id, value, s.direction, n, s.backbone, s.weights_sha256, s.version, dict(self.dropped), **kw)
