"""The catalogue of metrics ``v2abench eval`` knows, and the specs a board's protocol freezes.

Two kinds of families: those that need no learned backbone (onset, speed) and those built around a
backbone, declared once in :data:`BACKBONE_FAMILIES` (backbone class, family class, spec function).
A backbone family is built only when one of its ids is asked for; when its weights are missing it is
skipped with one clear line naming ``v2abench weights fetch NAME`` and its ids are recorded as not
computed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v2abench.metrics.base import MetricFamily, MetricSpec
from v2abench.metrics.onset import OnsetMetrics
from v2abench.metrics.speed import SpeedMetrics

log = logging.getLogger(__name__)

METRIC_FAMILIES: dict[str, type[MetricFamily]] = {"onset": OnsetMetrics, "speed": SpeedMetrics}

# Metric ids of the field that v2abench names but does not compute, with the reason and what to use.
# Asking for one records it as not computed (with this reason) instead of failing the evaluation.
NOT_IMPLEMENTED: dict[str, str] = {
    "align_acc@difffoley": (
        "not implemented: Diff-Foley's alignment classifier is released only as a checkpoint of its own "
        "training code, with no published architecture spec we could check key by key; align_acc@synthprobe "
        "(the probe's aligned/misaligned head, same protocol) is the Align Acc of the SynthFoley board"
    ),
}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class BackboneFamily:
    backbone: str  # the backbone id metric ids carry after "@"
    backbone_target: str  # "module:Class" of the backbone (weights from the registry)
    family_target: str  # "module:Class" of the MetricFamily taking (backbone, **options)
    specs_target: str  # "module:function" (weights_sha256) -> tuple[MetricSpec, ...]
    sample_rate: int

    def specs(self, weights_sha256: str | None) -> tuple[MetricSpec, ...]:
        out = _load(self.specs_target)(weights_sha256)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)

    @property
    def weights_name(self) -> str | None:
        return _load(self.backbone_target).weights_name

    def build(self, **options: object) -> MetricFamily:
        return _load(self.family_target)(_load(self.backbone_target)(), **options)


def _vggish_specs(sha: str | None) -> tuple[MetricSpec, ...]:
    from v2abench.metrics.embedding import embedding_specs

    return embedding_specs("vggish", False, sha)


def _panns_specs(sha: str | None) -> tuple[MetricSpec, ...]:
    from v2abench.metrics.embedding import embedding_specs

    return embedding_specs("panns", True, sha)


def _passt_specs(sha: str | None) -> tuple[MetricSpec, ...]:
    from v2abench.metrics.embedding import embedding_specs

    return embedding_specs("passt", True, sha)


BB = "v2abench.metrics.backbones"
BACKBONE_FAMILIES: tuple[BackboneFamily, ...] = (
    BackboneFamily("vggish", f"{BB}.vggish:VGGishBackbone", "v2abench.metrics.embedding:EmbeddingMetrics", "v2abench.metrics.catalog:_vggish_specs", 16_000),
    BackboneFamily("panns", f"{BB}.panns:PannsBackbone", "v2abench.metrics.embedding:EmbeddingMetrics", "v2abench.metrics.catalog:_panns_specs", 16_000),
    BackboneFamily("passt", f"{BB}.passt:PasstBackbone", "v2abench.metrics.embedding:EmbeddingMetrics", "v2abench.metrics.catalog:_passt_specs", 32_000),
    BackboneFamily("resemblyzer", f"{BB}.resemblyzer_backbone:ResemblyzerBackbone", "v2abench.metrics.style_similarity:StyleSimilarity", "v2abench.metrics.style_similarity:resemblyzer_spec", 16_000),
    BackboneFamily("imagebind", f"{BB}.imagebind:ImageBindBackbone", "v2abench.metrics.ib_score:ImageBindScore", "v2abench.metrics.ib_score:ib_spec", 16_000),
    BackboneFamily("laion", f"{BB}.clap:ClapBackbone", "v2abench.metrics.clap_score:ClapScore", "v2abench.metrics.clap_score:clap_specs", 48_000),
    BackboneFamily("synthprobe", "v2abench.metrics.synthprobe_metrics:SynthProbeBackbone", "v2abench.metrics.synthprobe_metrics:SynthProbeMetrics", "v2abench.metrics.synthprobe_metrics:synthprobe_specs", 16_000),
    BackboneFamily("synchformer", f"{BB}.synchformer:SynchformerBackbone", "v2abench.metrics.desync:DeSync", "v2abench.metrics.desync:desync_spec", 16_000),
)
BACKBONE_RATES = {f.backbone: f.sample_rate for f in BACKBONE_FAMILIES}


def _file_sha256(path: Path) -> str:
    """sha256 of a weights file, memoised in the cache by (path, size, mtime)."""
    from v2abench import paths
    from v2abench.weights import sha256_file

    stat = path.stat()
    memo = paths.cache_dir() / "weights-sha256" / (hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16] + ".json")
    memo.parent.mkdir(parents=True, exist_ok=True)
    key = [stat.st_size, stat.st_mtime_ns]
    if memo.is_file():
        doc = json.loads(memo.read_text())
        if doc.get("key") == key:
            return str(doc["sha256"])
    sha = sha256_file(path)
    memo.write_text(json.dumps({"key": key, "sha256": sha}))
    return sha


def family_weights_sha256(family: BackboneFamily) -> str | None:
    """sha256 of the weights the backbone would load now (None when absent)."""
    if family.backbone == "synthprobe":  # shipped in the package, not in the weights registry
        from v2abench.metrics.synthprobe_metrics import shipped_weights_sha256

        return shipped_weights_sha256()
    if family.backbone == "resemblyzer":
        from v2abench.metrics.backbones.resemblyzer_backbone import shipped_weights_path

        return _file_sha256(shipped_weights_path())
    from v2abench.weights import get_spec

    path = get_spec(family.weights_name).path  # type: ignore[arg-type]
    return _file_sha256(path) if path.is_file() else None


def weights_name_of(backbone: str) -> str | None:
    return next((f.weights_name for f in BACKBONE_FAMILIES if f.backbone == backbone), None)


def metric_specs(with_weights: bool = True) -> dict[str, MetricSpec]:
    """Every known metric id and its definition (with the weights hashes of the files present now)."""
    specs = {spec.id: spec for family in METRIC_FAMILIES.values() for spec in family.specs}
    for fam in BACKBONE_FAMILIES:
        specs.update({s.id: s for s in fam.specs(family_weights_sha256(fam) if with_weights else None)})
    return specs


def build_families(metric_ids: list[str] | None = None, **options: object) -> tuple[list[MetricFamily], dict[str, str]]:
    """The families needed for ``metric_ids`` (the backbone-free ones when None), and ids not computable."""
    from v2abench.weights import MissingWeightsError

    known = metric_specs(with_weights=False)
    if metric_ids is not None:
        unknown = sorted(set(metric_ids) - set(known) - set(NOT_IMPLEMENTED))
        if unknown:
            raise ValueError(f"unknown metric ids: {', '.join(unknown)}; see `v2abench metrics`")
    wanted = set(metric_ids) if metric_ids is not None else {s.id for f in METRIC_FAMILIES.values() for s in f.specs}
    families: list[MetricFamily] = [cls(**options) for cls in METRIC_FAMILIES.values() if wanted & {s.id for s in cls.specs}]  # type: ignore[arg-type]
    not_computed: dict[str, str] = {m: NOT_IMPLEMENTED[m] for m in sorted(wanted & set(NOT_IMPLEMENTED))}
    for mid, why in not_computed.items():
        log.warning("skipping %s: %s", mid, why)
    wanted -= set(NOT_IMPLEMENTED)
    for fam in BACKBONE_FAMILIES:
        ids = sorted(m for m in wanted if known[m].backbone == fam.backbone)
        if not ids:
            continue
        try:
            families.append(fam.build(**options))
        except MissingWeightsError as err:
            log.warning("skipping %s: %s", ", ".join(ids), err)
            not_computed.update({m: str(err) for m in ids})
    return families, not_computed


