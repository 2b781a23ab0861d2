"""Attention masks of a prefix LM: visual tokens first, then audio steps (FoleyGen's three masks).

Sequence layout: ``[v_0 .. v_{N-1}; a_0 .. a_{S-2}]`` where audio position ``i`` holds step ``i``
and predicts step ``i + 1``; the query that predicts step ``s = i + 1`` has the time of that step,
``t(s) = (s - 1) / frame_rate = i / frame_rate`` (:class:`~v2abench.lm.delay_pattern.DelayPattern`).
Visual token ``j`` has time ``j / fps_v``. ``True`` means "may attend".

- visual -> visual: all (the prefix is given, not generated), or causal with ``causal_prefix=True``
  (DreamFoley: one causal LM over [text; video; audio]); visual -> audio: never;
- audio -> audio: causal (``i' <= i``);
- audio -> visual, by :class:`VisualMask`:
  ``ALL_FRAME``: every visual token; ``CAUSAL``: tokens with ``j / fps_v <= t``;
  ``FRAME_SPECIFIC``: only ``j = floor(t * fps_v)`` (clamped to the last token).

Example (N = 3 visual tokens at 1 fps, 4 audio positions at 1 Hz, ``CAUSAL``)::

              v0 v1 v2 | a0 a1 a2 a3
        a0 (t=0)  1  0  0 |  1  0  0  0
        a1 (t=1)  1  1  0 |  1  1  0  0
        a2 (t=2)  1  1  1 |  1  1  1  0
        a3 (t=3)  1  1  1 |  1  1  1  1
"""

from __future__ import annotations

import enum

import torch


class VisualMask(str, enum.Enum):
    ALL_FRAME = "all_frame"
    CAUSAL = "causal"
    FRAME_SPECIFIC = "frame_specific"


def audio_to_visual(audio_positions: torch.Tensor, num_visual: int, visual_fps: float, frame_rate: float, mode: VisualMask) -> torch.Tensor:
    """Bool ``[len(audio_positions), N]`` for the audio queries at the given positions."""
    t = audio_positions.double()[:, None] / frame_rate  # the time of the predicted step
    j = torch.arange(num_visual, dtype=torch.float64)[None, :]
    if mode is VisualMask.ALL_FRAME:
        return torch.ones(t.shape[0], num_visual, dtype=torch.bool)
    if mode is VisualMask.CAUSAL:
        return j / visual_fps <= t + 1e-9
    own = torch.clamp(torch.floor(t * visual_fps + 1e-9), max=num_visual - 1)
    return j == own


def prefix_lm_mask(num_visual: int, num_audio: int, visual_fps: float, frame_rate: float, mode: VisualMask, audio_start: int = 0, causal_prefix: bool = False) -> torch.Tensor:
    """The full bool mask ``[N + A, N + A]`` (``audio_start`` offsets the audio positions)."""
    n, a = num_visual, num_audio
    mask = torch.zeros(n + a, n + a, dtype=torch.bool)
    mask[:n, :n] = torch.tril(torch.ones(n, n, dtype=torch.bool)) if causal_prefix else True
    positions = torch.arange(audio_start, audio_start + a)
    mask[n:, :n] = audio_to_visual(positions, n, visual_fps, frame_rate, VisualMask(mode))
    mask[n:, n:] = torch.tril(torch.ones(a, a, dtype=torch.bool))
    return mask
