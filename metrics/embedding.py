"""Metrics over a backbone's embeddings and logits: FD, KAD, FAD-inf, KL and IS for one backbone.

One :class:`EmbeddingMetrics` per backbone: each clip's generated and reference audio go through
the backbone once (features cached by audio content, backbone, weights and settings), and every
metric of the family reads those features. Ids: ``fd@<bb>`` (``fad@vggish`` keeps its familiar
name), ``kad@<bb>``, ``fad_inf@<bb>`` and, for classifiers, ``kl@<bb>`` and ``is@<bb>``.

FD uses matched pairs only (the clips that have both a generated and a reference embedding); the
av-benchmark habit of using every cached reference clip is the variant ``unpaired_reference``, not
implemented here. A frame-level backbone (VGGish) gives several rows per clip; FD, KAD and FAD-inf
pool the rows of all clips and know which clip each row came from.

Intervals (PROTOCOL.md "Statistics"): FD, KAD (200 draws) and FAD-inf (50 draws) resample clips
*paired* -- one draw of clip indices for both sets, every frame of a drawn clip together -- and report
the percentile interval shifted by the bootstrap bias (FD: centred on the bias-corrected value and
extended to hold FD, see :func:`~v2abench.metrics.frechet.bootstrap_fd`), clamped at 0 (FD, KAD and
FAD-inf values are clamped at 0 too, ``extra["clamped"]`` noting it); KL: 1000 clip resamples; IS: 200 clip resamples,
bias-shifted, with ``is_split_size`` clips per split (None: av-benchmark's 10 splits, the default here).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import numpy as np
import torch

from v2abench.data.feature_cache import FeatureCache
from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput
from v2abench.metrics.base import ClipSample, Direction, MetricFamily, MetricResult, MetricSpec, PooledTerms, attach_pooled, by_clip
from v2abench.metrics.bootstrap import clip_rows, mean_interval
from v2abench.metrics.class_scores import inception_score, inception_score_interval, kl_per_pair
from v2abench.metrics.frechet import (
    FrechetDistanceError,
    bootstrap_fad_inf,
    bootstrap_fd,
    clamp_at_zero,
    fad_inf,
    frechet_distance_features,
)
from v2abench.metrics.kernel_distance import bootstrap_kad, kernel_audio_distance, row_paired

log = logging.getLogger(__name__)


def fd_id(backbone: str) -> str:
    return "fad@vggish" if backbone == "vggish" else f"fd@{backbone}"


def embedding_specs(backbone: str, classifier: bool, weights_sha256: str | None) -> tuple[MetricSpec, ...]:
    specs = [
        MetricSpec(fd_id(backbone), Direction.LOWER, backbone, weights_sha256, description="Fréchet distance"),
        MetricSpec(f"kad@{backbone}", Direction.LOWER, backbone, weights_sha256, description="kernel audio distance x100"),
        MetricSpec(f"fad_inf@{backbone}", Direction.LOWER, backbone, weights_sha256, description="FD extrapolated to infinite N"),
    ]
    if classifier:
        specs += [
            MetricSpec(f"kl@{backbone}", Direction.LOWER, backbone, weights_sha256, description="KL(reference || generated)"),
            MetricSpec(f"is@{backbone}", Direction.HIGHER, backbone, weights_sha256, description="Inception score"),
        ]
    return tuple(specs)


def audio_sha256(audio: torch.Tensor, rate: int) -> str:
    digest = hashlib.sha256(str(rate).encode())
    digest.update(audio.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


class EmbeddingMetrics(MetricFamily):
    per_clip_state = ("gen", "ref")

    def __init__(self, backbone: AudioBackbone, fd_method: str = "sqrtm", is_split_size: int | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.backbone = backbone
        self.fd_method = fd_method  # "sqrtm" (av-benchmark default) or the exact symmetric "eig"
        self.is_split_size = is_split_size  # None: av-benchmark's 10 splits
        self.specs = embedding_specs(backbone.id, backbone.num_classes is not None, backbone.weights_sha256)
        self.cache = FeatureCache(backbone.id, backbone.weights_sha256, backbone.settings())
        self.gen: dict[str, BackboneOutput] = {}  # per clip id (matched pairs only)
        self.ref: dict[str, BackboneOutput] = {}

    def _features(self, audio: torch.Tensor, rate: int) -> BackboneOutput:
        if rate != self.backbone.sample_rate:
            import torchaudio.functional as AF

            audio = AF.resample(audio, rate, self.backbone.sample_rate)
        key = audio_sha256(audio, self.backbone.sample_rate)

        def compute() -> dict[str, torch.Tensor]:
            with torch.no_grad():
                out = self.backbone.embed(audio)
            doc = {"embeddings": out.embeddings.float().cpu()}
            if out.logits is not None:
                doc["logits"] = out.logits.float().cpu()
            return doc

        doc = self.cache.get_or_compute(key, compute)
        return BackboneOutput(doc["embeddings"], doc.get("logits"))

    def update(self, sample: ClipSample) -> None:
        if sample.reference is None or sample.reference_rate is None:
            self.drop(sample.id, "no reference audio")
            return
        self.gen[sample.id] = self._features(sample.generated, sample.generated_rate)
        self.ref[sample.id] = self._features(sample.reference, sample.reference_rate)

    def compute(self) -> list[MetricResult]:
        n = len(self.gen)
        bb = self.backbone.id
        if n < 2:
            return [self.result(s.id, None, n) for s in self.specs]
        gen_out, ref_out = by_clip(self.gen), by_clip(self.ref)
        gen = torch.cat([o.embeddings for o in gen_out]).double().numpy()
        ref = torch.cat([o.embeddings for o in ref_out]).double().numpy()
        # the clip of each row: frames of a clip are resampled together
        rows = {"gen_clip": clip_rows([o.embeddings.shape[0] for o in gen_out]),
                "ref_clip": clip_rows([o.embeddings.shape[0] for o in ref_out])}
        results = distribution_results(self.result, self.bootstrap_seed, fd_id(bb), f"kad@{bb}", f"fad_inf@{bb}", gen, ref, n,
                                       fd_method=self.fd_method, frame_level=self.backbone.frame_level, **rows)
        if self.backbone.num_classes is not None:
            gl = torch.stack([o.logits for o in gen_out])  # type: ignore[misc]
            rl = torch.stack([o.logits for o in ref_out])  # type: ignore[misc]
            kl = kl_per_pair(gl, rl).numpy()
            results.append(self.result(f"kl@{bb}", float(kl.mean()), n, interval=mean_interval(kl, self.bootstrap_resamples, self.bootstrap_seed),
                                       per_clip=self.mean_terms(dict(zip(sorted(self.gen), kl)))))
            mean, std = inception_score(gl, split_size=self.is_split_size)
            interval = inception_score_interval(gl, 200, self.bootstrap_seed, split_size=self.is_split_size)
            results.append(self.result(f"is@{bb}", mean, n, interval=interval,
                                       extra={"std_over_splits": std, "split_size": self.is_split_size}))
        # per-clip data of the pooled metrics, for paired significance on boards (stored beside the result)
        emb = PooledTerms.collect(f"embeddings@{bb}", per_row={"gen": {c: o.embeddings for c, o in self.gen.items()},
                                                               "ref": {c: o.embeddings for c, o in self.ref.items()}})
        logits = PooledTerms.collect(f"logits@{bb}", per_clip={"logits": {c: o.logits for c, o in self.gen.items()}}) \
            if self.backbone.num_classes is not None else None
        attach_pooled(results, {fd_id(bb): emb, f"kad@{bb}": emb, f"is@{bb}": logits})
        return results


def distribution_results(result: Callable[..., MetricResult], seed: int, fd_mid: str, kad_mid: str, fad_inf_mid: str,
                         gen: np.ndarray, ref: np.ndarray, n: int, *, fd_method: str, frame_level: bool = False,
                         gen_clip: np.ndarray | None = None, ref_clip: np.ndarray | None = None) -> list[MetricResult]:
    """FD, KAD and FAD-inf results of paired embeddings (rows of ``n`` clips; ``gen_clip`` / ``ref_clip``:
    the clip of each row, None for one row per clip), values clamped at 0 and intervals paired and
    bias-shifted; ``result(id, value, n, **kw)`` builds each :class:`MetricResult`."""
    rows = {"gen_clip": gen_clip, "ref_clip": ref_clip}
    results = []
    try:  # intervals are built around the unclamped values, then clamped with them
        raw = frechet_distance_features(gen, ref, method=fd_method)
        fd, note = clamp_at_zero(raw)
        results.append(result(fd_mid, fd, n, interval=bootstrap_fd(gen, ref, 200, seed, point=raw, **rows),
                              extra={"method": fd_method, **note}))
    except FrechetDistanceError as err:
        log.error("%s failed: %s", fd_mid, err)
        results.append(result(fd_mid, None, n, extra={"error": str(err)}))
    raw = kernel_audio_distance(gen, ref, paired=row_paired(gen, ref, gen_clip, ref_clip))
    kad, note = clamp_at_zero(raw)
    results.append(result(kad_mid, kad, n, interval=bootstrap_kad(gen, ref, 200, seed, point=raw, **rows), extra=note))
    try:
        raw, slope = fad_inf(gen, ref, frame_level=frame_level, seed=seed, **rows)
        value, note = clamp_at_zero(raw)
        interval = bootstrap_fad_inf(gen, ref, seed=seed, frame_level=frame_level, point=raw, **rows)
        results.append(result(fad_inf_mid, value, n, interval=interval, extra={"slope": slope, **note}))
    except (FrechetDistanceError, ValueError, np.linalg.LinAlgError) as err:
        results.append(result(fad_inf_mid, None, n, extra={"error": str(err)}))
    return results
