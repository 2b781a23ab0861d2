"""``clap@laion`` and ``clap_audio@laion``: LAION-CLAP cosine similarities (PROTOCOL.md "CLAP score").

* ``clap@laion``: per clip, cosine(text embedding of the split's caption, generated-audio
  embedding); mean over clips. Clips without a caption are dropped from this id.
* ``clap_audio@laion``: per clip, cosine(reference-audio embedding, generated-audio embedding);
  mean over clips. Clips without reference audio are dropped from this id.

Both higher is better, each with its own ``n``, dropped ids and a bootstrap 95% interval (1000 clip
resamples). Audio is resampled to 48 kHz, repeat-padded (or cropped to its first 10 s) and embedded by
:class:`~v2abench.metrics.backbones.clap.ClapBackbone`; audio embeddings are cached per clip
content like every backbone's (:class:`~v2abench.data.feature_cache.FeatureCache`), captions are
embedded once per distinct text. Clips are embedded in batches of ``batch_size`` (the last,
partial batch at :meth:`compute`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from v2abench.metrics.base import (
    ClipSample,
    Direction,
    MetricFamily,
    MetricResult,
    MetricSpec,
    by_clip,
)
from v2abench.metrics.bootstrap import mean_interval
from v2abench.metrics.embedding import audio_sha256

from v2abench.data.feature_cache import FeatureCache

BACKBONE = "laion"
CLAP_ID = "clap@laion"
CLAP_AUDIO_ID = "clap_audio@laion"


def clap_specs(weights_sha256: str | None) -> tuple[MetricSpec, ...]:
    return (
        MetricSpec(CLAP_ID, Direction.HIGHER, BACKBONE, weights_sha256, description="LAION-CLAP cosine(caption, generated audio)"),
        MetricSpec(CLAP_AUDIO_ID, Direction.HIGHER, BACKBONE, weights_sha256, description="LAION-CLAP cosine(reference audio, generated audio)"),
    )


@dataclass
class _Pending:
    id: str
    generated: torch.Tensor  # 48 kHz
    reference: torch.Tensor | None  # 48 kHz
    caption: str | None


class ClapScore(MetricFamily):
    """Both CLAP ids from one pass; ``backbone`` is a :class:`~v2abench.metrics.backbones.clap.ClapBackbone`."""

    per_clip_state = ("scores", "dropped_by_id")  # metric id -> clip id -> value / reason

    def __init__(self, backbone: object, batch_size: int = 8, use_cache: bool = True, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.backbone = backbone
        self.batch_size = batch_size
        self.specs = clap_specs(backbone.weights_sha256)  # type: ignore[attr-defined]
        self.cache = FeatureCache(backbone.id, backbone.weights_sha256, backbone.settings()) if use_cache else None  # type: ignore[attr-defined]
        self.pending: list[_Pending] = []
        self.text_memo: dict[str, torch.Tensor] = {}
        self.scores: dict[str, dict[str, float]] = {CLAP_ID: {}, CLAP_AUDIO_ID: {}}
        self.dropped_by_id: dict[str, dict[str, str]] = {CLAP_ID: {}, CLAP_AUDIO_ID: {}}

    def _to_rate(self, audio: torch.Tensor, rate: int) -> torch.Tensor:
        audio = audio.detach().float().reshape(-1).cpu()
        if rate != self.backbone.sample_rate:  # type: ignore[attr-defined]
            import torchaudio.functional as AF

            audio = AF.resample(audio, rate, self.backbone.sample_rate)  # type: ignore[attr-defined]
        return audio

    def update(self, sample: ClipSample) -> None:
        if sample.generated is None or sample.generated.numel() == 0:
            self.drop(sample.id, "no generated audio")
            for dropped in self.dropped_by_id.values():
                dropped[sample.id] = "no generated audio"
            return
        reference = None
        if sample.reference is None or sample.reference_rate is None or sample.reference.numel() == 0:
            self.dropped_by_id[CLAP_AUDIO_ID][sample.id] = "no reference audio"
        else:
            reference = self._to_rate(sample.reference, sample.reference_rate)
        caption = sample.caption if sample.caption and sample.caption.strip() else None
        if caption is None:
            self.dropped_by_id[CLAP_ID][sample.id] = "no caption"
        self.pending.append(_Pending(sample.id, self._to_rate(sample.generated, sample.generated_rate), reference, caption))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def _audio_embeddings(self, clips: list[torch.Tensor]) -> list[torch.Tensor]:
        """``[512]`` per clip, from the cache where present; the rest in one batched call."""
        rate = self.backbone.sample_rate  # type: ignore[attr-defined]
        keys = [audio_sha256(c, rate) for c in clips]
        found: dict[int, torch.Tensor] = {}
        if self.cache is not None:
            for i, key in enumerate(keys):
                doc = self.cache.get(key)
                if doc is not None:
                    found[i] = doc["embeddings"][0]
        missing = [i for i in range(len(clips)) if i not in found]
        # the same content twice in one batch is embedded once
        unique: dict[str, int] = {}
        for i in missing:
            unique.setdefault(keys[i], i)
        if unique:
            embeddings = self.backbone.embed_batch([clips[i] for i in unique.values()])  # type: ignore[attr-defined]
            by_key = {}
            for (key, _), emb in zip(unique.items(), embeddings):
                by_key[key] = emb
                if self.cache is not None:
                    self.cache.put(key, {"embeddings": emb[None].clone()})
            for i in missing:
                found[i] = by_key[keys[i]]
        return [found[i] for i in range(len(clips))]

    def _text_embeddings(self, captions: list[str]) -> dict[str, torch.Tensor]:
        new = sorted({c for c in captions if c not in self.text_memo})
        if new:
            for caption, emb in zip(new, self.backbone.embed_text(new)):  # type: ignore[attr-defined]
                self.text_memo[caption] = emb
        return {c: self.text_memo[c] for c in captions}

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        clips = [p.generated for p in batch] + [p.reference for p in batch if p.reference is not None]
        embeddings = self._audio_embeddings(clips)
        generated = embeddings[: len(batch)]
        references = iter(embeddings[len(batch) :])
        texts = self._text_embeddings([p.caption for p in batch if p.caption is not None])
        for p, gen in zip(batch, generated):
            if p.reference is not None:
                self.scores[CLAP_AUDIO_ID][p.id] = float(torch.nn.functional.cosine_similarity(gen, next(references), dim=0))
            if p.caption is not None:
                self.scores[CLAP_ID][p.id] = float(torch.nn.functional.cosine_similarity(gen, texts[p.caption], dim=0))

    def per_clip(self, metric_id: str) -> dict[str, float]:
        """Per-clip cosines of ``metric_id`` (after :meth:`compute`), e.g. for paired comparisons."""
        return dict(self.scores[metric_id])

    def compute(self) -> list[MetricResult]:
        self.flush()
        results = []
        for spec in self.specs:
            values = np.array(by_clip(self.scores[spec.id]), np.float64)
            value = float(values.mean()) if values.size else None
            interval = mean_interval(values, self.bootstrap_resamples, self.bootstrap_seed) if values.size else None
            results.append(
                MetricResult(
                    spec.id,
                    value,
                    spec.direction,
                    int(values.size),
                    spec.backbone,
                    spec.weights_sha256,
                    spec.version,
                    dict(self.dropped_by_id[spec.id]),
                    interval=interval,
                    per_clip=self.mean_terms(self.scores[spec.id]) if values.size else None,
                )
            )
        return results
