"""PaSST-S (``passt_s_swa_p16_128_ap476``, hear21passt), the backbone of ``fd@passt``, ``kl@passt``
and ``is@passt``.

As av-benchmark runs it: the clip at 32 kHz is zero-padded or cut to exactly 10 s (320 000
samples), turned into the PaSST mel (:class:`~v2abench.metrics.backbones.frontends.PasstMel`:
pre-emphasis 0.97, STFT n_fft 1024 / Hann 800 / hop 320, 128 Kaldi mel bins 0–15 kHz,
``(log(x + 1e-5) + 4.5) / 5``; 10 s -> ``[128, 1000]``), and passed through the transformer
(patches 16x16 with stride 10x10 -> 12 x 99 patches, 12 blocks of width 768, CLS and distillation
tokens). Embedding: mean of the final CLS and distillation tokens (768); logits: the 527 AudioSet
outputs of ``head`` (LayerNorm + Linear on that mean), before any sigmoid.

The network is hear21passt's own ``PaSST`` class built with ``pretrained=False`` (its
``get_basic_model`` and ``get_model(pretrained=True)`` download the checkpoint, so neither is
called); weights come from the registry entry ``passt-s-swa-ap476``
(``passt-s-f128-p16-s10-ap.476-swa.pt``), loaded with ``torch.load(weights_only=True)`` through
hear21passt's ``checkpoint_filter_fn`` and matched strictly.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput
from v2abench.metrics.backbones.frontends import PASST_SAMPLE_RATE, PasstMel

log = logging.getLogger(__name__)

WEIGHTS_NAME = "passt-s-swa-ap476"
ARCH = "passt_s_swa_p16_128_ap476"
CLIP_SECONDS = 10
CLIP_SAMPLES = CLIP_SECONDS * PASST_SAMPLE_RATE
NUM_CLASSES = 527
EMBEDDING_DIM = 768


def pad_or_cut(audio: torch.Tensor, length: int = CLIP_SAMPLES) -> torch.Tensor:
    """The first ``length`` samples of ``audio`` ``[..., N]``, zero-padded at the end when shorter."""
    if audio.shape[-1] >= length:
        return audio[..., :length]
    return F.pad(audio, (0, length - audio.shape[-1]))


@contextlib.contextmanager
def _quiet_hear21passt() -> Iterator[None]:
    """hear21passt prints the whole model and banners with ``print``; route them to the debug log."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    if buffer.getvalue().strip():
        log.debug("hear21passt: %s", buffer.getvalue().strip()[:2000])


def build_passt_network() -> nn.Module:
    """hear21passt's ``PaSST`` for ``passt_s_swa_p16_128_ap476`` with random (timm-style) init.

    ``get_model`` defaults reproduce ``get_basic_model``: 527 classes, one input channel, patch
    stride 10x10, input 128 x 998 (the grid of the positional embeddings: 12 x 99).
    """
    import hear21passt.models.passt as passt_module

    with _quiet_hear21passt():
        network = passt_module.get_model(arch=ARCH, pretrained=False, n_classes=NUM_CLASSES, in_channels=1, fstride=10, tstride=10, input_fdim=128, input_tdim=998)
    passt_module.first_RUN = False  # its forward prints shapes on the first call while this flag is set
    return network


def load_passt_state(network: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a PaSST checkpoint as hear21passt's pretrained loader would, but strictly."""
    from hear21passt.models.helpers.vit_helpers import adapt_input_conv
    from hear21passt.models.passt import checkpoint_filter_fn

    state = checkpoint_filter_fn(state, network)
    proj = "patch_embed.proj.weight"
    if proj in state and state[proj].shape[1] != 1:
        state[proj] = adapt_input_conv(1, state[proj])
    network.load_state_dict(state, strict=True)


class PasstBackbone(AudioBackbone):
    """PaSST-S on one 10 s window at 32 kHz: embedding ``[1, 768]`` and logits ``[527]``.

    ``blocks`` keeps only the first transformer blocks (tests only: a forward of the full 12-block
    network takes about 10 s on 2 CPU cores); it cannot be combined with pretrained weights.
    """

    id = "passt"
    sample_rate = PASST_SAMPLE_RATE
    embedding_dim = EMBEDDING_DIM
    num_classes = NUM_CLASSES
    frame_level = False
    weights_name = WEIGHTS_NAME

    def __init__(self, *, random_init: bool = False, seed: int = 0, device: str | torch.device = "cpu", blocks: int | None = None) -> None:
        if blocks is not None and not random_init:
            raise ValueError("blocks= truncates the network and is only for random_init=True")
        self.device = torch.device(device)
        self.random_init = random_init
        self.seed = seed
        self.blocks = blocks
        self._sha256: str | None = None
        if random_init:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                network = build_passt_network()
            if blocks is not None:
                network.blocks = network.blocks[:blocks]
        else:
            from v2abench.weights import require, sha256_file

            path = require(WEIGHTS_NAME)
            state = torch.load(path, map_location="cpu", weights_only=True)
            network = build_passt_network()
            load_passt_state(network, dict(state))
            self._sha256 = sha256_file(path)
            log.info("loaded PaSST weights %s (sha256 %s)", path, self._sha256[:12])
        self.network = network.to(self.device).eval()
        self.mel = PasstMel().to(self.device).eval()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    @torch.inference_mode()
    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        wave = pad_or_cut(audio.detach().reshape(1, -1).float()).to(self.device)
        spec = self.mel(wave)  # [1, 128, 1000]
        with warnings.catch_warnings():
            # 10 s gives 1000 frames, the positional grid was sized for 998: both make 99 patch columns
            warnings.filterwarnings("ignore", message="Input image size")
            logits, features = self.network(spec[:, None])
        return BackboneOutput(features.float().cpu(), logits[0].float().cpu())

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "arch": ARCH,
            "window": f"first {CLIP_SECONDS} s, zero-padded",
            "frontend": "preemph 0.97, stft 1024/800/320, kaldi mel 128 0-15000 Hz, (log(x+1e-5)+4.5)/5",
            "embedding": "mean(cls, dist)",
            **({"random_init_seed": self.seed} if self.random_init else {}),
            **({"blocks": self.blocks} if self.blocks is not None else {}),
        }
