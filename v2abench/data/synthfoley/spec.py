"""SynthFoley world constants: version, clip format, splits, scales and the sound classes.

Everything that identifies a SynthFoley world lives here, so a change to any of it is visibly a
change of the world (and must bump :data:`WORLD_VERSION`).

Identity of a clip::

    (WORLD_VERSION, seed, split, index) --sha256--> numpy Generator --> scene --> frames, audio

Nothing else (not the scale, not the number of workers, not Python's ``hash()``) enters a clip, so
the ``tiny`` world is a prefix of ``small``, which is a prefix of ``default``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

WORLD_NAME = "synthfoley"
WORLD_VERSION = "v1"

DURATION = 4.0
"""Clip length in seconds."""
FPS = 25
"""Video frame rate; frame ``k`` shows the world at time ``k / FPS``."""
SIZE = 112
"""Frame height and width in pixels."""
SAMPLE_RATE = 16_000
"""Audio sample rate (mono)."""
NUM_FRAMES = round(DURATION * FPS)
NUM_SAMPLES = round(DURATION * SAMPLE_RATE)

PREFIX_SECONDS = 1.5
"""test-fe: seconds of true audio given to the model; the reference is the rest of the track."""
STYLE_SECONDS = 2.0
"""test-ac: length of the style reference clip."""
MIN_EVENT_GAP = 0.1
"""Onsets of different events are kept at least this far apart (seconds) whenever possible."""

SPLITS: tuple[str, ...] = ("train", "val", "test", "probe", "test-tc", "test-ac", "test-fe")
"""All splits, in manifest order."""
TASK_SPLITS: tuple[str, ...] = ("test-tc", "test-ac", "test-fe")
"""Splits that carry a separate lossless reference track (the target of their task)."""

SCALES: dict[str, dict[str, int]] = {
    "tiny": {"train": 24, "val": 8, "test": 12, "probe": 24, "test-tc": 6, "test-ac": 6, "test-fe": 6},
    "small": {"train": 200, "val": 20, "test": 60, "probe": 100, "test-tc": 20, "test-ac": 20, "test-fe": 20},
    "default": {
        "train": 2000, "val": 200, "test": 300, "probe": 1000, "test-tc": 100, "test-ac": 100, "test-fe": 100,
    },
}


@dataclass(frozen=True)
class SoundClass:
    """An on-screen sound class: what is seen (``action``) and what it is made of (``material``)."""

    name: str
    action: str
    material: str


CLASSES: tuple[SoundClass, ...] = (
    SoundClass("metal-bounce", "bounce", "metal"),
    SoundClass("wood-bounce", "bounce", "wood"),
    SoundClass("glass-bounce", "bounce", "glass"),
    SoundClass("rubber-bounce", "bounce", "rubber"),
    SoundClass("metal-slide", "slide", "metal"),
    SoundClass("wood-slide", "slide", "wood"),
    SoundClass("rubber-slide", "slide", "rubber"),
    SoundClass("water-drip", "drip", "water"),
    SoundClass("blink-tone", "blink", "lamp"),
    SoundClass("fan-spin", "spin", "fan"),
    SoundClass("creature-chirp", "chirp", "bird"),
    SoundClass("creature-croak", "croak", "frog"),
)
"""The twelve on-screen classes. Clip ``i`` of a plain split has main class ``CLASSES[i % 12]``."""

CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
CLASS_BY_NAME: dict[str, SoundClass] = {c.name: c for c in CLASSES}

AMBIENCES: tuple[str, ...] = ("rain", "hum", "rumble")
"""Off-screen ambience classes (no visible source, lower level)."""
ALL_LABELS: tuple[str, ...] = CLASS_NAMES + AMBIENCES

SWAPPABLE_MATERIALS: dict[str, tuple[str, ...]] = {
    "bounce": ("metal", "wood", "glass", "rubber"),
    "slide": ("metal", "wood", "rubber"),
}
"""Actions whose material can be exchanged (test-tc / test-ac), and the materials they take."""

CONTROL_CLASSES: tuple[SoundClass, ...] = tuple(c for c in CLASSES if c.action in SWAPPABLE_MATERIALS)
"""Main classes of test-tc and test-ac clips (cycled by index like :data:`CLASSES`)."""


def class_for(action: str, material: str) -> SoundClass:
    """The class of ``action`` done by an object of ``material``."""
    for c in CLASSES:
        if c.action == action and c.material == material:
            return c
    raise KeyError(f"no SynthFoley class for action={action!r} material={material!r}")


def main_class(split: str, index: int) -> SoundClass:
    """The main (first) object's class of clip ``index`` of ``split``: a fixed cycle, so balanced."""
    pool = CONTROL_CLASSES if split in ("test-tc", "test-ac") else CLASSES
    return pool[index % len(pool)]


def clip_id(split: str, index: int) -> str:
    """Stable clip id, the same at every scale: ``synthfoley-<split>-<index:05d>``."""
    check_split(split)
    return f"{WORLD_NAME}-{split}-{index:05d}"


def split_id(split: str, scale: str = "default") -> str:
    """Board-facing split id: ``synthfoley-test`` at the default scale, ``synthfoley-tiny-test`` else."""
    check_split(split)
    check_scale(scale)
    return f"{WORLD_NAME}-{split}" if scale == "default" else f"{WORLD_NAME}-{scale}-{split}"


def check_split(split: str) -> None:
    """Raise ``ValueError`` unless ``split`` is a SynthFoley split."""
    if split not in SPLITS:
        raise ValueError(f"unknown SynthFoley split {split!r}; expected one of {', '.join(SPLITS)}")


def check_scale(scale: str) -> None:
    """Raise ``ValueError`` unless ``scale`` is a SynthFoley scale."""
    if scale not in SCALES:
        raise ValueError(f"unknown SynthFoley scale {scale!r}; expected one of {', '.join(SCALES)}")


def stable_rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy Generator seeded from sha256 of ``WORLD_VERSION/seed/parts...`` (never ``hash()``)."""
    key = "/".join([WORLD_NAME, WORLD_VERSION, str(int(seed)), *map(str, parts)])
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
