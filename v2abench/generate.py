"""Generating audio for one video file (``v2abench generate``)."""

from __future__ import annotations

import logging
from pathlib import Path


from v2abench import media
from v2abench.evaluation.clips import EVAL_FPS, EVAL_RATE
from v2abench.interface import Task, V2ABatch, check_task
from v2abench.registry import REGISTRY

log = logging.getLogger(__name__)


def generate_for_video(
    model: str,
    video: Path,
    out: Path,
    *,
    ckpt: str | None = None,
    text: str | None = None,
    seed: int = 0,
    task: Task = Task.VTA,
    duration: float | None = None,
    split: str = "synthfoley-test",
) -> float:
    """Decode ``video`` once, generate, write ``out`` (.wav/.flac, or .mp4 muxed with the video's frames).

    Returns the seconds spent in ``generate``.
    """
    generator = REGISTRY.build(model, "generator", ckpt=ckpt)
    check_task(generator.meta, task)
    clip = media.decode_clip(video, fps=EVAL_FPS, sample_rate=EVAL_RATE, require_audio=False)
    assert clip.frames is not None
    length = duration or min(clip.info.duration, generator.meta.max_duration)
    if hasattr(generator, "prepare"):
        from v2abench.data.splits import resolve_split

        generator.prepare(resolve_split(split))
    reference = clip.audio.mean(0, keepdim=True).unsqueeze(0) if clip.audio is not None else None
    batch = V2ABatch(
        ids=[video.stem],
        frames=clip.frames.unsqueeze(0),
        fps=EVAL_FPS,
        text=[text],
        reference_audio=reference,
        sample_rate=EVAL_RATE if reference is not None else None,
    )
    output = generator.generate(batch, task=task, duration=float(length), seed=seed)
    audio = output.audio[0].detach().cpu().float().clamp(-1, 1)
    if out.suffix.lower() == ".mp4":
        media.mux_audio(video, audio, output.sample_rate, out)
    else:
        media.write_audio(out, audio, output.sample_rate)
    return output.seconds
