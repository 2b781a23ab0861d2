"""ImageBind (huge) for ``ib@imagebind``: video and audio embeddings in ImageBind's joint space.

The towers are :mod:`v2abench.metrics.backbones.imagebind_towers`; the weights are the official
``imagebind_huge.pth`` (weights registry entry ``imagebind-huge``), of which the vision and audio
entries are loaded with exact key matching and every other entry is checked to belong to the
text, depth, thermal or IMU towers (unused here). Front ends follow PROTOCOL.md and av-benchmark:

Video (the *reference* clip's frames, uint8 ``[T, 3, H, W]`` at ``fps``)
    * frames at 0.5 fps picked as ffmpeg's ``fps`` filter picks them (av-benchmark decodes with
      ``frame_rate=0.5``): output frame k is the last input frame whose time, in units of 2 s and
      rounded half away from zero, is at most k; so at 25 fps frames 24, 74, 124, 174 (0.96 s,
      2.96 s, ...). ``int(0.5 * duration)`` frames are used (4 for 8 s);
    * short side resized to 224 (bicubic, antialiased, on uint8 like torchvision's ``Resize``),
      scaled to [0, 1], CLIP mean/std;
    * 3 spatial crops of 224 (left/centre/right, or top/centre/bottom for portrait frames; the
      centre offset is ``ceil((size - 224) / 2)``);
    * views: pairs of consecutive sampled frames x 3 crops (8 s -> 3 pairs x 3 crops = 9 views),
      each a 2-frame clip for the 2x14x14 temporal patch stem;
    * embedding = mean over views of the L2-normalised vision embeddings (ImageBind's own
      reduction over clips; not renormalised).

Audio (the generated clip, mono, resampled to 16 kHz with ``torchaudio.functional.resample``)
    * three 2 s clips evenly spaced: start k * max(D - 2, 0) / 2 for k = 0, 1, 2 (D = duration in
      seconds; 8 s -> 0, 3, 6 s), sample slices ``[int(start * 16000), int(end * 16000))``;
    * per clip: its mean subtracted *in place* on the shared waveform, as ImageBind's
      ``waveform2melspec`` does on a view (overlapping clips of short audio therefore see the
      earlier clips' subtraction, exactly as in the reference); kaldi fbank (``htk_compat``, Hanning,
      128 bins, 25/10 ms, no dither, no energy), padded with zeros / cut to 204 frames, normalised
      with mean -4.268 and std 9.138;
    * embedding = mean over the 3 clips of the postprocessed embeddings (L2-normalised x 20, the
      fixed audio logit scale). The IB-score is a cosine, which ignores that factor.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction
from pathlib import Path

import torch
from v2abench.metrics.backbones.checkpoints import build_network
from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput
from v2abench.metrics.backbones.imagebind_towers import (
    ImageBindConfig,
    ImageBindTowers,
    split_checkpoint,
)

log = logging.getLogger(__name__)

WEIGHTS_NAME = "imagebind-huge"
SAMPLE_RATE = 16_000
EMBEDDING_DIM = 1024

VIDEO_FPS = 0.5
IMAGE_SIZE = 224
NUM_CROPS = 3
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

CLIP_SECONDS = 2
CLIPS_PER_AUDIO = 3
MEL_BINS = 128
TARGET_FRAMES = 204
FBANK_MEAN, FBANK_STD = -4.268, 9.138
MIN_SAMPLES = 400  # one 25 ms fbank frame


# ----------------------------------------------------------------------------------- video frames
def _fraction(rate: float) -> Fraction:
    return Fraction(rate).limit_denominator(1_000_000)


def ffmpeg_fps_indices(num_frames: int, in_fps: float, out_fps: float, limit: int | None = None) -> list[int]:
    """Input frame indices that ffmpeg's ``fps=out_fps`` filter (rounding ``near``) emits.

    Frame i at time i / in_fps falls in output slot round_half_up(i * out_fps / in_fps); slot k
    is filled by the last frame whose slot is at most k. Slots whose frame would lie past the
    input are not produced; at most ``limit`` slots are returned.
    """
    ratio = _fraction(out_fps) / _fraction(in_fps)
    indices: list[int] = []
    k = 0
    while limit is None or k < limit:
        last = math.ceil((k + Fraction(1, 2)) / ratio) - 1  # largest i with floor(i * ratio + 1/2) <= k
        if last >= num_frames:
            break
        indices.append(last)
        k += 1
    return indices


def resize_short_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[T, 3, H, W]`` -> short side ``size``, bicubic with antialiasing (torchvision ``Resize``)."""
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"expected uint8 frames [T, 3, H, W], got {frames.dtype} {tuple(frames.shape)}")
    return TF.resize(frames, [size], interpolation=InterpolationMode.BICUBIC, antialias=True)


def normalise(frames: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 ``[T, 3, H, W]`` -> float ``(x / 255 - mean) / std``."""
    x = frames.float() / 255.0
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def spatial_crops(video: torch.Tensor, size: int, crops: int = NUM_CROPS) -> list[torch.Tensor]:
    """3 crops (first, centre, last along the long side) or 1 (centre) of ``[..., H, W]``."""
    height, width = video.shape[-2:]
    if min(height, width) < size:
        raise ValueError(f"frames of {height}x{width} are smaller than the {size} crop")
    centre_y, centre_x = math.ceil((height - size) / 2), math.ceil((width - size) / 2)
    boxes = []
    for index in ((0, 1, 2) if crops == 3 else (1,)):
        y, x = centre_y, centre_x
        if height > width:
            y = {0: 0, 1: centre_y, 2: height - size}[index]
        else:
            x = {0: 0, 1: centre_x, 2: width - size}[index]
        boxes.append(video[..., y : y + size, x : x + size])
    return boxes


def imagebind_video_views(frames: torch.Tensor, fps: float, duration: float | None = None) -> torch.Tensor:
    """The vision views of one clip: float ``[V, 3, 2, 224, 224]`` (V = pairs x 3 crops).

    ``duration`` (seconds, default the frames' length) fixes how many 0.5 fps frames are used:
    ``int(0.5 * duration)``; fewer are used when the frames end earlier. At least 2 are needed.
    """
    available = frames.shape[0] / fps
    duration = available if duration is None else min(duration, available)
    wanted = int(VIDEO_FPS * duration + 1e-9)
    indices = ffmpeg_fps_indices(frames.shape[0], fps, VIDEO_FPS, limit=wanted)
    if len(indices) < 2:
        raise ValueError(f"ImageBind video needs 2 frames at {VIDEO_FPS} fps (>= 4 s); this clip gives {len(indices)}")
    sampled = normalise(resize_short_side(frames[indices], IMAGE_SIZE), CLIP_MEAN, CLIP_STD)  # [t, 3, H, W]
    crops = spatial_crops(sampled, IMAGE_SIZE)  # NUM_CROPS x [t, 3, 224, 224]
    views = [crop[i : i + 2].transpose(0, 1) for i in range(len(indices) - 1) for crop in crops]  # [3, 2, 224, 224]
    return torch.stack(views)


# ----------------------------------------------------------------------------------- audio clips
def clip_spans(num_samples: int, rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """Sample spans of the 3 evenly spaced 2 s clips (pytorchvideo ConstantClipsPerVideoSampler)."""
    duration = num_samples / rate
    max_start = Fraction(max(duration - CLIP_SECONDS, 0))
    step = Fraction(max_start, max(CLIPS_PER_AUDIO - 1, 1))
    spans = []
    for k in range(CLIPS_PER_AUDIO):
        start = step * k
        spans.append((int(start * rate), int((start + CLIP_SECONDS) * rate)))
    return spans


def kaldi_fbank_image(clip: torch.Tensor, rate: int = SAMPLE_RATE) -> torch.Tensor:
    """``[1, n]`` -> ``[1, 128, 204]``: kaldi fbank, frames padded with zeros or cut to 204."""
    import torchaudio

    fbank = torchaudio.compliance.kaldi.fbank(
        clip,
        htk_compat=True,
        sample_frequency=rate,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=MEL_BINS,
        dither=0.0,
        frame_length=25,
        frame_shift=10,
    ).transpose(0, 1)
    missing = TARGET_FRAMES - fbank.shape[1]
    fbank = torch.nn.functional.pad(fbank, (0, missing)) if missing > 0 else fbank[:, :TARGET_FRAMES]
    return fbank.unsqueeze(0)


def imagebind_audio_clips(audio: torch.Tensor) -> torch.Tensor:
    """Mono 16 kHz ``[N]`` -> normalised fbank images ``[3, 1, 128, 204]``."""
    wave = audio.detach().reshape(1, -1).float().clone()
    if wave.shape[1] < MIN_SAMPLES:
        raise ValueError(f"ImageBind audio needs at least {MIN_SAMPLES} samples at 16 kHz; got {wave.shape[1]}")
    images = []
    for start, end in clip_spans(wave.shape[1]):
        clip = wave[:, start:end]  # a view: the in-place mean removal reaches overlapping clips
        clip -= clip.mean()
        images.append(kaldi_fbank_image(clip))
    return (torch.stack(images) - FBANK_MEAN) / FBANK_STD


# ----------------------------------------------------------------------------------- backbone
def load_imagebind_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, ValueError):  # not a zip-format file: mmap unsupported
        return torch.load(path, map_location="cpu", weights_only=True)


class ImageBindBackbone(AudioBackbone):
    """ImageBind huge: :meth:`embed_video` (reference frames) and :meth:`embed_audio` (generated)."""

    id = "imagebind"
    sample_rate = SAMPLE_RATE
    embedding_dim = EMBEDDING_DIM
    num_classes = None
    frame_level = False
    weights_name = WEIGHTS_NAME

    def __init__(
        self,
        *,
        random_init: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
        config: ImageBindConfig | None = None,
        batch_size: int = 9,
        **sizes: int,
    ) -> None:
        """``sizes`` (e.g. ``vision_depth=1, vision_dim=64``) reduce the towers; random weights only."""
        self.device = torch.device(device)
        self.random_init = random_init
        self.seed = seed
        self.batch_size = batch_size
        self.config = (config or ImageBindConfig.huge()).reduced(**sizes)
        self.embedding_dim = self.config.out_dim
        built = build_network(lambda: ImageBindTowers(self.config), random_init=random_init, seed=seed,
                              full_size=self.config == ImageBindConfig.huge(), weights_name=WEIGHTS_NAME, initialise=lambda n: n.init_random(),
                              load_state=load_imagebind_state, split=split_checkpoint)
        towers, self._sha256, self.unused_keys = built.net, built.sha256, built.unused_keys
        self.towers = towers.to(self.device).eval()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    def _batched(self, fn, inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[no-untyped-def]
        outs = [fn(inputs[i : i + self.batch_size].to(self.device)).float().cpu() for i in range(0, inputs.shape[0], self.batch_size)]
        return torch.cat(outs)

    @torch.inference_mode()
    def embed_video(self, frames: torch.Tensor, fps: float, duration: float | None = None) -> torch.Tensor:
        """Reference frames uint8 ``[T, 3, H, W]`` at ``fps`` -> ``[out_dim]`` (mean of view embeddings)."""
        views = imagebind_video_views(frames, fps, duration)
        return self._batched(self.towers.embed_vision, views).mean(dim=0)

    @torch.inference_mode()
    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz ``[N]`` -> ``[out_dim]`` (mean over the 3 clips)."""
        clips = imagebind_audio_clips(audio)
        return self._batched(self.towers.embed_audio, clips).mean(dim=0)

    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        return BackboneOutput(self.embed_audio(audio).reshape(1, -1))

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "video": f"ffmpeg fps {VIDEO_FPS}, short side {IMAGE_SIZE} bicubic, CLIP mean/std, {NUM_CROPS} crops, 2-frame pairs, mean of normalised views",
            "audio": f"{CLIPS_PER_AUDIO} x {CLIP_SECONDS} s clips evenly spaced, kaldi fbank {MEL_BINS} 25/10 ms, {TARGET_FRAMES} frames, ({FBANK_MEAN}, {FBANK_STD})",
            **({"random_init_seed": self.seed, "config": repr(self.config)} if self.random_init else {}),
        }
