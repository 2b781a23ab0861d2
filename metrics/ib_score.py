"""``ib@imagebind``: cosine similarity of ImageBind embeddings of the reference video and the generated audio.

Per clip: the video embedding of the *reference* frames (``ClipSample.frames`` at ``ClipSample.fps``,
the first ``ClipSample.duration`` seconds; front end in :mod:`v2abench.metrics.backbones.imagebind`:
0.5 fps, 224, CLIP mean/std, 3 crops, 2-frame views) and the audio embedding of the *generated*
audio (resampled to 16 kHz, three 2 s clips, kaldi fbank); their cosine. The metric is the mean
over clips, stored raw in [-1, 1] (boards display x100, as papers do, and say so); higher is better.
Interval: 1000 clip resamples.

The frames are taken from the sample (decoded once by the runner), not re-decoded from the file;
they must start where the generated audio starts. Clips without frames, with fewer than 2 frames
at 0.5 fps (under 4 s of video) or with under 25 ms of audio are dropped with the reason.
Embeddings are cached by content (frames or audio), backbone weights and settings, so the video
embedding of a reference clip is computed once for all models scored on it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from v2abench.metrics.backbones.imagebind import SAMPLE_RATE, ImageBindBackbone
from v2abench.metrics.base import (
    ClipSample,
    Direction,
    MetricFamily,
    MetricResult,
    MetricSpec,
    by_clip,
)
from v2abench.metrics.bootstrap import mean_interval

from v2abench.data.feature_cache import FeatureCache

METRIC_ID = "ib@imagebind"


def ib_spec(weights_sha256: str | None) -> MetricSpec:
    return MetricSpec(
        METRIC_ID, Direction.HIGHER, "imagebind", weights_sha256, unit="cosine",
        description="cosine(ImageBind video embedding of the reference, audio embedding of the generated clip); raw, in [-1, 1]",
    )


def frames_sha256(frames: torch.Tensor, fps: float, duration: float | None) -> str:
    digest = hashlib.sha256(f"{tuple(frames.shape)}|{fps!r}|{duration!r}".encode())
    digest.update(frames.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def audio_sha256(audio: torch.Tensor, rate: int) -> str:
    digest = hashlib.sha256(str(rate).encode())
    digest.update(audio.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def resample(audio: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    audio = audio.detach().reshape(-1).float()
    if rate == target:
        return audio
    import torchaudio.functional as AF

    return AF.resample(audio, rate, target)


class ImageBindScore(MetricFamily):
    """``ib@imagebind`` over :class:`ClipSample` objects (reference frames + generated audio)."""

    per_clip_state = ("clip_scores",)

    def __init__(self, backbone: ImageBindBackbone, cache: bool = True, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.backbone = backbone
        self.specs = (ib_spec(backbone.weights_sha256),)
        settings = backbone.settings()
        self.video_cache = FeatureCache("imagebind-video", backbone.weights_sha256, settings) if cache else None
        self.audio_cache = FeatureCache("imagebind-audio", backbone.weights_sha256, settings) if cache else None
        self.clip_scores: dict[str, float] = {}  # clip id -> cosine

    @property
    def scores(self) -> list[float]:
        """Per-clip cosines in the order the clips were scored (:meth:`compute` reads clip-id order)."""
        return list(self.clip_scores.values())

    def _cached(self, cache: FeatureCache | None, key: str, compute) -> torch.Tensor:  # type: ignore[no-untyped-def]
        if cache is None:
            return compute()
        return cache.get_or_compute(key, compute)

    def update(self, sample: ClipSample) -> None:
        if sample.frames is None or not sample.fps:
            self.drop(sample.id, "no reference video frames")
            return
        duration = sample.duration
        audio = resample(sample.generated, sample.generated_rate, SAMPLE_RATE)
        try:
            video_emb = self._cached(
                self.video_cache, frames_sha256(sample.frames, sample.fps, duration),
                lambda: self.backbone.embed_video(sample.frames, sample.fps, duration),
            )
            audio_emb = self._cached(self.audio_cache, audio_sha256(audio, SAMPLE_RATE), lambda: self.backbone.embed_audio(audio))
        except ValueError as err:
            self.drop(sample.id, str(err))
            return
        self.clip_scores[sample.id] = float(torch.nn.functional.cosine_similarity(video_emb.double(), audio_emb.double(), dim=0))

    def compute(self) -> list[MetricResult]:
        values = np.asarray(by_clip(self.clip_scores), dtype=np.float64)
        value = float(values.mean()) if values.size else None
        return [self.result(METRIC_ID, value, int(values.size), interval=mean_interval(values, self.bootstrap_resamples, self.bootstrap_seed),
                            per_clip=self.mean_terms(self.clip_scores) if values.size else None)]
