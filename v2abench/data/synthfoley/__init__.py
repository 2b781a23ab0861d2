"""SynthFoley: the procedural audio-visual world that is v2abench's embedded default dataset.

A clip is derived from (world version, seed, split, index) alone (see :mod:`.spec`); the modules,
in the order a clip is made::

    spec       version, clip format, splits and scales, sound classes, stable seeding
    scene      sampling the background, objects (class, shape, colour, size, distance), ambience
    motion     trajectories and event times on the frame grid
    render     numpy frames (112x112 RGB)
    sound      modal impacts, friction, tones, hum, chirps, ambience, distance and reverb
    captions   template captions and adverb tags
    world      SynthFoleyWorld.render_clip: frames, audio, ground-truth row, task tracks
    generate   generate_world: files, manifest.jsonl, world.json, reuse, worker pool

>>> from v2abench.data.synthfoley import SynthFoleyWorld, generate_world
>>> clip = SynthFoleyWorld(seed=0, scale="tiny").render_clip("test", 0)
>>> manifest = generate_world("data/synthfoley-tiny", scale="tiny")   # doctest: +SKIP
"""

from .generate import (
    generate_world,
    ground_truth_sha256,
    load_manifest,
    write_clip_files,
)
from .render import ObjectTrack
from .scene import Scene, SceneObject
from .spec import (
    ALL_LABELS,
    AMBIENCES,
    CLASS_NAMES,
    CLASSES,
    DURATION,
    FPS,
    NUM_FRAMES,
    NUM_SAMPLES,
    PREFIX_SECONDS,
    SAMPLE_RATE,
    SCALES,
    SIZE,
    SPLITS,
    STYLE_SECONDS,
    TASK_SPLITS,
    WORLD_NAME,
    WORLD_VERSION,
    SoundClass,
    clip_id,
    split_id,
)
from .world import RenderedClip, SynthFoleyWorld, clip_scene, render_clip

__all__ = [
    "ALL_LABELS",
    "AMBIENCES",
    "CLASSES",
    "CLASS_NAMES",
    "DURATION",
    "FPS",
    "NUM_FRAMES",
    "NUM_SAMPLES",
    "PREFIX_SECONDS",
    "SAMPLE_RATE",
    "SCALES",
    "SIZE",
    "SPLITS",
    "STYLE_SECONDS",
    "TASK_SPLITS",
    "WORLD_NAME",
    "WORLD_VERSION",
    "ObjectTrack",
    "RenderedClip",
    "Scene",
    "SceneObject",
    "SoundClass",
    "SynthFoleyWorld",
    "clip_id",
    "clip_scene",
    "generate_world",
    "ground_truth_sha256",
    "load_manifest",
    "render_clip",
    "split_id",
    "write_clip_files",
]
