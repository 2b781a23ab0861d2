"""Sampling a SynthFoley scene from (seed, split, index): background, objects, motion, ambience.

A scene is everything a clip needs before a pixel or a sample exists::

    Scene
    ├── background    wall/floor colours, horizon, texture
    ├── objects[0]    the main object: class CLASSES[index % 12] (test-tc/-ac: the 7 swappable classes)
    ├── objects[1]?   with probability SECOND_OBJECT_P (plain splits and test-fe): another class (at most
    │                 one of the two moves), its events on frames MIN_EVENT_GAP away from the main
    │                 object's (see :func:`.motion.free_frame`)
    ├── ambience?     with probability AMBIENCE_P: rain, hum or rumble, off screen, lower level
    └── task extras   test-tc/-ac: ``alt_material`` (another material for the same action);
                      test-ac: ``style`` (an object of that material with its own events)

Candidates are scored (the world scores the audibility of every onset, see
:func:`.world.clip_scene`): the main object is redrawn until it scores well enough (else the best
draw is kept), and a second object is dropped if none of its draws does. Each part draws from its
own generator (``stable_rng(seed, split, index, part)``), so adding a part never shifts another.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import motion as mo
from .spec import (
    AMBIENCES,
    CLASSES,
    FPS,
    MIN_EVENT_GAP,
    NUM_FRAMES,
    SIZE,
    SWAPPABLE_MATERIALS,
    SoundClass,
    check_split,
    class_for,
    main_class,
    stable_rng,
)

SECOND_OBJECT_P = 0.35
AMBIENCE_P = 0.35
SECOND_OBJECT_TRIES = 8
MAIN_OBJECT_TRIES = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (222, 52, 48), "orange": (242, 140, 32), "yellow": (236, 214, 52), "green": (62, 182, 76),
    "blue": (52, 112, 232), "purple": (152, 72, 204), "pink": (242, 122, 182), "white": (236, 236, 236),
    "cyan": (42, 202, 212),
}
SIZES: dict[str, float] = {"small": 7.0, "medium": 10.0, "large": 13.0}
"""Physical radius (px at the near distance) of each size; pitch falls with it."""
DISTANCES: dict[str, float] = {"near": 1.0, "far": 0.6}
"""On-screen scale of each distance; far objects are also quieter and more reverberant."""
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
MOVING_ACTIONS = ("bounce", "slide")
BACKGROUNDS: tuple[str, ...] = ("flat", "gradient", "stripes", "checker", "speckle")


@dataclass(frozen=True)
class Background:
    """Wall above the horizon row, floor below it, an optional low-contrast texture."""

    kind: str
    wall: tuple[float, float, float]
    floor: tuple[float, float, float]
    horizon: int
    period: int
    phase: int


@dataclass
class SceneObject:
    """One visible sound source and its motion (see :mod:`.motion`)."""

    cls: SoundClass
    shape: str
    colour: str
    rgb: tuple[int, int, int]
    size: str
    distance: str
    speed: str
    loudness: str
    ground: float
    motion: mo.Motion

    @property
    def action(self) -> str:
        """What the object does (bounce, slide, drip, blink, spin, chirp, croak)."""
        return self.cls.action

    @property
    def material(self) -> str:
        """What it is made of; decides the timbre."""
        return self.cls.material

    @property
    def radius(self) -> float:
        """Physical radius in px (at the near distance)."""
        return SIZES[self.size]

    @property
    def scale(self) -> float:
        """On-screen scale factor of its distance."""
        return DISTANCES[self.distance]


@dataclass
class Scene:
    """Everything that determines one clip."""

    seed: int
    split: str
    index: int
    background: Background
    objects: list[SceneObject]
    ambience: str | None
    ambience_level: float
    alt_material: str | None = None
    style: SceneObject | None = None


def _sample_background(rng: np.random.Generator) -> Background:
    hue = rng.uniform(0.0, 1.0)
    wall = colorsys.hsv_to_rgb(hue, rng.uniform(0.1, 0.45), rng.uniform(0.28, 0.5))
    floor_hue = (hue + rng.uniform(-0.15, 0.15)) % 1.0
    floor = colorsys.hsv_to_rgb(floor_hue, rng.uniform(0.1, 0.45), rng.uniform(0.14, 0.3))
    kind = str(rng.choice(BACKGROUNDS))
    return Background(kind, tuple(255 * np.array(wall)), tuple(255 * np.array(floor)),
                      int(rng.integers(50, 62)), int(rng.integers(6, 14)), int(rng.integers(0, 14)))


def _ground(rng: np.random.Generator, distance: str, horizon: int) -> float:
    if distance == "near":
        return float(rng.integers(96, 105))
    return float(rng.integers(horizon + 10, horizon + 18))


def sample_object(
    rng: np.random.Generator, cls: SoundClass, slot: tuple[float, float], horizon: int,
    free: np.ndarray | None = None,
) -> SceneObject:
    """Sample one object of class ``cls`` whose motion stays inside the columns ``slot``; its
    events start only on ``free`` frames where the action allows (see :func:`.motion.free_frame`)."""
    colour = str(rng.choice(list(COLOURS)))
    size = str(rng.choice(list(SIZES)))
    distance = "near" if rng.uniform() < 0.65 else "far"
    speed = "fast" if rng.uniform() < 0.5 else "slow"
    loudness = "loud" if rng.uniform() < 0.5 else "quiet"
    ground = _ground(rng, distance, horizon)
    scale = DISTANCES[distance]
    r = SIZES[size] * scale
    fast = speed == "fast"
    centre = float(rng.uniform(slot[0] + 0.4 * (slot[1] - slot[0]), slot[1] - 0.4 * (slot[1] - slot[0])))
    motion_rng = np.random.default_rng(rng.integers(0, 2**63))
    action = cls.action
    shape = str(rng.choice(SHAPES)) if action in MOVING_ACTIONS else {
        "drip": "drop", "blink": "lamp", "spin": "fan", "chirp": "bird", "croak": "frog"}[action]
    if action == "bounce":
        m = mo.bounce_motion(motion_rng, x_range=slot, ground=ground, half_width=r, height=2 * r, scale=scale,
                             fast=fast, material=cls.material, free=free)
    elif action == "slide":
        m = mo.slide_motion(motion_rng, x_range=slot, ground=ground, half_width=r, scale=scale, fast=fast,
                           free=free)
    elif action == "drip":
        colour = "blue"
        m = mo.drip_motion(motion_rng, x=centre, ground=ground, tap_y=float(rng.integers(8, 15)),
                           drop_height=1.6 * max(2.5, 0.45 * r), fast=fast, free=free)
    elif action == "blink":
        m = mo.blink_motion(motion_rng, x=centre, ground=ground, fast=fast, free=free)
    elif action == "spin":
        m = mo.spin_motion(motion_rng, x=centre, ground=ground, fast=fast, free=free)
    elif action in ("chirp", "croak"):
        m = mo.creature_motion(motion_rng, x=centre, ground=ground, fast=fast, croak=action == "croak",
                               free=free)
    else:  # pragma: no cover - CLASSES only holds the actions above
        raise ValueError(f"unknown action {action!r}")
    return SceneObject(cls, shape, colour, COLOURS[colour], size, distance, speed, loudness, ground, m)


def _min_gap(a: list[float], b: list[float]) -> float:
    if not a or not b:
        return float("inf")
    return float(np.min(np.abs(np.subtract.outer(np.asarray(a), np.asarray(b)))))


def reference_objects(scene: Scene) -> list[SceneObject] | None:
    """Objects whose sound is the task target of a test-tc / test-ac clip (None elsewhere).

    test-tc: the main object made of ``alt_material``; test-ac: the main object made of the style
    object's material and size. Timing (the motion) is always the seen object's.
    """
    if scene.alt_material is None:
        return None
    main = scene.objects[0]
    if scene.style is not None:
        swapped = replace(main, cls=scene.style.cls, size=scene.style.size)
    else:
        swapped = replace(main, cls=class_for(main.action, scene.alt_material))
    return [swapped, *scene.objects[1:]]


SceneScore = Callable[[Scene], float]
"""Scores a candidate scene (higher is better); candidates scoring ``>= accept_at`` are taken."""


def sample_scene(
    seed: int, split: str, index: int, *, score: SceneScore | None = None, accept_at: float = 0.0,
) -> Scene:
    """The scene of clip ``index`` of ``split`` in the world of ``seed`` (pure; see module doc).

    With ``score``, the main object is drawn up to MAIN_OBJECT_TRIES times and the first candidate
    scoring ``>= accept_at`` is kept (else the best one); a second object is kept only if its
    onsets are MIN_EVENT_GAP away from the main object's and the pair scores ``>= accept_at``
    (up to SECOND_OBJECT_TRIES candidates). The world scores audibility of every onset.
    """
    check_split(split)
    if index < 0:
        raise ValueError(f"clip index must be >= 0, got {index}")
    rng = stable_rng(seed, split, index, "scene")
    background = _sample_background(rng)
    main = main_class(split, index)
    plain = split not in ("test-tc", "test-ac")
    second: SoundClass | None = None
    if plain and rng.uniform() < SECOND_OBJECT_P:
        others = [c for c in CLASSES if c.name != main.name
                  and not (c.action in MOVING_ACTIONS and main.action in MOVING_ACTIONS)]
        second = others[int(rng.integers(len(others)))]
    ambience = str(rng.choice(AMBIENCES)) if rng.uniform() < AMBIENCE_P else None
    ambience_level = float(rng.uniform(0.5, 1.0))
    left_main = bool(rng.uniform() < 0.5)

    if second is None:
        slots = [(8.0, float(SIZE - 8))]
    else:  # side by side; the moving object (else the main one) gets the wide side
        width = 62.0 if (main.action in MOVING_ACTIONS or second.action not in MOVING_ACTIONS) else 34.0
        if left_main:
            slots = [(6.0, 6.0 + width), (10.0 + width, 106.0)]
        else:
            slots = [(106.0 - width, 106.0), (6.0, 102.0 - width)]

    alt_material: str | None = None
    style: SceneObject | None = None
    if not plain:
        task_rng = stable_rng(seed, split, index, "task")
        choices = [m for m in SWAPPABLE_MATERIALS[main.action] if m != main.material]
        alt_material = choices[int(task_rng.integers(len(choices)))]
        if split == "test-ac":
            style = sample_object(stable_rng(seed, split, index, "style"), class_for(main.action, alt_material),
                                  (8.0, float(SIZE - 8)), background.horizon)
            style.distance, style.ground = "near", 100.0

    def build(objects: list[SceneObject]) -> Scene:
        return Scene(seed, split, index, background, objects, ambience, ambience_level, alt_material, style)

    best: tuple[float, Scene] | None = None
    for attempt in range(MAIN_OBJECT_TRIES if score is not None else 1):
        parts: tuple[object, ...] = ("object0",) if attempt == 0 else ("object0", attempt)
        scene = build([sample_object(stable_rng(seed, split, index, *parts), main, slots[0], background.horizon)])
        value = score(scene) if score is not None else 0.0
        if best is None or value > best[0]:
            best = (value, scene)
        if value >= accept_at:
            break
    assert best is not None
    scene = best[1]
    if second is not None:
        taken = np.round(np.asarray(scene.objects[0].motion.onsets) * FPS).astype(int)
        gap = int(np.ceil(MIN_EVENT_GAP * FPS - 1e-9))
        free = np.abs(np.arange(NUM_FRAMES)[:, None] - taken[None, :]).min(axis=1, initial=NUM_FRAMES) >= gap
        for attempt in range(SECOND_OBJECT_TRIES):
            candidate = sample_object(stable_rng(seed, split, index, "object1", attempt), second, slots[1],
                                      background.horizon, free)
            if _min_gap(scene.objects[0].motion.onsets, candidate.motion.onsets) < MIN_EVENT_GAP - 1e-9:
                continue
            pair = build([scene.objects[0], candidate])
            if score is None or score(pair) >= accept_at:
                scene = pair
                break
    return scene
