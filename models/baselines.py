"""Baseline generators: the ceiling (``ground-truth``), the codec ceilings (``ground-truth-synth-rvq``,
``ground-truth-synth-latent``), two floors (``silence``, ``noise``) and an honest retrieval floor
(``retrieval``).

A codec ceiling is the reference audio after one round trip through a shipped codec,
``decode(encode(x))``: the best a model generating that codec's tokens or latents could score, so a
model's distance to the ground truth splits into codec error (ceiling vs ground truth) and model error
(model vs ceiling). Its checkpoint sha256 is the codec's.

``retrieval`` returns the audio of the nearest *train* clip of the same dataset by a simple visual
descriptor (until learned encoders exist): frames at 25 fps are shrunk to 8x8 RGB (area average) and
described by (a) the mean thumbnail over time, (b) the per-pixel standard deviation over time and
(c) a 16-bin motion profile (mean absolute frame difference, resampled over the clip). Each part is
L2-normalised; the descriptor is their concatenation and neighbours are ranked by cosine similarity.
The index is built once per train split (keyed by its ground-truth hash) and cached atomically.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from v2abench import media, paths
from v2abench.interface import GenerationOutput, GeneratorMeta, Task, V2ABatch, check_task, clip_rng

log = logging.getLogger(__name__)
RATE = 16_000
ALL_AUDIO_TASKS = (Task.VTA, Task.TTA, Task.TC_VTA, Task.AC_VTA, Task.FE, Task.EDIT)


def _fit(audio: torch.Tensor, n: int) -> torch.Tensor:
    """Trim or zero-pad the last axis to ``n`` samples."""
    return audio[..., :n] if audio.shape[-1] >= n else F.pad(audio, (0, n - audio.shape[-1]))


class _Baseline:
    meta: GeneratorMeta

    def _length(self, duration: float) -> int:
        return int(round(duration * self.meta.sample_rate))


def _reference(batch: V2ABatch, rate: int, n: int, who: str) -> torch.Tensor:
    """The batch's reference audio ``[B, 1, n]`` at ``rate``."""
    if batch.reference_audio is None or batch.sample_rate is None:
        raise ValueError(f"{who} needs the batch's reference audio")
    audio = batch.reference_audio.float()
    if batch.sample_rate != rate:
        import torchaudio.functional as AF

        audio = AF.resample(audio, batch.sample_rate, rate)
    return _fit(audio, n)


class GroundTruth(_Baseline):
    """Returns the reference audio of each clip: the ceiling every metric should rank first."""

    def __init__(self, ckpt: str | None = None) -> None:
        self.meta = GeneratorMeta("ground-truth", "reference", "1", RATE, 60.0, ALL_AUDIO_TASKS, description="reference audio")

    def generate(self, batch: V2ABatch, *, task: Task = Task.VTA, duration: float, seed: int, steps: int | None = None, cfg_scale: float | None = None) -> GenerationOutput:
        check_task(self.meta, task)
        start = time.perf_counter()
        audio = _reference(batch, RATE, self._length(duration), self.meta.name)
        return GenerationOutput(audio, RATE, seconds=time.perf_counter() - start)


class GroundTruthThroughCodec(_Baseline):
    """The reference audio after a round trip through the codec ``CODEC`` (module docstring).

    ``ckpt``: the codec's weights (an exported run or its .safetensors); default the shipped asset.
    """

    CODEC = ""
    DESCRIPTION = {"paradigm": "reference", "version": "1", "tasks": ALL_AUDIO_TASKS}  # `v2abench models` loads no weights

    def __init__(self, ckpt: str | None = None) -> None:
        from v2abench.registry import REGISTRY

        self.codec = REGISTRY.build(self.CODEC, "codec", path=ckpt)
        sha = self.codec.weights_sha256
        self.meta = GeneratorMeta(f"ground-truth-{self.CODEC}", "reference", "1", self.codec.sample_rate, 60.0, ALL_AUDIO_TASKS,
                                  checkpoint_sha256=sha, networks={"codec": sha}, description=f"reference audio after a {self.CODEC} round trip")

    @torch.no_grad()
    def generate(self, batch: V2ABatch, *, task: Task = Task.VTA, duration: float, seed: int, steps: int | None = None, cfg_scale: float | None = None) -> GenerationOutput:
        from v2abench.codecs.synth import roundtrip

        check_task(self.meta, task)
        start = time.perf_counter()
        audio = roundtrip(self.codec, _reference(batch, self.meta.sample_rate, self._length(duration), self.meta.name))
        return GenerationOutput(audio.clamp(-1, 1), self.meta.sample_rate, seconds=time.perf_counter() - start)


class GroundTruthSynthRVQ(GroundTruthThroughCodec):
    """The ceiling of a model generating synth-rvq tokens."""

    CODEC = "synth-rvq"


class GroundTruthSynthLatent(GroundTruthThroughCodec):
    """The ceiling of a model generating synth-latent latents."""

    CODEC = "synth-latent"


class Silence(_Baseline):
    """All-zero audio."""

    def __init__(self, ckpt: str | None = None) -> None:
        self.meta = GeneratorMeta("silence", "baseline", "1", RATE, 60.0, ALL_AUDIO_TASKS, description="zeros")

    def generate(self, batch: V2ABatch, *, task: Task = Task.VTA, duration: float, seed: int, steps: int | None = None, cfg_scale: float | None = None) -> GenerationOutput:
        check_task(self.meta, task)
        start = time.perf_counter()
        audio = torch.zeros(len(batch), 1, self._length(duration))
        return GenerationOutput(audio, RATE, seconds=time.perf_counter() - start)


class Noise(_Baseline):
    """White Gaussian noise with standard deviation 0.1 (about -20 dBFS), drawn per clip."""

    STD = 0.1

    def __init__(self, ckpt: str | None = None) -> None:
        self.meta = GeneratorMeta("noise", "baseline", "1", RATE, 60.0, ALL_AUDIO_TASKS, description="white noise, std 0.1")

    def generate(self, batch: V2ABatch, *, task: Task = Task.VTA, duration: float, seed: int, steps: int | None = None, cfg_scale: float | None = None) -> GenerationOutput:
        check_task(self.meta, task)
        start = time.perf_counter()
        n = self._length(duration)
        rows = [torch.randn(1, n, generator=clip_rng(seed, cid)) * self.STD for cid in batch.ids]
        return GenerationOutput(torch.stack(rows), RATE, seconds=time.perf_counter() - start)


def visual_descriptor(frames: torch.Tensor) -> torch.Tensor:
    """The retrieval descriptor of uint8 frames ``[T, 3, H, W]`` (see the module docstring)."""
    x = frames.float().div(255.0)
    thumbs = F.adaptive_avg_pool2d(x, 8)  # [T, 3, 8, 8]
    mean = thumbs.mean(0).flatten()
    std = thumbs.std(0, unbiased=False).flatten() if thumbs.shape[0] > 1 else torch.zeros_like(mean)
    diff = (thumbs[1:] - thumbs[:-1]).abs().mean(dim=(1, 2, 3)) if thumbs.shape[0] > 1 else torch.zeros(1)
    motion = F.interpolate(diff.view(1, 1, -1), size=16, mode="linear", align_corners=True).flatten()
    return torch.cat([F.normalize(p, dim=0) for p in (mean, std, motion)])


class Retrieval(_Baseline):
    """Audio of the nearest train clip by :func:`visual_descriptor` (cosine)."""

    FPS = 25.0

    def __init__(self, ckpt: str | None = None) -> None:
        self._meta_base = GeneratorMeta("retrieval", "baseline", "1", RATE, 60.0, (Task.VTA,), description="nearest train clip")
        self.meta = self._meta_base
        self.index_ids: list[str] = []
        self.index_videos: list[Path] = []
        self.index: torch.Tensor | None = None
        self._audio: dict[str, torch.Tensor] = {}

    def prepare(self, split: "SplitSpec") -> None:  # noqa: F821 (runtime import below)
        """Build (or load) the index of the train split of ``split``'s dataset."""
        from dataclasses import replace

        from v2abench.data.splits import load_split

        train = load_split(split.sibling("train"))
        cache = paths.cache_dir() / "retrieval" / train.ground_truth_sha256 / "index.pt"
        if cache.is_file():
            state = torch.load(cache, weights_only=True)
            ids, desc = list(state["ids"]), state["descriptors"]
        else:
            from rich.progress import track

            ids, rows = [], []
            for clip in track(train.clips, description=f"retrieval index ({train.spec.name})", transient=True):
                try:
                    frames = media.decode_clip(clip.video, fps=self.FPS, audio=False).frames
                except media.MediaError as err:
                    log.warning("retrieval index skips %s: %s", clip.id, err)
                    continue
                ids.append(clip.id)
                rows.append(visual_descriptor(frames))
            desc = torch.stack(rows)
            from v2abench.atomic import atomic_path

            with atomic_path(cache) as tmp:
                torch.save({"ids": ids, "descriptors": desc}, tmp)
        videos = {c.id: c.video for c in train.clips}
        self.index_ids, self.index, self.index_videos = ids, desc, [videos[i] for i in ids]
        self.meta = replace(self._meta_base, checkpoint_sha256=train.ground_truth_sha256)

    def neighbour(self, frames: torch.Tensor) -> int:
        assert self.index is not None
        return int(torch.argmax(self.index @ visual_descriptor(frames)))

    def generate(self, batch: V2ABatch, *, task: Task = Task.VTA, duration: float, seed: int, steps: int | None = None, cfg_scale: float | None = None) -> GenerationOutput:
        check_task(self.meta, task)
        if self.index is None:
            raise RuntimeError("retrieval has no index: call prepare(split) first (the eval runner does)")
        if batch.frames is None:
            raise ValueError("retrieval needs the batch's frames")
        start = time.perf_counter()
        n = self._length(duration)
        out, chosen = [], []
        for frames in batch.frames:
            j = self.neighbour(frames)
            cid = self.index_ids[j]
            chosen.append(cid)
            if cid not in self._audio:
                audio, _ = media.decode_audio(self.index_videos[j], sample_rate=RATE)
                self._audio[cid] = audio.mean(0, keepdim=True)
            out.append(_fit(self._audio[cid], n))
        return GenerationOutput(torch.stack(out), RATE, seconds=time.perf_counter() - start, extra={"neighbours": chosen})
