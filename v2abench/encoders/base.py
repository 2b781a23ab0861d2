"""The visual and text encoder interfaces every conditioning feature in v2abench goes through.

Shapes (``B`` clips, ``T`` input frames at ``fps``, ``T'`` output frames at the encoder's own rate)::

    VisualEncoder   encode(frames uint8 [B, T, 3, H, W], fps) -> features float32 [B, T', dim]
    TextEncoder     encode(list of B captions)               -> (features float32 [B, L, dim], mask bool [B, L])

A visual encoder resamples the video to its own ``fps`` first: output frame ``k`` shows the input
frame nearest to time ``k / encoder.fps`` (:func:`resample_index`), and ``T' = round(T * encoder.fps / fps)``
(at least 1), so a 4 s clip at 25 fps gives 4 features at 1 fps and 100 at 25 fps::

    input  (25 fps)   |0 1 2 ... 24|25 ... 49|50 ... 74|75 ... 99|
    output ( 1 fps)   |0           |1        |2        |3        |     frame k <- input round(k * 25)

Text features are zero where ``mask`` is False (padding). ``name`` identifies the encoder and
``weights_sha256`` the weights it runs with (None for random or weightless ones); with the
settings they key the feature cache. Both interfaces are structural (``typing.Protocol``): any
object with these members is an encoder, ``nn.Module`` or not.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class VisualEncoder(Protocol):
    name: str
    fps: float  # the rate of its output features
    dim: int
    weights_sha256: str | None

    def encode(self, frames: torch.Tensor, fps: float) -> torch.Tensor:
        """uint8 ``[B, T, 3, H, W]`` at ``fps`` -> float32 ``[B, T', dim]`` at ``self.fps``."""
        ...


@runtime_checkable
class TextEncoder(Protocol):
    name: str
    dim: int
    weights_sha256: str | None

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features float32 [B, L, dim], mask bool [B, L])`` of ``B`` captions."""
        ...


def check_frames(frames: torch.Tensor) -> None:
    """Raise unless ``frames`` is a uint8 video batch ``[B, T, 3, H, W]`` with at least one frame."""
    if frames.dim() != 5 or frames.shape[2] != 3:
        raise ValueError(f"frames must be uint8 [B, T, 3, H, W], got shape {tuple(frames.shape)}")
    if frames.dtype != torch.uint8:
        raise TypeError(f"frames must be uint8, got {frames.dtype}")
    if frames.shape[1] == 0:
        raise ValueError("the video has no frames")


def resample_index(num_frames: int, fps: float, out_fps: float) -> torch.Tensor:
    """Indices of the input frames shown at times ``k / out_fps``: ``round(k * fps / out_fps)``.

    ``round(num_frames * out_fps / fps)`` of them (at least one), clamped to the last frame.
    """
    if not (fps > 0 and out_fps > 0):
        raise ValueError(f"frame rates must be > 0, got {fps} and {out_fps}")
    count = max(1, round(num_frames * out_fps / fps))
    return torch.clamp((torch.arange(count) * (fps / out_fps)).round().long(), max=num_frames - 1)
