"""Synchformer for ``desync@synchformer``: the audio-visual offset of (reference video, generated audio).

The networks are :mod:`v2abench.metrics.backbones.synchformer_towers`; the weights are the state
dict av-benchmark and MMAudio use, ``synchformer_state_dict.pth`` (weights registry entry
``synchformer``), loaded with exact key matching (its only unused entries, the video ViT's 2-D
patch embedding, are checked by name). Front ends follow PROTOCOL.md and av-benchmark:

Video (the *reference* clip's frames, uint8 ``[T, 3, H, W]`` at ``fps``)
    frames at 25 fps (picked with ffmpeg's ``fps`` filter rule, the identity for 25 fps input;
    at most ``int(25 * duration)``), short side resized to 224 (bicubic, antialiased, on uint8),
    centre crop 224 (torchvision ``center_crop``), scaled to [0, 1], mean 0.5, std 0.5; segments
    of 16 frames with step 8: ``S_v = (T - 16) // 8 + 1``.
Audio (the generated clip, mono, resampled to 16 kHz, at most ``int(16000 * duration)`` samples)
    segments of 10240 samples (0.64 s) with step 5120 (0.32 s): ``S_a = (N - 10240) // 5120 + 1``;
    each: torchaudio ``MelSpectrogram`` (n_fft 1024, win 400, hop 160, 128 mels, power 2, centred,
    HTK scale) -> ``log(x + 1e-6)`` -> zero-padded (after the log) or cut to 66 frames ->
    ``(x + 4.2677393) / (2 * 4.5689974)``.
Scoring (av-benchmark ``evaluate``)
    two windows of 14 segments: the first 14 video and first 14 audio segments, and the last 14
    of each (counted from each stream's own end); per window the argmax of the 21 logits picks
    an offset from -2.0 to +2.0 s in 0.2 s steps. Clips with fewer than 14 segments in either
    stream (under 4.8 s) cannot be scored.

Only the segments a window uses are encoded (for 8 s clips that is all 24 of each stream).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from v2abench.metrics.backbones.checkpoints import build_network
from v2abench.metrics.backbones.imagebind import ffmpeg_fps_indices, resize_short_side
from v2abench.metrics.backbones.synchformer_towers import (
    SynchformerConfig,
    SynchformerNet,
    split_checkpoint,
)

log = logging.getLogger(__name__)

WEIGHTS_NAME = "synchformer"
VIDEO_FPS = 25.0
IMAGE_SIZE = 224
PIXEL_MEAN, PIXEL_STD = 0.5, 0.5
SEGMENT_FRAMES, FRAME_STEP = 16, 8

SAMPLE_RATE = 16_000
SEGMENT_SAMPLES, SAMPLE_STEP = 10_240, 5_120
N_FFT, WIN_LENGTH, HOP_LENGTH, N_MELS = 1024, 400, 160, 128
SPEC_FRAMES = 66
LOG_OFFSET = 1e-6
MEL_MEAN, MEL_STD = -4.2677393, 4.5689974

WINDOW_SEGMENTS = 14
NUM_OFFSETS = 21
MAX_OFFSET = 2.0
WINDOW_SECONDS = (WINDOW_SEGMENTS - 1) * SAMPLE_STEP / SAMPLE_RATE + SEGMENT_SAMPLES / SAMPLE_RATE  # 4.8 s


def offset_grid() -> torch.Tensor:
    """The 21 offsets (seconds) the classifier chooses from: -2.0, -1.8, ..., +2.0."""
    return torch.linspace(-MAX_OFFSET, MAX_OFFSET, NUM_OFFSETS, dtype=torch.float64)


def segment_count(length: int, size: int, step: int) -> int:
    return max((length - size) // step + 1, 0)


def window_indices(count: int) -> tuple[list[int], list[int]]:
    """Segment indices of the first and the last 14-segment window of a stream of ``count``."""
    if count < WINDOW_SEGMENTS:
        raise ValueError(f"{count} segments; a window needs {WINDOW_SEGMENTS} ({WINDOW_SECONDS:.1f} s)")
    return list(range(WINDOW_SEGMENTS)), list(range(count - WINDOW_SEGMENTS, count))


def synchformer_frames(frames: torch.Tensor, fps: float, duration: float | None = None) -> torch.Tensor:
    """uint8 ``[T, 3, H, W]`` at ``fps`` -> float ``[T', 3, 224, 224]`` at 25 fps, normalised."""
    from torchvision.transforms.v2 import functional as TF

    limit = None if duration is None else int(VIDEO_FPS * duration + 1e-9)
    indices = ffmpeg_fps_indices(frames.shape[0], fps, VIDEO_FPS, limit=limit)
    if not indices:
        raise ValueError("no video frames")
    x = TF.center_crop(resize_short_side(frames[indices], IMAGE_SIZE), [IMAGE_SIZE, IMAGE_SIZE])
    return (x.float() / 255.0 - PIXEL_MEAN) / PIXEL_STD


class SyncMel(torch.nn.Module):
    """Waveform segments ``[S, 10240]`` -> normalised log-mel ``[S, 128, 66]``."""

    def __init__(self) -> None:
        super().__init__()
        import torchaudio

        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=N_FFT, win_length=WIN_LENGTH, hop_length=HOP_LENGTH, n_mels=N_MELS
        )

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        spec = torch.log(self.mel(segments) + LOG_OFFSET)
        missing = SPEC_FRAMES - spec.shape[-1]
        spec = torch.nn.functional.pad(spec, (0, missing)) if missing > 0 else spec[..., :SPEC_FRAMES]
        return (spec - MEL_MEAN) / (2 * MEL_STD)


def audio_segments(audio: torch.Tensor, indices: list[int] | None = None) -> torch.Tensor:
    """Mono 16 kHz ``[N]`` -> waveform segments ``[S, 10240]`` (all, or those at ``indices``)."""
    wave = audio.detach().reshape(-1).float()
    count = segment_count(wave.shape[0], SEGMENT_SAMPLES, SAMPLE_STEP)
    indices = list(range(count)) if indices is None else indices
    return torch.stack([wave[i * SAMPLE_STEP : i * SAMPLE_STEP + SEGMENT_SAMPLES] for i in indices]) if indices else wave.new_zeros(0, SEGMENT_SAMPLES)


def load_synchformer_state(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    return dict(state)


class SynchformerBackbone:
    """Synchformer (AudioSet, av-benchmark/MMAudio weights): window features and offsets."""

    id = "synchformer"
    sample_rate = SAMPLE_RATE
    weights_name = WEIGHTS_NAME

    def __init__(
        self,
        *,
        random_init: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
        config: SynchformerConfig | None = None,
        batch_size: int = 4,
        **sizes: int,
    ) -> None:
        """``sizes`` (e.g. ``dim=64, video_depth=1``) reduce the networks; random weights only."""
        self.device = torch.device(device)
        self.random_init = random_init
        self.seed = seed
        self.batch_size = batch_size
        self.config = (config or SynchformerConfig.full()).reduced(**sizes)
        built = build_network(lambda: SynchformerNet(self.config), random_init=random_init, seed=seed,
                              full_size=self.config == SynchformerConfig.full(), weights_name=WEIGHTS_NAME, initialise=lambda n: n.init_random(),
                              load_state=load_synchformer_state, split=split_checkpoint)
        net, self._sha256, self.unused_keys = built.net, built.sha256, built.unused_keys
        self.net = net.to(self.device).eval()
        self.mel = SyncMel()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    # -------------------------------------------------------------- features of the two windows
    @torch.inference_mode()
    def video_windows(self, frames: torch.Tensor, fps: float, duration: float | None = None) -> torch.Tensor:
        """Reference frames -> features of the first and last window ``[2, 14, 8, D]``."""
        video = synchformer_frames(frames, fps, duration)
        first, last = window_indices(segment_count(video.shape[0], SEGMENT_FRAMES, FRAME_STEP))
        needed = sorted(set(first) | set(last))
        feats = []
        for i in range(0, len(needed), self.batch_size):
            segs = torch.stack([video[j * FRAME_STEP : j * FRAME_STEP + SEGMENT_FRAMES] for j in needed[i : i + self.batch_size]])
            feats.append(self.net.video_features(segs.to(self.device)).float().cpu())
        by_index = dict(zip(needed, torch.cat(feats)))
        return torch.stack([torch.stack([by_index[j] for j in first]), torch.stack([by_index[j] for j in last])])

    @torch.inference_mode()
    def audio_windows(self, audio: torch.Tensor, duration: float | None = None) -> torch.Tensor:
        """Generated mono 16 kHz audio -> features of the first and last window ``[2, 14, 6, D]``."""
        wave = audio.detach().reshape(-1).float()
        if duration is not None:
            wave = wave[: int(SAMPLE_RATE * duration + 1e-9)]
        first, last = window_indices(segment_count(wave.shape[0], SEGMENT_SAMPLES, SAMPLE_STEP))
        needed = sorted(set(first) | set(last))
        specs = self.mel(audio_segments(wave, needed))
        feats = [self.net.audio_features(specs[i : i + self.batch_size].to(self.device)).float().cpu() for i in range(0, len(needed), self.batch_size)]
        by_index = dict(zip(needed, torch.cat(feats)))
        return torch.stack([torch.stack([by_index[j] for j in first]), torch.stack([by_index[j] for j in last])])

    # -------------------------------------------------------------- the offset classifier
    @torch.inference_mode()
    def window_logits(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``[W, 14, 8, D]``, ``[W, 14, 6, D]`` -> logits ``[W, 21]``."""
        return self.net.offset_logits(video.to(self.device), audio.to(self.device)).float().cpu()

    def window_offsets(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Predicted offset (seconds, float64) of each window: the argmax of its 21 logits."""
        return offset_grid()[self.window_logits(video, audio).argmax(dim=-1)]

    def settings(self) -> dict[str, object]:
        return {
            "id": self.id,
            "video": f"ffmpeg fps {VIDEO_FPS:g}, short side {IMAGE_SIZE} bicubic, centre crop, mean/std {PIXEL_MEAN}, segments {SEGMENT_FRAMES}/{FRAME_STEP}",
            "audio": f"{SAMPLE_RATE} Hz, segments {SEGMENT_SAMPLES}/{SAMPLE_STEP}, mel {N_FFT}/{WIN_LENGTH}/{HOP_LENGTH}/{N_MELS}, log+{LOG_OFFSET}, {SPEC_FRAMES} frames, ({MEL_MEAN}, 2*{MEL_STD})",
            "windows": f"first and last {WINDOW_SEGMENTS} segments",
            **({"random_init_seed": self.seed, "config": repr(self.config)} if self.random_init else {}),
        }
