"""Aligned-but-different audio for the probe's v2 training (PROTOCOL.md, "SynthFoley probes").

A probe measures *alignment*, not fidelity, so the aligned and offset heads of ``synthprobe`` v2 see
as aligned (offset 0) not only the pristine track but also:

- the track after a round trip through each shipped codec (``synth-rvq``, ``synth-latent``);
- the world's rendering of *another material on the same events* (what test-tc / test-ac / edit
  outputs are by design): the main object of a clip whose action can change material
  (:data:`~v2abench.data.synthfoley.spec.SWAPPABLE_MATERIALS`) re-rendered in another material by
  the same renderer as the test-tc reference (:func:`~v2abench.data.synthfoley.sound.render_audio`
  with replaced objects; the material is drawn by a stable per-clip rng);
- any of the above with white noise at 20-30 dB SNR, a random EQ and gain, and a jitter of up to
  +-40 ms (applied per item by :func:`augment_window`).

The round trips and renderings of a whole probe split are computed once and cached
(:func:`load_probe_variants`, a :class:`~v2abench.data.feature_cache.FeatureCache` keyed by the
split's ground-truth sha256 and the codecs' weights sha256): training never runs a codec.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from v2abench.data.feature_cache import FeatureCache
from v2abench.data.splits import SplitData, load_split

log = logging.getLogger(__name__)

_CACHE_VERSION = 1
_INT16 = 32767.0
SOURCES = ("pristine", "rvq", "latent", "material")
"""Sources of an aligned window: the decoded track, its codec round trips, another material."""


# ---------------------------------------------------------------- other material on the same events


def world_seed(split: SplitData) -> int:
    """The seed of the SynthFoley world a split belongs to (its ``world.json``)."""
    doc = json.loads((split.spec.root / "world.json").read_text(encoding="utf-8"))
    return int(doc["seed"])


def clip_index(clip_id: str) -> int:
    """The world index of a SynthFoley clip id (``synthfoley-<split>-<index:05d>``)."""
    return int(clip_id.rsplit("-", 1)[1])


def other_material_audio(seed: int, split: str, index: int) -> np.ndarray | None:
    """Float32 ``[N]`` at 16 kHz: clip ``index`` of world split ``split`` with its main object made of
    another material (drawn by ``stable_rng(seed, split, index, "probe-material")``), every event,
    object and ambience kept -- the test-tc renderer on any clip. None when the main object's
    action takes a single material."""
    from v2abench.data.synthfoley.sound import render_audio
    from v2abench.data.synthfoley.spec import SWAPPABLE_MATERIALS, class_for, stable_rng
    from v2abench.data.synthfoley.world import clip_scene

    scene = clip_scene(seed, split, index)
    main = scene.objects[0]
    materials = [m for m in SWAPPABLE_MATERIALS.get(main.action, ()) if m != main.material]
    if not materials:
        return None
    alt = materials[int(stable_rng(seed, split, index, "probe-material").integers(len(materials)))]
    objects = [replace(main, cls=class_for(main.action, alt)), *scene.objects[1:]]
    audio, _ = render_audio(scene, objects)
    return audio


# ---------------------------------------------------------------- whole-split variants, cached


def _to_int16(wav: torch.Tensor) -> torch.Tensor:
    return torch.round(wav.clamp(-1, 1) * _INT16).to(torch.int16)


@torch.no_grad()
def codec_round_trips(audio: torch.Tensor, codec: Any, batch_size: int = 16) -> torch.Tensor:
    """int16 ``[clips, N]`` -> int16 ``[clips, N]``: ``decode(encode(x))`` of every row (16 kHz codec)."""
    from v2abench.codecs.synth import roundtrip

    if int(codec.sample_rate) != 16_000:
        raise ValueError(f"the probe reads 16 kHz audio; the codec runs at {codec.sample_rate} Hz")
    out = torch.zeros_like(audio)
    for i in range(0, audio.shape[0], batch_size):
        wav = audio[i : i + batch_size].float().unsqueeze(1) / _INT16
        rec = roundtrip(codec, wav)[:, 0]
        out[i : i + batch_size] = _to_int16(rec - rec.mean(-1, keepdim=True))
    return out


def compute_probe_variants(split: SplitData, audio: torch.Tensor, codecs: dict[str, Any]) -> dict[str, torch.Tensor]:
    """``{"rvq", "latent"}``: codec round trips of ``audio`` (the decoded split, int16 ``[clips, N]``);
    ``"material"`` int16 ``[clips, N]`` and ``"has_material"`` bool ``[clips]`` (see
    :func:`other_material_audio`)."""
    out: dict[str, torch.Tensor] = {}
    for name, codec in codecs.items():
        log.info("round trip of %d probe clips through %s (once; cached)", audio.shape[0], name)
        out[name] = codec_round_trips(audio, codec)
    seed = world_seed(split)
    material = torch.zeros_like(audio)
    has = torch.zeros(audio.shape[0], dtype=torch.bool)
    log.info("rendering %d probe clips in another material (once; cached)", audio.shape[0])
    for i, clip in enumerate(split.clips):
        wav = other_material_audio(seed, split.spec.split, clip_index(clip.id))
        if wav is None:
            continue
        x = torch.from_numpy(wav[: audio.shape[1]]).double()
        material[i, : x.numel()] = _to_int16((x - x.mean()).float())
        has[i] = True
    out["material"], out["has_material"] = material, has
    return out


def load_probe_variants(split_name: str, audio: torch.Tensor) -> dict[str, torch.Tensor]:
    """:func:`compute_probe_variants` with the shipped codecs, computed once per (split ground truth,
    codec weights) and then read from the feature cache."""
    from v2abench.codecs.synth import load_synth_latent, load_synth_rvq

    split = load_split(split_name)
    codecs = {"rvq": load_synth_rvq(), "latent": load_synth_latent()}
    shas = {k: str(getattr(c, "weights_sha256", "")) for k, c in codecs.items()}
    key = hashlib.sha256(json.dumps(shas, sort_keys=True).encode()).hexdigest()
    settings = {"codecs": shas, "samples": int(audio.shape[1]), "material": "main object, stable rng",
                "version": _CACHE_VERSION}
    cache = FeatureCache("synthprobe-variants", key, settings)
    return cache.get_or_compute(split.ground_truth_sha256, lambda: compute_probe_variants(split, audio, codecs))


# ---------------------------------------------------------------- per-item augmentation


def add_noise(x: torch.Tensor, snr_db: float, gen: torch.Generator) -> torch.Tensor:
    """``x`` plus white noise at ``snr_db`` dB below its RMS."""
    rms = float(x.pow(2).mean().sqrt().clamp_min(1e-5))
    return x + torch.randn(x.shape, generator=gen) * (rms / 10 ** (snr_db / 20))


def random_eq(x: torch.Tensor, rng: np.random.Generator, max_db: float = 6.0, points: int = 6) -> torch.Tensor:
    """A smooth random EQ: the spectrum times a gain curve through ``points`` log-spaced control
    points (each uniform in +-``max_db`` dB), then an overall gain uniform in +-``max_db`` dB."""
    spec = torch.fft.rfft(x.float())
    freqs = np.linspace(0.0, 1.0, spec.numel(), dtype=np.float32)
    knots = np.geomspace(1e-3, 1.0, points)
    curve_db = np.interp(np.maximum(freqs, 1e-3), knots, rng.uniform(-max_db, max_db, points))
    gain_db = float(rng.uniform(-max_db, max_db))
    curve = torch.from_numpy((10 ** ((curve_db + gain_db) / 20)).astype(np.float32))
    return torch.fft.irfft(spec * curve, n=x.numel()).clamp(-1, 1)


def pick_source(rng: np.random.Generator, probs: dict[str, float], has_material: bool) -> str:
    """One of :data:`SOURCES` with probabilities ``probs`` (``material`` only where it exists)."""
    names = [s for s in SOURCES if probs.get(s, 0.0) > 0 and (s != "material" or has_material)]
    p = np.asarray([probs[s] for s in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def augment_window(x: torch.Tensor, rng: np.random.Generator, aug: dict[str, Any]) -> torch.Tensor:
    """Noise at ``aug["snr_db"]`` (range) with probability ``aug["p_noise"]``, EQ/gain with
    ``aug["p_eq"]`` (+-``aug["eq_db"]`` dB). Jitter is a crop offset (see the dataset)."""
    if rng.uniform() < float(aug.get("p_eq", 0.0)):
        x = random_eq(x, rng, float(aug.get("eq_db", 6.0)))
    if rng.uniform() < float(aug.get("p_noise", 0.0)):
        lo, hi = aug.get("snr_db", (20.0, 30.0))
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        x = add_noise(x, float(rng.uniform(lo, hi)), gen)
    return x


def jitter_samples(rng: np.random.Generator, aug: dict[str, Any], sample_rate: int) -> int:
    """A crop jitter in samples: uniform in +-``aug["jitter_s"]`` with probability ``aug["p_jitter"]``."""
    if rng.uniform() >= float(aug.get("p_jitter", 0.0)):
        return 0
    limit = float(aug.get("jitter_s", 0.04))
    return int(math.floor(rng.uniform(-limit, limit) * sample_rate))
