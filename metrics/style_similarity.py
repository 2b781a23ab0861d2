"""``resemblyzer``: cosine similarity of Resemblyzer embeddings of reference and generated audio.

Meant for audio-controlled generation (style transfer from a reference clip). Resemblyzer trims
with a voice-activity detector that can cut non-speech sound, so ``clap_audio`` is reported beside
it where available (PROTOCOL.md). Higher is better; per-clip values, mean over clips.
"""

from __future__ import annotations

import numpy as np
import torch

from v2abench.metrics.backbones.base import AudioBackbone
from v2abench.metrics.base import ClipSample, Direction, MetricFamily, MetricResult, MetricSpec, by_clip
from v2abench.metrics.bootstrap import mean_interval
from v2abench.metrics.embedding import EmbeddingMetrics


def resemblyzer_spec(weights_sha256: str | None) -> MetricSpec:
    return MetricSpec("resemblyzer", Direction.HIGHER, "resemblyzer", weights_sha256, description="cosine of voice-encoder embeddings")


class StyleSimilarity(MetricFamily):
    per_clip_state = ("scores",)

    def __init__(self, backbone: AudioBackbone, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.specs = (resemblyzer_spec(backbone.weights_sha256),)
        self._features = EmbeddingMetrics(backbone)._features  # same caching and resampling
        self.scores: dict[str, float] = {}  # per clip id

    def update(self, sample: ClipSample) -> None:
        if sample.reference is None or sample.reference_rate is None:
            self.drop(sample.id, "no reference audio")
            return
        g = self._features(sample.generated, sample.generated_rate).embeddings.mean(0)
        r = self._features(sample.reference, sample.reference_rate).embeddings.mean(0)
        self.scores[sample.id] = float(torch.nn.functional.cosine_similarity(g, r, dim=0))

    def compute(self) -> list[MetricResult]:
        values = np.array(by_clip(self.scores), np.float64)
        value = float(values.mean()) if values.size else None
        return [self.result("resemblyzer", value, values.size, interval=mean_interval(values, self.bootstrap_resamples, self.bootstrap_seed),
                            per_clip=self.mean_terms(self.scores) if values.size else None)]
