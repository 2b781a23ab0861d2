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

    @property
    def target_offset(self) -> float:
        """Seconds of generated audio before the part the metrics score (FE: the given prefix)."""
        return float(self.record.prefix_seconds or 0.0)


def remove_dc(audio: torch.Tensor) -> torch.Tensor:
    return audio - audio.mean()


def decode_for_eval(record: ClipRecord, duration: float) -> DecodedClip:
    """One demux pass over the clip's video (frames + audio track); lossless side files when present.

    The reference is the task's target: the video's own track, or the split's lossless reference
    file (TC/AC: the world's rendering of the asked-for sound; FE: only the true continuation after
    ``prefix_seconds``, the prefix itself coming from the video's track). Raises
    :class:`v2abench.media.MediaError` (naming the file) when the clip cannot be used.
    """
    need_track = record.reference_audio is None or bool(record.prefix_seconds)
    clip = media.decode_clip(
        record.video, fps=EVAL_FPS, sample_rate=EVAL_RATE, max_seconds=duration, audio=need_track, require_audio=need_track
    )
    if clip.frames is None or clip.frames.shape[0] == 0:
        raise media.CorruptMediaError(str(record.video), "no video frames")
    track = clip.audio.mean(0) if clip.audio is not None else None
    if record.reference_audio is None:
        assert track is not None
        reference = track
    else:
        reference = media.read_audio(record.reference_audio, sample_rate=EVAL_RATE)[0].mean(0)
    offset = float(record.prefix_seconds or 0.0)
    reference = reference[: int(round((duration - offset) * EVAL_RATE))]
    style = None
    if record.style_audio is not None:
        style = media.read_audio(record.style_audio, sample_rate=EVAL_RATE)[0].mean(0)
    prefix = None
    if record.prefix_seconds:
        assert track is not None
        prefix = track[: int(round(offset * EVAL_RATE))]
    return DecodedClip(record, clip.frames, reference, style, prefix)


@dataclass
class ScoredPart:
    """What the metrics score of one clip (see :func:`scored_part`)."""

    generated: torch.Tensor  # float32 [N] at the generator's rate
    reference: torch.Tensor  # float32 [M] at EVAL_RATE
    frames: torch.Tensor  # uint8 [T,3,H,W] at EVAL_FPS: the video under the scored audio
    onsets: list[float] | None  # true event times, seconds from the start of the scored part
    duration: float  # seconds scored
    conditioning: torch.Tensor | None  # audio the task was given (FE: the prefix; AC-VTA: the style clip), EVAL_RATE


def scored_part(clip: DecodedClip, audio: torch.Tensor, rate: int, duration: float) -> ScoredPart:
    """The part of a clip every metric scores: the whole clip, or for FE only the continuation.

    With ``o = clip.target_offset`` (FE: the 1.5 s prefix given to the generator; else 0) and the
    protocol duration ``D``: generated audio ``[o, D)``, the reference (already the true continuation,
    see :func:`decode_for_eval`), frames from ``o`` on, and true onsets ``t - o`` for ``t >= o``. A model
    that copies the given prefix therefore earns nothing for it; the prefix itself comes back as
    ``conditioning``, what audio-to-audio similarity (``clap_audio``) compares the continuation with.
    """
    offset = clip.target_offset
    onsets = clip.record.onsets
    if onsets is not None and offset:
        onsets = [t - offset for t in onsets if t >= offset]
    return ScoredPart(
        generated=audio.float().reshape(-1)[int(round(offset * rate)) : int(round(duration * rate))],
        reference=clip.reference,
        frames=clip.frames[int(round(offset * EVAL_FPS)) :],
        onsets=onsets,
        duration=duration - offset,
        conditioning=clip.prefix if clip.prefix is not None else clip.style,
    )
