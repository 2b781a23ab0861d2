"""FE scores the continuation only: the crop every metric sees (v2abench.evaluation.clips.scored_part)."""

from __future__ import annotations

from pathlib import Path

import torch

from v2abench.data.splits import ClipRecord
from v2abench.evaluation.clips import EVAL_FPS, EVAL_RATE, DecodedClip, scored_part

DURATION, PREFIX = 4.0, 1.5


def _clip(prefix_seconds: float | None) -> DecodedClip:
    record = ClipRecord(id="c0", split="s", video=Path("c0.mp4"), duration=DURATION, labels=("x",), caption=None,
                        events=({"onset": 0.5}, {"onset": 2.0}, {"onset": 3.25}), prefix_seconds=prefix_seconds)
    frames = torch.arange(int(DURATION * EVAL_FPS), dtype=torch.uint8)[:, None, None, None].expand(-1, 3, 2, 2)
    truth = torch.randn(int(DURATION * EVAL_RATE), generator=torch.Generator().manual_seed(0))
    cut = int((prefix_seconds or 0.0) * EVAL_RATE)
    return DecodedClip(record, frames, truth[cut:], prefix=truth[:cut] if prefix_seconds else None)


def test_fe_scores_only_the_continuation_so_copying_the_prefix_earns_nothing() -> None:
    clip = _clip(PREFIX)
    # a "model" that repeats the given prefix and then stays silent
    copier = torch.cat([clip.prefix, torch.zeros(int((DURATION - PREFIX) * EVAL_RATE))])
    part = scored_part(clip, copier, EVAL_RATE, DURATION)
    assert part.generated.numel() == part.reference.numel() == int((DURATION - PREFIX) * EVAL_RATE)
    assert part.generated.abs().max() == 0  # none of the copied prefix is scored
    assert part.duration == DURATION - PREFIX
    assert part.onsets == [0.5, 1.75]  # 2.0 and 3.25 s, from the start of the continuation
    assert int(part.frames[0, 0, 0, 0]) == round(PREFIX * EVAL_FPS)  # the video under the continuation
    assert part.frames.shape[0] == int(DURATION * EVAL_FPS) - round(PREFIX * EVAL_FPS)
    assert torch.equal(part.conditioning, clip.prefix)  # what clap_audio compares the continuation with
    # the true track, scored the same way, is exactly its reference (at another generator rate too)
    truth = torch.cat([clip.prefix, clip.reference])
    assert torch.equal(scored_part(clip, truth, EVAL_RATE, DURATION).generated, clip.reference)
    at_32k = scored_part(clip, torch.zeros(int(DURATION * 32_000)), 32_000, DURATION)
    assert at_32k.generated.numel() == int((DURATION - PREFIX) * 32_000)


def test_other_tasks_score_the_whole_clip() -> None:
    clip = _clip(None)
    audio = torch.randn(int(DURATION * EVAL_RATE))
    part = scored_part(clip, audio, EVAL_RATE, DURATION)
    assert torch.equal(part.generated, audio) and part.duration == DURATION
    assert part.onsets == [0.5, 2.0, 3.25] and part.frames.shape[0] == int(DURATION * EVAL_FPS)
    assert part.conditioning is None
