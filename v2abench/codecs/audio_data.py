"""SynthFoley (or any prepared split's) audio as random fixed-length crops, for codec training.

Every clip of the split is decoded once (PyAV, mono, at the codec's sample rate) and the whole split
is cached as one int16 tensor ``[clips, samples]`` in a :class:`FeatureCache` keyed by the split's
ground-truth sha256 and the decoding settings, so a later run loads it in a second. (int16 keeps the
cache at half the size; its quantisation noise, -96 dBFS, is far below the AAC coding noise.)

Crops are seeded: item ``i`` of the dataset draws its clip and offset from
``numpy.random.default_rng([seed, i])``, so the stream of batches depends on nothing but the seed
(not on workers, timing or the process). One epoch holds ``max_steps · batch_size`` items, so a
fixed-step run sees each item once.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from torch.utils.data import DataLoader, Dataset

from v2abench.data.feature_cache import FeatureCache
from v2abench.data.splits import SplitData, load_split
from v2abench.media import decode_audio

log = logging.getLogger(__name__)

_CACHE_VERSION = 1
_INT16_SCALE = 32767.0


def decode_split_audio(split: SplitData, sample_rate: int, progress: bool = True) -> dict[str, Any]:
    """``{"ids": [...], "audio": int16 [clips, N], "lengths": int64 [clips]}`` of every clip's track.

    A clip's ``reference_audio`` is used when it has one, else its video's own audio track. Clips
    shorter than the longest are zero-padded at the end (``lengths`` holds the true lengths).
    """
    waves: list[torch.Tensor] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task(f"decoding {split.spec.name} audio", total=len(split.clips))
        for clip in split.clips:
            source = clip.reference_audio or clip.video
            audio, _ = decode_audio(source, sample_rate=sample_rate)
            waves.append(torch.as_tensor(audio, dtype=torch.float32).reshape(-1))
            bar.advance(task)
    lengths = torch.tensor([w.numel() for w in waves], dtype=torch.int64)
    out = torch.zeros(len(waves), int(lengths.max()), dtype=torch.int16)
    for i, w in enumerate(waves):
        out[i, : w.numel()] = torch.round(w.clamp(-1.0, 1.0) * _INT16_SCALE).to(torch.int16)
    return {"ids": [c.id for c in split.clips], "audio": out, "lengths": lengths}


def load_split_audio(split_name: str, sample_rate: int = 16_000, progress: bool = True) -> dict[str, Any]:
    """The split's waveforms (see :func:`decode_split_audio`), decoded once and then read from the cache."""
    split = load_split(split_name)
    cache = FeatureCache("split-audio", None, {"sample_rate": sample_rate, "mono": True, "dtype": "int16",
                                               "version": _CACHE_VERSION})
    def decode() -> dict[str, Any]:
        log.info("decoding the audio of %d clips of %s (once; cached)", len(split.clips), split_name)
        return decode_split_audio(split, sample_rate, progress)

    return cache.get_or_compute(split.ground_truth_sha256, decode)


def to_float(audio: torch.Tensor) -> torch.Tensor:
    """int16 cache samples -> float32 in [-1, 1]."""
    return audio.float() / _INT16_SCALE


class RandomCrops(Dataset[torch.Tensor]):
    """``length`` seeded random crops ``[1, segment]`` (float32) of a split's waveforms."""

    def __init__(self, audio: torch.Tensor, lengths: torch.Tensor, segment: int, length: int, seed: int = 0) -> None:
        self.audio, self.lengths = audio, lengths
        self.segment, self.length, self.seed = segment, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, index])
        clip = int(rng.integers(len(self.audio)))
        span = int(self.lengths[clip])
        start = int(rng.integers(0, max(span - self.segment, 0) + 1))
        crop = to_float(self.audio[clip, start : start + self.segment])
        if crop.numel() < self.segment:  # clip shorter than the segment: zero-pad
            crop = torch.nn.functional.pad(crop, (0, self.segment - crop.numel()))
        return crop.unsqueeze(0)


class SplitAudioDataModule(L.LightningDataModule):
    """Random crops of ``segment_seconds`` from a split, ``batch_size`` per batch, ``num_workers=0``.

    ``steps`` batches make one epoch (the run's ``max_steps``); ``seed`` fixes the crops.
    """

    def __init__(self, split: str, *, sample_rate: int = 16_000, segment_seconds: float = 2.0, batch_size: int = 16,
                 steps: int = 1000, seed: int = 0, progress: bool = True) -> None:
        super().__init__()
        self.split, self.sample_rate = split, sample_rate
        self.segment = round(segment_seconds * sample_rate)
        self.batch_size, self.steps, self.seed, self.progress = batch_size, steps, seed, progress
        self.data: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], progress: bool = True) -> SplitAudioDataModule:
        data = config.get("data", {})
        return cls(
            data.get("split", "synthfoley-train"),
            sample_rate=int(config.get("model", {}).get("sample_rate", 16_000)),
            segment_seconds=float(data.get("segment_seconds", 2.0)),
            batch_size=int(data.get("batch_size", 16)),
            steps=int(config.get("trainer", {}).get("max_steps", 1000)),
            seed=int(config.get("seed", 0)),
            progress=progress,
        )

    def setup(self, stage: str | None = None) -> None:
        if self.data is None:
            self.data = load_split_audio(self.split, self.sample_rate, self.progress)

    def waveforms(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every clip of the split as float32 ``[clips, N]`` and its true lengths."""
        self.setup()
        assert self.data is not None
        return to_float(self.data["audio"]), self.data["lengths"]

    def train_dataloader(self) -> DataLoader[torch.Tensor]:
        self.setup()
        assert self.data is not None
        crops = RandomCrops(self.data["audio"], self.data["lengths"], self.segment, self.steps * self.batch_size, self.seed)
        return DataLoader(crops, batch_size=self.batch_size, shuffle=False, num_workers=0, drop_last=True)
