"""``desync@synchformer``: the audio-visual offset Synchformer predicts between the reference video and
the generated audio, in seconds; lower is better.

Per clip (av-benchmark ``evaluate``): Synchformer features of the *reference* frames
(``ClipSample.frames`` at ``ClipSample.fps``, first ``ClipSample.duration`` seconds; 25 fps, 224 centre
crop, 16-frame segments with step 8) and of the *generated* audio (16 kHz, 0.64 s segments with step
0.32 s); two windows of 14 segments (4.8 s): the first 14 and the last 14 segments of each stream. Each
window's offset is the argmax over 21 offsets from -2.0 to +2.0 s. DeSync = mean |offset| over both
windows of all clips (every clip contributes two windows, so this is also the mean of per-clip means;
the interval resamples clips, 1000 times).

The frames are taken from the sample (decoded once by the runner), not re-decoded from the file; they
must start where the generated audio starts. Clips shorter than the window (fewer than 14 segments in
either stream) are dropped with the reason and counted in ``extra["too_short"]``; so are clips without
frames. Window features are cached by content, weights and settings (the video side is shared by every
model scored on the same reference clip).
"""

from __future__ import annotations

import numpy as np
import torch
from v2abench.metrics.backbones.synchformer import (
    SAMPLE_RATE,
    WINDOW_SECONDS,
    SynchformerBackbone,
    offset_grid,
)
from v2abench.metrics.base import (
    ClipSample,
    Direction,
    MetricFamily,
    MetricResult,
    MetricSpec,
    by_clip,
)
from v2abench.metrics.bootstrap import mean_interval
from v2abench.metrics.ib_score import audio_sha256, frames_sha256, resample

from v2abench.data.feature_cache import FeatureCache

METRIC_ID = "desync@synchformer"


def desync_spec(weights_sha256: str | None) -> MetricSpec:
    return MetricSpec(
        METRIC_ID, Direction.LOWER, "synchformer", weights_sha256, unit="s",
        description="mean |predicted audio-visual offset| over the first and last 4.8 s windows (21 offsets, -2..+2 s)",
    )


class DeSync(MetricFamily):
    """``desync@synchformer`` over :class:`ClipSample` objects (reference frames + generated audio)."""

    per_clip_state = ("clip_desync", "clip_offsets")
    summed_state = ("too_short",)

    def __init__(self, backbone: SynchformerBackbone, cache: bool = True, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.backbone = backbone
        self.specs = (desync_spec(backbone.weights_sha256),)
        settings = backbone.settings()
        self.video_cache = FeatureCache("synchformer-video", backbone.weights_sha256, settings) if cache else None
        self.audio_cache = FeatureCache("synchformer-audio", backbone.weights_sha256, settings) if cache else None
        self.clip_desync: dict[str, float] = {}  # clip id -> mean |offset| of the clip's two windows
        self.clip_offsets: dict[str, list[float]] = {}  # clip id -> signed offsets of its windows
        self.too_short = 0

    @property
    def per_clip(self) -> list[float]:
        """Mean |offset| of each clip, in the order the clips were scored."""
        return list(self.clip_desync.values())

    @property
    def offsets(self) -> list[list[float]]:
        """Signed window offsets of each clip, in the order the clips were scored."""
        return list(self.clip_offsets.values())

    def _cached(self, cache: FeatureCache | None, key: str, compute) -> torch.Tensor:  # type: ignore[no-untyped-def]
        return compute() if cache is None else cache.get_or_compute(key, compute)

    def update(self, sample: ClipSample) -> None:
        if sample.frames is None or not sample.fps:
            self.drop(sample.id, "no reference video frames")
            return
        duration = sample.duration
        audio = resample(sample.generated, sample.generated_rate, SAMPLE_RATE)
        audio = audio[: int(SAMPLE_RATE * duration + 1e-9)]
        seconds = min(sample.frames.shape[0] / sample.fps, duration, audio.shape[0] / SAMPLE_RATE)
        if seconds + 1e-9 < WINDOW_SECONDS:
            self.too_short += 1
            self.drop(sample.id, f"shorter than the {WINDOW_SECONDS:.1f} s Synchformer window ({seconds:.2f} s)")
            return
        try:
            video = self._cached(
                self.video_cache, frames_sha256(sample.frames, sample.fps, duration),
                lambda: self.backbone.video_windows(sample.frames, sample.fps, duration),
            )
            audio_feats = self._cached(self.audio_cache, audio_sha256(audio, SAMPLE_RATE), lambda: self.backbone.audio_windows(audio))
        except ValueError as err:  # e.g. a stream a few samples short of 14 segments
            self.too_short += 1
            self.drop(sample.id, f"shorter than the {WINDOW_SECONDS:.1f} s Synchformer window ({err})")
            return
        offsets = self.backbone.window_offsets(video, audio_feats)
        self.clip_offsets[sample.id] = [float(x) for x in offsets]
        self.clip_desync[sample.id] = float(offsets.abs().mean())

    def compute(self) -> list[MetricResult]:
        values = np.asarray(by_clip(self.clip_desync), dtype=np.float64)
        value = float(values.mean()) if values.size else None
        signed = np.asarray(by_clip(self.clip_offsets), dtype=np.float64).reshape(-1)
        grid = offset_grid().numpy()
        histogram = {f"{g:+.1f}": int(np.sum(np.isclose(signed, g))) for g in grid}
        extra = {"windows": int(signed.size), "too_short": self.too_short, "offset_histogram": histogram}
        return [self.result(METRIC_ID, value, int(values.size), interval=mean_interval(values, self.bootstrap_resamples, self.bootstrap_seed), extra=extra,
                            per_clip=self.mean_terms(self.clip_desync) if values.size else None)]
