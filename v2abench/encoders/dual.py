"""``dual``: two visual streams on one time axis (DreamFoley's dual visual encoder).

A text-aligned *semantic* stream at a low frame rate is upsampled (nearest frame, no interpolation) to
the high frame rate of an audio-aligned *sync* stream and the two are concatenated per frame:
``[B, T_sync, D_sem + D_sync]`` at the sync stream's fps. Semantic frame ``floor(t * fps_sem)`` is
paired with sync frame ``t``; with SynthAV (5 fps x 128 and 25 fps x 64) that is 192 dimensions at 25 fps.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch


def upsample_to(features: torch.Tensor, fps: float, out_fps: float, length: int) -> torch.Tensor:
    """``[B, T, D]`` at ``fps`` -> ``[B, length, D]`` at ``out_fps`` by taking the frame covering each time."""
    t = torch.arange(length, dtype=torch.float64) / out_fps
    index = torch.clamp(torch.floor(t * fps + 1e-9).long(), max=features.shape[1] - 1)
    return features[:, index]


class DualVisualEncoder:
    """Semantic + sync encoders behind the one visual-encoder interface (``fps``, ``dim``, ``encode``)."""

    name = "dual"

    def __init__(self, semantic: Any, sync: Any) -> None:
        self.semantic, self.sync = semantic, sync
        self.fps = float(sync.fps)
        self.dim = int(semantic.dim) + int(sync.dim)
        shas = [getattr(e, "weights_sha256", None) for e in (semantic, sync)]
        joined = "+".join(s or "none" for s in shas)
        self.weights_sha256 = None if all(s is None for s in shas) else hashlib.sha256(joined.encode()).hexdigest()

    def encode(self, frames: torch.Tensor, fps: float) -> torch.Tensor:
        """uint8 ``[B, T, 3, H, W]`` at ``fps`` -> float ``[B, T_sync, dim]`` at the sync stream's fps."""
        sync = self.sync.encode(frames, fps).float()
        sem = self.semantic.encode(frames, fps).float()
        return torch.cat([upsample_to(sem, self.semantic.fps, self.fps, sync.shape[1]), sync], dim=-1)
