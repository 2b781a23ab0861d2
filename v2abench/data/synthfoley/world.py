"""The SynthFoley world: a clip (frames, audio, ground-truth row) from (seed, split, index).

``render_clip`` is pure and in memory; :mod:`.generate` writes what it returns to disk::

    clip_scene(seed, split, index) ───┬─ render_frames ──> frames  uint8  [T, 112, 112, 3]
                                      ├─ render_audio  ──> audio   float32 [N]      (+ event peaks)
                                      ├─ captions      ──> caption, adverbs (, text for test-tc)
                                      └─ task targets  ──> extra_audio: reference_audio, style_audio

Task splits (their reference track is the target the task asks for):

- test-tc: ``text`` is the caption with the main object's material replaced; the reference is the
  soundtrack rendered with that material on the same events (ambience and other objects kept).
- test-ac: ``style_audio`` is a 2 s clip of an object of another material doing the same action on
  its own events; the reference renders that material (and that object's size) on the seen events.
- test-fe: the first ``prefix_seconds`` (1.5 s) of the true track are given (the mp4's audio); the
  reference is the true continuation, ``audio[1.5 s:]`` (2.5 s), stored losslessly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import captions
from .render import ObjectTrack, render_frames
from .scene import Scene, reference_objects, sample_scene
from .sound import HEADROOM, object_track, onset_rise, render_audio
from .spec import (
    DURATION,
    FPS,
    PREFIX_SECONDS,
    SAMPLE_RATE,
    SCALES,
    SIZE,
    STYLE_SECONDS,
    check_scale,
    check_split,
    clip_id,
    stable_rng,
)

MIN_ONSET_RISE = 2.5
"""Scenes are drawn so that every onset rises at least this much in the clean mix (and in the
task reference mix): see :func:`audibility` and :func:`.sound.onset_rise`."""


@dataclass
class RenderedClip:
    """One clip in memory.

    ``frames`` uint8 ``[T, H, W, 3]`` (empty ``[0, H, W, 3]`` when rendered without video),
    ``audio`` float32 ``[N]`` in [-1, 1], ``row`` the manifest row without ``sha256``,
    ``extra_audio`` the lossless tracks named by the row (``reference_audio``, ``style_audio``),
    ``tracks`` where each object's events show in the frames (for checks and visualisation).
    """

    frames: np.ndarray
    audio: np.ndarray
    row: dict[str, Any]
    extra_audio: dict[str, np.ndarray] = field(default_factory=dict)
    tracks: list[ObjectTrack] = field(default_factory=list)


def _stem(split: str, index: int) -> str:
    return f"{split}/{index:05d}"


def _events(scene: Scene, peaks: list[list[float]]) -> list[dict[str, Any]]:
    rows = [
        {"object": j, "class": obj.cls.name, "onset": round(ev.time, 4), "peak": round(float(p), 4)}
        for j, (obj, obj_peaks) in enumerate(zip(scene.objects, peaks))
        for ev, p in zip(obj.motion.events, obj_peaks)
    ]
    return sorted(rows, key=lambda e: (e["onset"], e["object"]))


def render_scene_clip(scene: Scene, *, video: bool = True) -> RenderedClip:
    """Render a sampled scene: frames, soundtrack, ground-truth row and task tracks."""
    split, index = scene.split, scene.index
    audio, peaks = render_audio(scene)
    if video:
        frames, tracks = render_frames(scene)
    else:
        frames, tracks = np.zeros((0, SIZE, SIZE, 3), dtype=np.uint8), []
    labels = {obj.cls.name for obj in scene.objects} | ({scene.ambience} if scene.ambience else set())
    row: dict[str, Any] = {
        "id": clip_id(split, index),
        "split": split,
        "index": index,
        "video": f"{_stem(split, index)}.mp4",
        "duration": DURATION,
        "fps": FPS,
        "sample_rate": SAMPLE_RATE,
        "labels": sorted(labels),
        "events": _events(scene, peaks),
        "caption": captions.caption(scene),
        "adverbs": captions.adverbs(scene),
        "reference_audio": None,
        "text": None,
        "style_audio": None,
        "prefix_seconds": None,
    }
    extra: dict[str, np.ndarray] = {}
    swapped = reference_objects(scene)
    if swapped is not None:
        extra["reference_audio"], _ = render_audio(scene, swapped)
    if split == "test-tc" and swapped is not None:
        row["text"] = captions.caption(scene, swapped)
    elif split == "test-ac" and scene.style is not None:
        key = (scene.seed, split, index)
        n_style = round(STYLE_SECONDS * SAMPLE_RATE)
        style_audio, _ = object_track(scene.style, stable_rng(*key, "style-sound"), stable_rng(*key, "style-reverb"),
                                      n_style)
        top = float(np.max(np.abs(style_audio)))
        extra["style_audio"] = (style_audio * (HEADROOM / top if top > HEADROOM else 1.0)).astype(np.float32)
        row["style_audio"] = f"{_stem(split, index)}.style.flac"
    elif split == "test-fe":
        extra["reference_audio"] = audio[round(PREFIX_SECONDS * SAMPLE_RATE):].copy()
        row["prefix_seconds"] = PREFIX_SECONDS
    if "reference_audio" in extra:
        row["reference_audio"] = f"{_stem(split, index)}.reference.flac"
    return RenderedClip(frames, audio, row, extra, tracks)


def audibility(scene: Scene) -> float:
    """The smallest :func:`.sound.onset_rise` over all events, in the mix and the task reference."""
    mixes = [render_audio(scene)[0]]
    swapped = reference_objects(scene)
    if swapped is not None:
        mixes.append(render_audio(scene, swapped)[0])
    onsets = [ev.time for obj in scene.objects for ev in obj.motion.events]
    return min((onset_rise(mix, t) for mix in mixes for t in onsets), default=float("inf"))


def clip_scene(seed: int, split: str, index: int) -> Scene:
    """The scene of a clip: :func:`.scene.sample_scene` keeping candidates whose onsets are audible."""
    return sample_scene(seed, split, index, score=audibility, accept_at=MIN_ONSET_RISE)


def render_clip(seed: int, split: str, index: int, *, video: bool = True) -> RenderedClip:
    """Clip ``index`` of ``split`` in the world of ``seed`` (any index; no scale involved)."""
    return render_scene_clip(clip_scene(seed, split, index), video=video)


class SynthFoleyWorld:
    """A SynthFoley world: a seed and a scale (how many clips each split holds).

    >>> world = SynthFoleyWorld(seed=0, scale="tiny")
    >>> world.splits["test"]
    12
    >>> clip = world.render_clip("test", 3)       # frames, audio, row, extra_audio, tracks
    """

    def __init__(self, seed: int = 0, scale: str = "tiny") -> None:
        check_scale(scale)
        self.seed = int(seed)
        self.scale = scale
        self.splits: dict[str, int] = dict(SCALES[scale])

    def __repr__(self) -> str:
        return f"SynthFoleyWorld(seed={self.seed}, scale={self.scale!r})"

    def _check(self, split: str, index: int) -> None:
        check_split(split)
        if not 0 <= index < self.splits[split]:
            raise IndexError(f"{split} has {self.splits[split]} clips at scale {self.scale!r}; no index {index}")

    def clips(self) -> list[tuple[str, int]]:
        """Every ``(split, index)`` of the world, in manifest order."""
        return [(split, i) for split, count in self.splits.items() for i in range(count)]

    def scene(self, split: str, index: int) -> Scene:
        """The sampled scene of a clip (objects, motion, ambience), before rendering."""
        self._check(split, index)
        return clip_scene(self.seed, split, index)

    def render_clip(self, split: str, index: int, *, video: bool = True) -> RenderedClip:
        """Render clip ``index`` of ``split`` in memory (pure: same inputs, same arrays).

        With ``video=False`` only the audio, the row and the task tracks are made (faster).
        """
        self._check(split, index)
        return render_clip(self.seed, split, index, video=video)
