"""Decoding a clip once for a whole evaluation: frames, the video's audio and the reference audio."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from v2abench import media
from v2abench.data.splits import ClipRecord

EVAL_FPS = 25.0
EVAL_RATE = 16_000


@dataclass
class DecodedClip:
    record: ClipRecord
    frames: torch.Tensor  # uint8 [T,3,H,W] at EVAL_FPS
    reference: torch.Tensor  # float32 [N] mono at EVAL_RATE (the task's target)
    style: torch.Tensor | None = None  # AC-VTA style reference [N]
    prefix: torch.Tensor | None = None  # FE: the given first seconds of true audio [N]


def remove_dc(audio: torch.Tensor) -> torch.Tensor:
    return audio - audio.mean()


def decode_for_eval(record: ClipRecord, duration: float) -> DecodedClip:
    """One demux pass over the clip's video (frames + audio track); lossless side files when present.

    Raises :class:`v2abench.media.MediaError` (naming the file) when the clip cannot be used.
    """
    need_track = record.reference_audio is None
    clip = media.decode_clip(
        record.video, fps=EVAL_FPS, sample_rate=EVAL_RATE, max_seconds=duration, audio=need_track, require_audio=need_track
    )
    if clip.frames is None or clip.frames.shape[0] == 0:
        raise media.CorruptMediaError(str(record.video), "no video frames")
    if need_track:
        assert clip.audio is not None
        reference = clip.audio.mean(0)
    else:
        audio, _ = media.read_audio(record.reference_audio, sample_rate=EVAL_RATE)
        reference = audio.mean(0)
    reference = reference[: int(round(duration * EVAL_RATE))]
    style = None
    if record.style_audio is not None:
        style = media.read_audio(record.style_audio, sample_rate=EVAL_RATE)[0].mean(0)
    prefix = None
    if record.prefix_seconds:
        prefix = reference[: int(round(record.prefix_seconds * EVAL_RATE))]
    return DecodedClip(record, clip.frames, reference, style, prefix)
