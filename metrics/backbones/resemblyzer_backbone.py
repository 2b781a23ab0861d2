"""Resemblyzer's speaker encoder, the backbone of the ``resemblyzer`` style-similarity metric.

The weights (``pretrained.pt``) ship inside the ``resemblyzer`` pip package, so this backbone runs
for real everywhere; ``weights_sha256`` is the sha256 of that file and there is no registry entry.

Per clip (16 kHz mono), following ``resemblyzer.preprocess_wav`` then ``VoiceEncoder.embed_utterance``:

1. volume normalisation to -30 dBFS, increase only (a silent clip is left as it is: the package
   would divide by zero);
2. voice-activity trimming (``trim_long_silences``: webrtcvad mode 3 on 30 ms windows, moving
   average over 8 windows, dilation by 7): stretches the VAD calls silent are cut out. **This can
   remove most of a non-speech sound**, which is why PROTOCOL.md reports ``clap_audio`` beside this
   metric. If trimming leaves nothing, the untrimmed clip is used and a warning is logged.
   ``vad_trim=False`` skips this step (recorded in ``settings()``);
3. 40-band mel spectrogram (librosa, n_fft 400, hop 160), partial utterances of 160 frames (1.6 s)
   at 1.3 per second (last one kept when at least 75 % covered, zero-padded), a 3-layer LSTM (256)
   + Linear + ReLU per partial, L2-normalised; the clip embedding is the L2-normalised mean of the
   partial embeddings: ``[1, 256]`` with unit norm, so the cosine of two clips is their dot product.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
EMBEDDING_DIM = 256
TARGET_DBFS = -30.0


def _import_resemblyzer() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # webrtcvad imports the deprecated pkg_resources
        import resemblyzer
        import resemblyzer.audio

    return resemblyzer


def shipped_weights_path() -> Path:
    """``pretrained.pt`` inside the installed resemblyzer package."""
    return Path(_import_resemblyzer().__file__).resolve().parent / "pretrained.pt"


class ResemblyzerBackbone(AudioBackbone):
    """Resemblyzer ``VoiceEncoder`` embedding ``[1, 256]`` (unit norm) of a 16 kHz clip; no logits."""

    id = "resemblyzer"
    sample_rate = SAMPLE_RATE
    embedding_dim = EMBEDDING_DIM
    num_classes = None
    frame_level = False
    weights_name = None  # shipped inside the pip package

    def __init__(self, *, random_init: bool = False, seed: int = 0, device: str | torch.device = "cpu", vad_trim: bool = True) -> None:
        resemblyzer = _import_resemblyzer()
        self.device = torch.device(device)
        self.random_init = random_init
        self.seed = seed
        self.vad_trim = vad_trim
        path = shipped_weights_path()
        self.encoder = resemblyzer.VoiceEncoder(device=self.device, verbose=False, weights_fpath=path)
        self._sha256: str | None = None
        if random_init:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                for module in self.encoder.modules():
                    if isinstance(module, (nn.LSTM, nn.Linear)):
                        module.reset_parameters()
        else:
            from v2abench.weights import sha256_file

            self._sha256 = sha256_file(path)
            log.debug("resemblyzer weights %s (sha256 %s)", path, self._sha256[:12])
        self.encoder.eval()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    def preprocess(self, audio: torch.Tensor) -> np.ndarray:
        """Steps 1–2 above: volume normalisation and (optionally) VAD trimming, float32 numpy."""
        from resemblyzer.audio import normalize_volume, trim_long_silences

        wav = audio.detach().reshape(-1).cpu().numpy().astype(np.float32)
        if np.any(wav):
            wav = normalize_volume(wav, TARGET_DBFS, increase_only=True).astype(np.float32)
        if self.vad_trim:
            trimmed = trim_long_silences(wav)
            if trimmed.size == 0:
                log.warning("resemblyzer VAD removed the whole clip (%d samples); embedding it untrimmed", wav.size)
            else:
                wav = trimmed
        return wav

    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        """Embedding ``[1, 256]``. The LSTM runs on one intra-op thread: its per-step products are
        too small to gain from more, and on busy cores the OpenMP barriers of 160 steps x 3 layers
        made it up to 100x slower (seconds instead of ~20 ms per clip)."""
        wav = self.preprocess(audio)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            embedding = self.encoder.embed_utterance(wav)
        finally:
            torch.set_num_threads(threads)
        return BackboneOutput(torch.from_numpy(np.asarray(embedding, dtype=np.float32))[None])

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "preprocess": f"normalize to {TARGET_DBFS:g} dBFS (increase only)" + (", webrtcvad trim" if self.vad_trim else ", no VAD trim"),
            "partials": "1.6 s at 1.3/s, min coverage 0.75",
            **({"random_init_seed": self.seed} if self.random_init else {}),
        }
