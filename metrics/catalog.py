"""The catalogue of metrics ``v2abench eval`` knows, and the specs a board's protocol freezes.

Two kinds of families: those that need no learned backbone (onset, speed) and those built around a
backbone (FD/KAD/FAD-inf/KL/IS per audio backbone; ``resemblyzer``). A backbone family is built
only when one of its ids is asked for; when its weights are missing it is skipped with one clear
line naming ``v2abench weights fetch NAME`` and its ids are recorded as not computed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from v2abench.metrics.backbones import AUDIO_BACKBONES, build_backbone
from v2abench.metrics.base import MetricFamily, MetricSpec
from v2abench.metrics.embedding import EmbeddingMetrics, embedding_specs
from v2abench.metrics.onset import OnsetMetrics
from v2abench.metrics.speed import SpeedMetrics
from v2abench.metrics.style_similarity import StyleSimilarity, resemblyzer_spec

log = logging.getLogger(__name__)

METRIC_FAMILIES: dict[str, type[MetricFamily]] = {"onset": OnsetMetrics, "speed": SpeedMetrics}
CLASSIFIER_BACKBONES = {"panns", "passt"}
EMBEDDING_BACKBONES = ("vggish", "panns", "passt")
BACKBONE_RATES = {"vggish": 16_000, "panns": 16_000, "passt": 32_000, "resemblyzer": 16_000}


def _file_sha256(path: Path) -> str:
    """sha256 of a weights file, memoised in the cache by (path, size, mtime)."""
    import hashlib

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
    try:
        memo.write_text(json.dumps({"key": key, "sha256": sha}))
    except OSError:
        pass
    return sha


def backbone_weights_sha256(name: str) -> str | None:
    """sha256 of the weights a backbone would load now (None when absent)."""
    if name == "resemblyzer":
        from v2abench.metrics.backbones.resemblyzer_backbone import shipped_weights_path

        return _file_sha256(shipped_weights_path())
    from v2abench.weights import get_spec

    path = get_spec(_weights_name(name)).path
    return _file_sha256(path) if path.is_file() else None


def _weights_name(backbone: str) -> str:
    module, _, attr = AUDIO_BACKBONES[backbone].partition(":")
    import importlib

    return str(getattr(importlib.import_module(module), attr).weights_name)


def backbone_of(metric_id: str) -> str | None:
    if metric_id == "resemblyzer":
        return "resemblyzer"
    return "vggish" if metric_id == "fad@vggish" else (metric_id.split("@", 1)[1] if "@" in metric_id else None)


def metric_specs(with_weights: bool = True) -> dict[str, MetricSpec]:
    """Every known metric id and its definition (weights hashes of the files present now)."""
    specs = {spec.id: spec for family in METRIC_FAMILIES.values() for spec in family.specs}
    for bb in EMBEDDING_BACKBONES:
        sha = backbone_weights_sha256(bb) if with_weights else None
        specs.update({s.id: s for s in embedding_specs(bb, bb in CLASSIFIER_BACKBONES, sha)})
    specs["resemblyzer"] = resemblyzer_spec(backbone_weights_sha256("resemblyzer") if with_weights else None)
    return specs


def build_families(metric_ids: list[str] | None = None, **options: object) -> tuple[list[MetricFamily], dict[str, str]]:
    """The families needed for ``metric_ids`` (all static ones when None), and ids not computable.

    Unknown ids raise ``ValueError``; ids whose backbone weights are missing are returned with the
    reason instead of a family.
    """
    from v2abench.weights import MissingWeightsError

    known = metric_specs(with_weights=False)
    if metric_ids is not None:
        unknown = sorted(set(metric_ids) - set(known))
        if unknown:
            raise ValueError(f"unknown metric ids: {', '.join(unknown)}; see `v2abench metrics`")
    wanted = set(metric_ids) if metric_ids is not None else {s.id for f in METRIC_FAMILIES.values() for s in f.specs}
    families: list[MetricFamily] = [cls(**options) for cls in METRIC_FAMILIES.values() if wanted & {s.id for s in cls.specs}]  # type: ignore[arg-type]
    not_computed: dict[str, str] = {}
    for bb in [*EMBEDDING_BACKBONES, "resemblyzer"]:
        ids = sorted(m for m in wanted if backbone_of(m) == bb)
        if not ids:
            continue
        try:
            backbone = build_backbone(bb)
        except MissingWeightsError as err:
            log.warning("skipping %s: %s", ", ".join(ids), err)
            not_computed.update({m: str(err) for m in ids})
            continue
        families.append(StyleSimilarity(backbone, **options) if bb == "resemblyzer" else EmbeddingMetrics(backbone, **options))  # type: ignore[arg-type]
    return families, not_computed
