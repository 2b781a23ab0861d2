"""Visual and text encoders: video frames -> features ``[B, T', D]`` at the encoder's own fps,
captions -> token features ``[B, L, D]`` + mask.

::

    base             VisualEncoder, TextEncoder (the interfaces), resample_index, check_frames
    open_clip_image  OpenClipImageEncoder: CLIP / EVA-CLIP image towers from local open_clip weights
    specs            ENCODER_WEIGHTS: the open_clip checkpoints' weights-registry entries
    thumbnail        ThumbnailEncoder: weightless tiny thumbnails (tiny configs, tests)
    synthav          the suite's own SynthFoley encoders (semantic, sync, audio, text)
    synthav_load     load_synthav*: the shipped SynthAV asset or an exported run

Heavy modules (open_clip, lightning) load on first use of the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

from v2abench.encoders.base import TextEncoder, VisualEncoder, check_frames, resample_index

_LAZY = {
    "OpenClipImageEncoder": "v2abench.encoders.open_clip_image",
    "ENCODER_WEIGHTS": "v2abench.encoders.specs",
    "OPEN_CLIP_CHECKPOINTS": "v2abench.encoders.specs",
    "ThumbnailEncoder": "v2abench.encoders.thumbnail",
    "load_synthav": "v2abench.encoders.synthav_load",
    "load_synthav_semantic": "v2abench.encoders.synthav_load",
    "load_synthav_sync": "v2abench.encoders.synthav_load",
    "load_synthav_text": "v2abench.encoders.synthav_load",
}

__all__ = ["ENCODER_WEIGHTS", "OPEN_CLIP_CHECKPOINTS", "OpenClipImageEncoder", "TextEncoder", "ThumbnailEncoder", "VisualEncoder",
           "check_frames", "load_synthav", "load_synthav_semantic", "load_synthav_sync", "load_synthav_text", "resample_index"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'v2abench.encoders' has no attribute {name!r}")
