"""Sanity variants of a trained probe (PROTOCOL.md, "SynthFoley probes"): what the tests assert and
what an asset's record reports.

Each variant is a "generated" track made from the reference audio of an evaluation clip:

- ``gt``: the reference itself; ``noise``: white noise of the reference's RMS (seeded per clip);
  ``silence``: zeros; ``wrong``: the reference of the next clip whose on-screen classes are all
  different (:func:`wrong_class_partner`);
- ``shift_X``: the reference delayed by ``X`` s (zeros in front, the end cut);
- ``snr_X``: the reference plus white noise ``X`` dB below its RMS;
- ``rvq`` / ``latent``: the reference after a round trip through the shipped ``synth-rvq`` /
  ``synth-latent`` codec;
- ``material``: the world's rendering of the clip with its main object in another material, same
  events (:func:`~v2abench.probes.augment.other_material_audio`); clips whose action takes a single
  material are left out of this variant;
- ``eq``: a seeded random EQ and gain (+-6 dB); ``jitter``: the reference delayed by 40 ms.

:func:`evaluate_variants` scores each variant with :class:`~v2abench.metrics.synthprobe_metrics.SynthProbeMetrics`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from v2abench.data.synthfoley.spec import CLASS_NAMES
from v2abench.metrics.base import ClipSample
from v2abench.probes.augment import add_noise, clip_index, other_material_audio, random_eq

log = logging.getLogger(__name__)

RATE = 16_000
ALIGNED_VARIANTS = ("gt", "rvq", "latent", "material", "snr_30", "snr_20", "eq", "jitter")
"""Variants a probe must judge *aligned* (offset 0)."""
MISALIGNED_VARIANTS = ("shift_0.2", "shift_0.4", "shift_0.6", "shift_0.8", "wrong", "noise", "silence")
"""Variants a probe must judge *misaligned*."""


def _rms(x: torch.Tensor) -> float:
    return float(x.pow(2).mean().sqrt())


def wrong_class_partner(labels: list[set[str]], i: int) -> int:
    """The next clip (cyclically) whose on-screen classes share none with clip ``i``'s."""
    n = len(labels)
    for step in range(1, n):
        j = (i + step) % n
        if not labels[i] & labels[j]:
            return j
    raise ValueError("no clip of another class")


def degrade(kind: str, ref: torch.Tensor, index: int, other: torch.Tensor | None = None) -> torch.Tensor:
    """The "generated" audio of one clip for the signal-only variants (see the module docstring);
    ``other``: the partner's reference (``wrong``) or the precomputed track (``rvq``, ``latent``,
    ``material``)."""
    gen = torch.Generator().manual_seed(1000 + index)
    if kind == "gt":
        return ref.clone()
    if kind == "silence":
        return torch.zeros_like(ref)
    if kind == "noise":
        return torch.randn(ref.shape, generator=gen) * max(_rms(ref), 1e-4)
    if kind.startswith("shift_") or kind == "jitter":
        n = round((0.04 if kind == "jitter" else float(kind.split("_")[1])) * RATE)
        return torch.cat([torch.zeros(n), ref[: ref.numel() - n]])
    if kind.startswith("snr_"):
        return add_noise(ref, float(kind.split("_")[1]), gen)
    if kind == "eq":
        return random_eq(ref, np.random.default_rng(1000 + index))
    if kind in ("wrong", "rvq", "latent", "material"):
        assert other is not None
        out = torch.zeros_like(ref)
        n = min(ref.numel(), other.numel())
        out[:n] = other[:n]
        return out
    raise ValueError(f"unknown sanity variant {kind!r}")


def codec_tracks(refs: list[torch.Tensor], name: str) -> list[torch.Tensor]:
    """Round trips of 16 kHz tracks through the shipped codec ``name`` (``rvq`` | ``latent``)."""
    from v2abench.codecs.synth import load_synth_latent, load_synth_rvq, roundtrip

    codec = load_synth_rvq() if name == "rvq" else load_synth_latent()
    return [roundtrip(codec, r.reshape(1, 1, -1))[0, 0] for r in refs]


def material_tracks(clips: list[Any], seed: int) -> list[torch.Tensor | None]:
    """:func:`~v2abench.probes.augment.other_material_audio` of decoded eval clips (None: none)."""
    out: list[torch.Tensor | None] = []
    for clip in clips:
        wav = other_material_audio(seed, clip.record.split, clip_index(clip.record.id))
        out.append(None if wav is None else torch.from_numpy(wav))
    return out


def _sample(clip: Any, audio: torch.Tensor) -> ClipSample:
    audio = audio - audio.mean()
    ref = clip.reference - clip.reference.mean()
    return ClipSample(clip.record.id, audio, RATE, ref, RATE, 4.0, clip.record.onsets, clip.record.caption,
                      clip.frames, 25.0)


def evaluate_variants(probe: Any, clips: list[Any], variants: tuple[str, ...], *, world_seed: int = 0,
                      bootstrap_resamples: int = 100) -> dict[str, dict[str, Any]]:
    """``{variant: {metric id: value, "n": clips scored}}`` of the family over decoded eval clips
    (:func:`~v2abench.evaluation.clips.decode_for_eval`) of the world of ``world_seed``."""
    from v2abench.metrics.synthprobe_metrics import SynthProbeMetrics

    labels = [{lb for lb in c.record.labels if lb in CLASS_NAMES} for c in clips]
    refs = [c.reference for c in clips]
    extra: dict[str, list[torch.Tensor | None]] = {}
    for name in ("rvq", "latent"):
        if name in variants:
            extra[name] = list(codec_tracks(refs, name))
    if "material" in variants:
        extra["material"] = material_tracks(clips, world_seed)
    out: dict[str, dict[str, Any]] = {}
    for kind in variants:
        family = SynthProbeMetrics(probe, bootstrap_resamples=bootstrap_resamples)
        scored = 0
        for i, clip in enumerate(clips):
            if kind == "wrong":
                other: torch.Tensor | None = refs[wrong_class_partner(labels, i)]
            else:
                other = extra[kind][i] if kind in extra else None
                if kind in extra and other is None:
                    continue
            family.update(_sample(clip, degrade(kind, clip.reference, i, other)))
            scored += 1
        out[kind] = {r.id: r.value for r in family.compute()} | {"n": scored}
    return out
