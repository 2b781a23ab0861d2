"""PANNs CNN14 at 16 kHz (checkpoint ``Cnn14_16k_mAP=0.438.pth``), the backbone of ``fd@panns``,
``kl@panns`` and ``is@panns``.

The architecture is written here from the published description of CNN14 (Kong et al., PANNs,
2020; public code qiuqiangkong/audioset_tagging_cnn, class ``Cnn14_16k``), with module names chosen
so that the checkpoint's ``model`` state dict loads with strict key matching::

    wave [B, N] 16 kHz
      └ spectrogram_extractor   |STFT|^2: reflect pad 256, Hann 512, hop 160   -> [B, 1, T, 257]
      └ logmel_extractor        Slaney mel 64 bands 50–8000 Hz, 10 log10 (amin 1e-10, no top_db)
      └ bn0                     BatchNorm over the 64 mel bands
      └ conv_block1..6          (conv3x3 -> BN -> ReLU) x 2, then 2x2 average pool (1x1 for block 6)
                                channels 64, 128, 256, 512, 1024, 2048
      └ mean over mel, then max + mean over time                         -> [B, 2048]
      └ fc1 + ReLU              "embedding"                              -> [B, 2048]
      └ fc_audioset             logits                                   -> [B, 527]

``T = 1 + N // 160``; five 2x2 poolings need ``T >= 32``, so clips shorter than 4960 samples
(0.31 s) are refused. Dropout and SpecAugment only act in training and are left out.

Logits: PANNs' own ``clipwise_output`` is ``sigmoid(fc_audioset(...))`` (multi-label); the KL and
IS of PROTOCOL.md take a *softmax* over the 527 logits, so this backbone exposes the pre-sigmoid
logits and leaves the normalisation to the metric. The embedding is the post-ReLU ``fc1`` output,
as PANNs' ``embedding`` and av-benchmark's ``"2048"`` feature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from v2abench.metrics.backbones.checkpoints import build_network
from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput
from v2abench.metrics.backbones.frontends import LogMelFilterBank, PowerSpectrogram


WEIGHTS_NAME = "panns-cnn14-16k"
SAMPLE_RATE = 16_000
WINDOW = 512
HOP = 160
MEL_BANDS = 64
FMIN_HZ, FMAX_HZ = 50.0, 8000.0
NUM_CLASSES = 527
EMBEDDING_DIM = 2048
CHANNELS = (64, 128, 256, 512, 1024, 2048)
MIN_SAMPLES = 31 * HOP  # T = 1 + N // 160 >= 32 frames survive five 2x2 poolings


class ConvBlock(nn.Module):
    """Two 3x3 convolutions (no bias), each followed by batch norm and ReLU, then average pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool)


class Cnn14(nn.Module):
    """CNN14 (16 kHz front end) returning ``(embedding [B, 2048], logits [B, 527])``."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.spectrogram_extractor = PowerSpectrogram(n_fft=WINDOW, hop=HOP)
        self.logmel_extractor = LogMelFilterBank(SAMPLE_RATE, WINDOW, MEL_BANDS, FMIN_HZ, FMAX_HZ)
        self.bn0 = nn.BatchNorm2d(MEL_BANDS)
        in_channels = 1
        for i, out_channels in enumerate(CHANNELS, start=1):
            setattr(self, f"conv_block{i}", ConvBlock(in_channels, out_channels))
            in_channels = out_channels
        self.fc1 = nn.Linear(EMBEDDING_DIM, EMBEDDING_DIM)
        self.fc_audioset = nn.Linear(EMBEDDING_DIM, num_classes)

    def init_weights(self) -> None:
        """PANNs' initialisation: Xavier-uniform convolutions and linears (zero bias), BN at identity."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> log-mel ``[B, 1, T, 64]`` in dB (before ``bn0``)."""
        return self.logmel_extractor(self.spectrogram_extractor(wave))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.log_mel(wave)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)  # normalise each mel band
        for i in range(1, len(CHANNELS) + 1):
            x = getattr(self, f"conv_block{i}")(x, pool=(2, 2) if i < len(CHANNELS) else (1, 1))
        x = x.mean(dim=3)  # over mel -> [B, 2048, T']
        x = x.amax(dim=2) + x.mean(dim=2)
        embedding = F.relu(self.fc1(x))
        return embedding, self.fc_audioset(embedding)


def load_checkpoint_state(path: Path) -> dict[str, torch.Tensor]:
    """The ``model`` state dict of a PANNs checkpoint, loaded with ``weights_only=True``.

    PANNs checkpoints are ``{"iteration", "model", "sampler"}``; the sampler state holds numpy
    arrays, which the restricted unpickler refuses by default, so numpy's array and dtype
    reconstructors (and nothing else) are added to its allow-list: no arbitrary code can run.
    """
    with torch.serialization.safe_globals(_numpy_safe_globals()):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint["model"] if isinstance(checkpoint, dict) and "model" in checkpoint else checkpoint
    return dict(state)


def _numpy_safe_globals() -> list[object]:
    """numpy's array/scalar reconstructors, ``ndarray``, ``dtype`` and the ``numpy.dtypes`` classes."""
    import numpy.dtypes

    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    entries: list[object] = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    entries += [cls for name in dir(numpy.dtypes) if isinstance(cls := getattr(numpy.dtypes, name), type) and name.endswith("DType")]
    if multiarray.__name__ != "numpy.core.multiarray":  # files pickled by numpy 1.x name the old path
        entries += [(multiarray._reconstruct, "numpy.core.multiarray._reconstruct"), (multiarray.scalar, "numpy.core.multiarray.scalar")]
    return entries


class PannsBackbone(AudioBackbone):
    """CNN14 16 kHz: embedding ``[1, 2048]`` and pre-sigmoid logits ``[527]`` of a whole clip."""

    id = "panns"
    sample_rate = SAMPLE_RATE
    embedding_dim = EMBEDDING_DIM
    num_classes = NUM_CLASSES
    frame_level = False
    weights_name = WEIGHTS_NAME

    def __init__(self, *, random_init: bool = False, seed: int = 0, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.random_init = random_init
        self.seed = seed
        built = build_network(Cnn14, random_init=random_init, seed=seed, weights_name=WEIGHTS_NAME,
                              load_state=load_checkpoint_state, initialise=lambda n: n.init_weights())
        network, self._sha256 = built.net, built.sha256
        self.network = network.to(self.device).eval()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    @torch.inference_mode()
    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        wave = audio.detach().reshape(1, -1).float()
        if wave.shape[1] < MIN_SAMPLES:
            raise ValueError(f"PANNs CNN14 needs at least {MIN_SAMPLES} samples ({MIN_SAMPLES / SAMPLE_RATE:.2f} s) at 16 kHz; got {wave.shape[1]}")
        embedding, logits = self.network(wave.to(self.device))
        return BackboneOutput(embedding.float().cpu(), logits[0].float().cpu())

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "frontend": f"power STFT win {WINDOW} hop {HOP}, Slaney mel {MEL_BANDS} {FMIN_HZ:g}-{FMAX_HZ:g} Hz, dB",
            "embedding": "relu(fc1)",
            "logits": "pre-sigmoid fc_audioset",
            **({"random_init_seed": self.seed} if self.random_init else {}),
        }
