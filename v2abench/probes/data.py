"""Training data of the SynthFoley probe: the ``probe`` split, decoded once and cached.

Every clip of the split is decoded once (one PyAV demux pass: frames at 25 fps, mono audio at
16 kHz) into what the probe reads -- int16 audio ``[clips, samples]``, the 32x32 timing frames
``[clips, T, 3, 32, 32]`` (uint8, made by :func:`~v2abench.probes.synthprobe.lowres_frames`, the
same function the metrics use), ``TRAIN_KEY_FRAMES`` evenly spaced full-size frames per clip, the
soft class targets (uniform over the clip's on-screen classes), the ambience targets and the
captions -- and the whole split is stored in a :class:`FeatureCache` keyed by the split's
ground-truth sha256 and these settings.

An item (seeded by ``numpy.random.default_rng([seed, i])``; the clip order is a seeded permutation
per epoch of whole batches, so a batch never holds a clip twice) is one clip with

- a random offset ``k`` (uniform over the ``num_offsets`` grid) and a window of ``window_seconds``:
  video frames ``[t0, t0 + W)``, the *aligned* audio of the same span and the *shifted* audio
  ``[t0 + k*step, t0 + k*step + W)``, with ``t0`` drawn among the frame times where both spans lie
  inside the clip. Shifts are real crops of the clip: nothing is wrapped around or padded, so the
  only cue to the offset is audio-visual correspondence (no seam, no leading silence);
- the target offset index of the shifted pair, ``centre - k`` (the shifted audio *leads* the video
  by ``k*step`` seconds, i.e. its offset is ``-k*step``: positive offsets are late audio);
- ``train_key_frames`` appearance frames drawn from the cached ones, the caption's token ids.

With ``augment`` (synthprobe v2; see :mod:`v2abench.probes.augment`) an item also holds a
*positive*: an aligned window of the same span from a random source (pristine, a codec round trip,
or another material on the same events; ``augment["sources"]`` gives the probabilities), cropped
with up to +-40 ms jitter, with random EQ/gain and 20-30 dB SNR noise; ``positive_same_class`` says
whether it keeps the clip's classes (every source but ``material``). The *shifted* window is then
drawn the same way (its own source and augmentations), so that degraded audio is seen at every
offset and "degraded" is no cue to "aligned".
"""

from __future__ import annotations

import logging
import math
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
from v2abench.data.synthfoley.spec import AMBIENCES, CLASS_NAMES
from v2abench.media import decode_clip
from v2abench.probes.augment import augment_window, jitter_samples, pick_source
from v2abench.probes.synthprobe import (
    SynthProbeConfig,
    encode_text,
    key_frame_indices,
    lowres_frames,
)

log = logging.getLogger(__name__)

_CACHE_VERSION = 1
_INT16 = 32767.0
TRAIN_KEY_FRAMES = 8
"""Full-size frames cached per clip; training draws ``train_key_frames`` of them per item."""


def class_targets(labels: tuple[str, ...] | list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(soft target over the 12 on-screen classes, multi-hot ambience target) of a clip's labels."""
    on_screen = [CLASS_NAMES.index(lb) for lb in labels if lb in CLASS_NAMES]
    cls = torch.zeros(len(CLASS_NAMES))
    if on_screen:
        cls[on_screen] = 1.0 / len(on_screen)
    else:
        cls[:] = 1.0 / len(CLASS_NAMES)
    amb = torch.tensor([1.0 if a in labels else 0.0 for a in AMBIENCES])
    return cls, amb


def decode_probe_split(split: SplitData, cfg: SynthProbeConfig, progress: bool = True) -> dict[str, Any]:
    """Decode every clip of ``split`` into the probe's training tensors (see the module docstring)."""
    durations = [c.duration for c in split.clips]
    n_samples = round(max(durations) * cfg.sample_rate)
    n_frames = round(max(durations) * cfg.fps)
    n = len(split.clips)
    audio = torch.zeros(n, n_samples, dtype=torch.int16)
    lowres = torch.zeros(n, n_frames, 3, cfg.frame_size, cfg.frame_size, dtype=torch.uint8)
    keys = torch.zeros(n, TRAIN_KEY_FRAMES, 3, cfg.key_size, cfg.key_size, dtype=torch.uint8)
    classes = torch.zeros(n, cfg.num_classes)
    ambience = torch.zeros(n, cfg.num_ambience)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task(f"decoding {split.spec.name}", total=n)
        for i, clip in enumerate(split.clips):
            decoded = decode_clip(clip.video, fps=cfg.fps, sample_rate=cfg.sample_rate)
            assert decoded.frames is not None and decoded.audio is not None
            frames = decoded.frames
            if frames.shape[-1] != cfg.key_size or frames.shape[-2] != cfg.key_size:
                frames = torch.nn.functional.interpolate(frames.float(), size=(cfg.key_size, cfg.key_size), mode="bilinear",
                                                         antialias=True).round().clamp(0, 255).to(torch.uint8)
            frames = frames[:n_frames]
            if frames.shape[0] < n_frames:  # hold the last frame
                frames = torch.cat([frames, frames[-1:].expand(n_frames - frames.shape[0], -1, -1, -1)])
            lowres[i] = lowres_frames(frames, cfg.frame_size)
            keys[i] = frames[key_frame_indices(n_frames, TRAIN_KEY_FRAMES)]
            wav = decoded.audio.mean(0)[:n_samples]
            wav = wav - wav.mean()
            audio[i, : wav.numel()] = torch.round(wav.clamp(-1, 1) * _INT16).to(torch.int16)
            classes[i], ambience[i] = class_targets(clip.labels)
            bar.advance(task)
    return {"ids": [c.id for c in split.clips], "audio": audio, "lowres": lowres, "keys": keys,
            "classes": classes, "ambience": ambience, "captions": [c.caption or "" for c in split.clips]}


def load_probe_data(split_name: str, cfg: SynthProbeConfig, progress: bool = True) -> dict[str, Any]:
    """:func:`decode_probe_split` of a split, decoded once and then read from the feature cache."""
    split = load_split(split_name)
    settings = {"sample_rate": cfg.sample_rate, "fps": cfg.fps, "frame_size": cfg.frame_size, "key_size": cfg.key_size,
                "key_frames": TRAIN_KEY_FRAMES, "dc_removed": True, "version": _CACHE_VERSION}
    cache = FeatureCache("synthprobe-split", None, settings)
    def decode() -> Any:
        log.info("decoding %d clips of %s for the probe (once; cached)", len(split.clips), split_name)
        return decode_probe_split(split, cfg, progress)

    return cache.get_or_compute(split.ground_truth_sha256, decode)


class ProbeWindows(Dataset[dict[str, torch.Tensor]]):
    """``length`` seeded training items (see the module docstring) from :func:`load_probe_data` output."""

    def __init__(self, data: dict[str, Any], cfg: SynthProbeConfig, *, window_seconds: float, length: int,
                 train_key_frames: int = 3, batch_size: int = 1, seed: int = 0,
                 augment: dict[str, Any] | None = None, variants: dict[str, torch.Tensor] | None = None) -> None:
        self.data, self.cfg = data, cfg
        self.augment, self.variants = augment, variants
        if augment is not None and variants is None:
            raise ValueError("augmented windows need the split's variants (load_probe_variants)")
        self.window, self.length, self.seed = window_seconds, length, seed
        self.train_key_frames = train_key_frames
        self.n = len(data["ids"])
        # clips per epoch: whole batches only, so that no batch holds a clip twice
        self.per_epoch = (self.n // batch_size) * batch_size if self.n >= batch_size else self.n
        self.n_frames = data["lowres"].shape[1]
        self.clip_seconds = self.n_frames / cfg.fps
        self.win_frames = round(window_seconds * cfg.fps)
        self.win_samples = round(window_seconds * cfg.sample_rate)
        self.samples_per_frame = cfg.sample_rate // cfg.fps
        self.half = cfg.num_offsets // 2
        if abs(window_seconds * cfg.fps - self.win_frames) > 1e-6:
            raise ValueError(f"window_seconds {window_seconds} is not a whole number of frames")
        if window_seconds + cfg.max_offset > self.clip_seconds + 1e-9:
            raise ValueError(f"window {window_seconds} s + max offset {cfg.max_offset} s exceed the {self.clip_seconds} s clips")
        self.tokens, self.lengths = encode_text(data["captions"], cfg.vocab, cfg.max_tokens)
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.length

    def _clip(self, index: int) -> int:
        epoch, pos = divmod(index, self.per_epoch)
        if epoch not in self._perms:
            self._perms[epoch] = np.random.default_rng([self.seed, epoch, 7]).permutation(self.n)
        return int(self._perms[epoch][pos])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        cfg, d = self.cfg, self.data
        clip = self._clip(index)
        rng = np.random.default_rng([self.seed, index])
        k = int(rng.integers(-self.half, self.half + 1))
        shift = k * cfg.offset_step
        lo = math.ceil(cfg.fps * max(0.0, -shift) - 1e-6)
        hi = math.floor(cfg.fps * (self.clip_seconds - self.window - max(0.0, shift)) + 1e-6)
        f0 = int(rng.integers(lo, hi + 1))
        a0 = f0 * self.samples_per_frame
        s0 = a0 + round(shift * cfg.sample_rate)
        audio = d["audio"][clip]
        keys = np.sort(rng.choice(d["keys"].shape[1], size=self.train_key_frames, replace=False))
        item = {
            "lowres": d["lowres"][clip, f0 : f0 + self.win_frames],
            "keys": d["keys"][clip, torch.from_numpy(keys)],
            "audio": audio[a0 : a0 + self.win_samples].float() / _INT16,
            "shifted": audio[s0 : s0 + self.win_samples].float() / _INT16,
            "offset": torch.tensor(self.half - k),
            "classes": d["classes"][clip],
            "ambience": d["ambience"][clip],
            "tokens": self.tokens[clip],
            "lengths": self.lengths[clip],
        }
        if self.augment is not None:
            source = pick_source(rng, self.augment["sources"], bool(self.variants["has_material"][clip]))  # type: ignore[index]
            item["positive"] = self._augmented(source, clip, a0, rng)
            item["positive_same_class"] = torch.tensor(source != "material")
            item["shifted"] = self._augmented(pick_source(rng, self.augment["sources"], bool(self.variants["has_material"][clip])),  # type: ignore[index]
                                              clip, s0, rng)
        return item

    def _augmented(self, source: str, clip: int, start: int, rng: np.random.Generator) -> torch.Tensor:
        """The window at ``start`` (+ jitter, kept inside the clip) of ``source``, EQ'd and noised."""
        assert self.augment is not None and self.variants is not None
        track = self.data["audio"][clip] if source == "pristine" else self.variants[source][clip]
        start = start + jitter_samples(rng, self.augment, self.cfg.sample_rate)
        start = min(max(start, 0), track.shape[0] - self.win_samples)
        return augment_window(track[start : start + self.win_samples].float() / _INT16, rng, self.augment)


class ProbeDataModule(L.LightningDataModule):
    """Batches of :class:`ProbeWindows` from the probe split; ``steps`` batches make one epoch."""

    def __init__(self, split: str, cfg: SynthProbeConfig, *, window_seconds: float = 3.0, batch_size: int = 16,
                 train_key_frames: int = 3, steps: int = 1000, seed: int = 0, progress: bool = True,
                 augment: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.split, self.cfg = split, cfg
        self.window_seconds, self.batch_size, self.train_key_frames = window_seconds, batch_size, train_key_frames
        self.steps, self.seed, self.progress, self.augment = steps, seed, progress, augment
        self.data: dict[str, Any] | None = None
        self.variants: dict[str, torch.Tensor] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.data is None:
            self.data = load_probe_data(self.split, self.cfg, self.progress)
        if self.augment is not None and self.variants is None:
            from v2abench.probes.augment import load_probe_variants

            self.variants = load_probe_variants(self.split, self.data["audio"])

    def dataset(self) -> ProbeWindows:
        self.setup()
        assert self.data is not None
        return ProbeWindows(self.data, self.cfg, window_seconds=self.window_seconds, length=self.steps * self.batch_size,
                            train_key_frames=self.train_key_frames, batch_size=self.batch_size, seed=self.seed,
                            augment=self.augment, variants=self.variants)

    def train_dataloader(self) -> DataLoader[dict[str, torch.Tensor]]:
        return DataLoader(self.dataset(), batch_size=self.batch_size, shuffle=False, num_workers=0, drop_last=True)
