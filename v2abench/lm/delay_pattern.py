"""The MusicGen delay pattern over ``K`` codebooks.

Codebook ``q`` is delayed by ``q`` steps and the sequence starts with one empty step, so a clip of
``T`` frames becomes ``S = T + K`` steps. ``#`` is the special token; ``c_q,t`` is codebook q, frame t
(K = 3, T = 4)::

    step s    0     1      2      3      4      5      6
    q = 0     #   c0,0   c0,1   c0,2   c0,3    #      #
    q = 1     #    #     c1,0   c1,1   c1,2   c1,3    #
    q = 2     #    #      #     c2,0   c2,1   c2,2   c2,3

Step ``s`` carries frame ``s - 1 - q`` of codebook ``q``; its time is that of codebook 0's frame,
``t(s) = (s - 1) / frame_rate``. Training feeds steps ``0 .. S-2`` and predicts steps ``1 .. S-1``;
the loss counts only valid (non-``#``) targets. Decoding starts from step 0 and writes ``#`` wherever
a position is not valid, so :meth:`DelayPattern.revert` recovers exactly ``T`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DelayPattern:
    num_codebooks: int
    special_token: int  # usually codebook_size (one extra embedding row)

    def num_steps(self, frames: int) -> int:
        return frames + self.num_codebooks

    def valid_mask(self, frames: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Bool ``[K, S]``: True where step s holds a real token of codebook q."""
        steps = torch.arange(self.num_steps(frames), device=device)
        q = torch.arange(self.num_codebooks, device=device)[:, None]
        frame = steps[None, :] - 1 - q
        return (frame >= 0) & (frame < frames)

    def build(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, K, T]`` codes -> (``[B, K, S]`` delayed sequence, ``[K, S]`` valid mask)."""
        b, k, t = codes.shape
        if k != self.num_codebooks:
            raise ValueError(f"expected {self.num_codebooks} codebooks, got {k}")
        seq = torch.full((b, k, self.num_steps(t)), self.special_token, dtype=codes.dtype, device=codes.device)
        for q in range(k):
            seq[:, q, q + 1 : q + 1 + t] = codes[:, q]
        return seq, self.valid_mask(t, codes.device)

    def revert(self, seq: torch.Tensor) -> torch.Tensor:
        """``[B, K, S]`` delayed sequence -> ``[B, K, T]`` codes (T = S - K)."""
        b, k, s = seq.shape
        t = s - self.num_codebooks
        if t < 0:
            raise ValueError(f"a sequence of {s} steps is shorter than the {k}-step delay")
        return torch.stack([seq[:, q, q + 1 : q + 1 + t] for q in range(k)], dim=1)

    def step_time(self, step: int | torch.Tensor, frame_rate: float) -> torch.Tensor:
        """``t(s) = (s - 1) / frame_rate``: the time of codebook 0's frame at step s."""
        return (torch.as_tensor(step, dtype=torch.float64) - 1.0) / frame_rate
