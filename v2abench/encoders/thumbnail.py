"""``thumbnail``: the simplest visual feature there is, for tiny configs and tests.

Frames are resampled to ``fps`` by nearest index, shrunk to ``size x size`` RGB by area averaging and
flattened (values in [-0.5, 0.5]): ``3 * size * size`` dimensions per frame. It needs no weights, so
any backend can be trained end to end on a machine with nothing downloaded; it carries colour,
position and motion, not semantics. Real configs use the SynthAV or CLIP encoders instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ThumbnailEncoder:
    name = "thumbnail"
    weights_sha256 = None

    def __init__(self, size: int = 8, fps: float = 25.0) -> None:
        self.size, self.fps = size, float(fps)
        self.dim = 3 * size * size

    def encode(self, frames: torch.Tensor, fps: float) -> torch.Tensor:
        """uint8 ``[B, T, 3, H, W]`` at ``fps`` -> float ``[B, T', dim]`` at ``self.fps``."""
        b, t = frames.shape[:2]
        n_out = max(1, int(round(t * self.fps / fps)))
        index = torch.clamp((torch.arange(n_out) * fps / self.fps).round().long(), max=t - 1)
        x = frames[:, index].flatten(0, 1).float().div(255.0)
        x = F.adaptive_avg_pool2d(x, self.size) - 0.5
        return x.reshape(b, n_out, self.dim)
