"""Audio codecs: waveform <-> tokens ``[B, K, T]`` (discrete) or latents ``[B, C, T]`` (continuous).

::

    base          DiscreteCodec, ContinuousCodec: the one interface (shapes, padding, no_grad)
    stft_codec    the suite's STFT-encoder / iSTFT-decoder family: SynthRVQCodec, SynthLatentCodec
    losses        log-mel L1 (the reported mel distance), multi-resolution STFT, SI-SDR
    audio_data    a split's audio decoded once, cached, served as seeded random crops
    training      the LightningModule and the Trainables behind `v2abench train --model synth-rvq|synth-latent`
    synth         load_synth_rvq / load_synth_latent (exported run or shipped asset), reconstruction_quality

Heavy modules (encodec, lightning) load on first use of the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

from v2abench.codecs.base import AudioCodec, ContinuousCodec, DiscreteCodec

_LAZY = {
    "SynthRVQCodec": "v2abench.codecs.stft_codec",
    "SynthLatentCodec": "v2abench.codecs.stft_codec",
    "STFTCodecConfig": "v2abench.codecs.stft_codec",
    "load_synth_rvq": "v2abench.codecs.synth",
    "load_synth_latent": "v2abench.codecs.synth",
    "reconstruction_quality": "v2abench.codecs.synth",
    "SynthRVQTrainable": "v2abench.codecs.training",
    "SynthLatentTrainable": "v2abench.codecs.training",
}

__all__ = [
    "AudioCodec", "ContinuousCodec", "DiscreteCodec", "STFTCodecConfig", "SynthLatentCodec", "SynthLatentTrainable",
    "SynthRVQCodec", "SynthRVQTrainable", "load_synth_latent", "load_synth_rvq", "reconstruction_quality",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'v2abench.codecs' has no attribute {name!r}")
