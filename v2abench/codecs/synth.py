"""Ready-to-use ``synth-rvq`` / ``synth-latent`` codecs from exported or shipped weights, and their quality.

An artefact is a weights-only ``.safetensors`` file (fp32) plus a JSON meta file beside it, written
by :meth:`~v2abench.codecs.training.SynthRVQTrainable.export`. Two layouts are read:

- a run folder (or its ``model.safetensors``): ``<run>/model.safetensors`` + ``<run>/meta.json``;
- a shipped asset: ``v2abench/assets/<name>-v1.safetensors`` + ``v2abench/assets/<name>-v1.json``.

Loaded codecs are in eval mode and carry ``weights_sha256`` (of the .safetensors file, for cache
keys and result files) and ``meta`` (the parsed JSON).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from v2abench.artefacts import artefact_files
from v2abench.artefacts import sha256_file as file_sha256
from typing import Any

import torch
from safetensors.torch import load_file

from v2abench.codecs.base import AudioCodec
from v2abench.codecs.losses import MEL_16K, LogMel, MelConfig, si_sdr
from v2abench.codecs.stft_codec import STFTCodecConfig, SynthLatentCodec, SynthRVQCodec
from v2abench.codecs.training import TRAINING_ONLY_BUFFERS
from v2abench.data.splits import ClipRecord, load_split
from v2abench.media import decode_audio

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_VERSION = "v1"


def shipped_asset(name: str) -> tuple[Path, Path]:
    """``(weights, meta)`` paths of the shipped asset of codec ``name`` (they may not exist)."""
    stem = f"{name}-{SHIPPED_VERSION}"
    return ASSETS_DIR / f"{stem}.safetensors", ASSETS_DIR / f"{stem}.json"


def _artefact_files(path: Path) -> tuple[Path, Path]:
    return artefact_files(path, "codec")




def load_codec(path: Path, kind: str) -> SynthRVQCodec | SynthLatentCodec:
    """Build the codec an artefact's meta describes and load its weights (``kind``: rvq | latent)."""
    weights, meta_path = _artefact_files(path)
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("kind") != kind:
        raise ValueError(f"{meta_path} describes a {meta.get('kind')!r} codec, expected {kind!r}")
    cfg = STFTCodecConfig.from_dict(dict(meta["model"]) | {"kmeans_init": False})
    codec: SynthRVQCodec | SynthLatentCodec = SynthRVQCodec(cfg) if kind == "rvq" else SynthLatentCodec(cfg)
    state = load_file(str(weights))
    missing, unexpected = codec.load_state_dict(state, strict=False)
    missing = [k for k in missing if k.rsplit(".", 1)[-1] not in TRAINING_ONLY_BUFFERS]
    if missing or unexpected:
        raise ValueError(f"{weights} does not fit the codec in {meta_path}: missing {missing}, unexpected {unexpected}")
    for name, buf in codec.named_buffers():  # training-only EMA sums: restart them from the codebook
        if name.endswith(".embed_avg"):
            buf.copy_(state[name.removesuffix("embed_avg") + "embed"])
    codec.eval()
    codec.weights_sha256 = file_sha256(weights)  # type: ignore[attr-defined]
    codec.meta = meta  # type: ignore[attr-defined]
    log.debug("loaded %s codec from %s (sha256 %s)", kind, weights, codec.weights_sha256)  # type: ignore[attr-defined]
    return codec


def _load(name: str, kind: str, path: Path | None) -> SynthRVQCodec | SynthLatentCodec:
    if path is None:
        weights, meta = shipped_asset(name)
        if not (weights.is_file() and meta.is_file()):
            raise FileNotFoundError(
                f"the shipped {name} weights ({weights.name} + {meta.name} in {ASSETS_DIR}) are missing; "
                f"produce them with: v2abench train --model {name} --config quick"
            )
        path = weights
    return load_codec(Path(path), kind)


def load_synth_rvq(path: Path | str | None = None) -> SynthRVQCodec:
    """The ``synth-rvq`` discrete codec: from an exported run (folder or .safetensors), or the shipped asset."""
    codec = _load("synth-rvq", "rvq", None if path is None else Path(path))
    assert isinstance(codec, SynthRVQCodec)
    return codec


def load_synth_latent(path: Path | str | None = None) -> SynthLatentCodec:
    """The ``synth-latent`` continuous codec: from an exported run (folder or .safetensors), or the shipped asset."""
    codec = _load("synth-latent", "latent", None if path is None else Path(path))
    assert isinstance(codec, SynthLatentCodec)
    return codec


@torch.no_grad()
def roundtrip(codec: AudioCodec, wav: torch.Tensor) -> torch.Tensor:
    """``decode(encode(wav))`` at the input's length, for either codec kind."""
    return codec.decode(codec.encode(wav), length=wav.shape[-1])  # type: ignore[attr-defined]


@torch.no_grad()
def reconstruction_quality(codec: AudioCodec, clips: Sequence[ClipRecord] | torch.Tensor, batch_size: int = 8,
                           mel: MelConfig = MEL_16K) -> dict[str, float]:
    """Mean log-mel L1 (lower is better) and SI-SDR in dB (higher is better) of codec round trips.

    ``clips`` are clip records (their reference audio, else the video's track, decoded at the codec's
    rate) or waveforms ``[B, 1, N]``. Both measures are per clip, then averaged; the mel settings are
    :data:`~v2abench.codecs.losses.MEL_16K` (see :mod:`v2abench.codecs.losses` for the formulas).
    """
    if isinstance(clips, torch.Tensor):
        waves = [w for w in clips.reshape(len(clips), 1, -1)]
    else:
        waves = [decode_audio(c.reference_audio or c.video, sample_rate=codec.sample_rate)[0].reshape(1, -1)
                 for c in clips]
    if not waves:
        raise ValueError("no clips to measure")
    log_mel = LogMel(replace(mel, sample_rate=codec.sample_rate))
    mel_l1: list[torch.Tensor] = []
    sdr: list[torch.Tensor] = []
    for start in range(0, len(waves), batch_size):
        group = waves[start : start + batch_size]
        length = max(w.shape[-1] for w in group)
        batch = torch.stack([torch.nn.functional.pad(w, (0, length - w.shape[-1])) for w in group])
        recon = roundtrip(codec, batch.float())
        mel_l1.append((log_mel(recon) - log_mel(batch)).abs().mean(dim=(1, 2)))
        sdr.append(si_sdr(recon[:, 0], batch[:, 0]))
    return {"mel_l1": float(torch.cat(mel_l1).mean()), "si_sdr": float(torch.cat(sdr).mean()), "n": len(waves)}


def reference_quality(codec: AudioCodec, split: str = "synthfoley-tiny-test", limit: int | None = None) -> dict[str, Any]:
    """The ``reference_quality`` record a shipped asset's JSON carries, measured on ``split``.

    ``{"split", "clips", "mel_l1", "si_sdr"}``; the default, synthfoley-tiny-test, is the first 12
    clips of synthfoley-test (the tiny world is a prefix of the default one), so the test suite can
    recompute it on its own tiny world and compare.
    """
    clips = load_split(split, limit=limit).clips
    quality = reconstruction_quality(codec, clips)
    return {"split": split, "clips": len(clips), "mel_l1": quality["mel_l1"], "si_sdr": quality["si_sdr"]}
