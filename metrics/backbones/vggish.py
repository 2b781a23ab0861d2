"""VGGish (torchvggish's network and weights), the backbone of ``fad@vggish``.

As in av-benchmark (and audioldm_eval, which it follows): no PCA/whitening/quantisation
postprocessing, and the ReLU after the last fully connected layer removed, so the embedding is
the 128-d *pre-activation* of ``embeddings.4``. Frame-level: one embedding per 0.96 s example,
all examples of all clips pooled for the Fréchet statistics.

Front end (:func:`~v2abench.metrics.backbones.frontends.vggish_examples`): 16 kHz, frames of
400 samples (25 ms) every 160 (10 ms) with no padding, periodic Hann, |rfft 512|, 64 HTK-mel
bands 125–7500 Hz, ``log(mel + 0.01)``, examples of 96 frames with hop 96 and the incomplete tail
dropped: ``[n, 1, 96, 64]`` into the network.

Weights: registry entry ``vggish`` (torchvggish's ``vggish-10086976.pth``), loaded with
``torch.load(weights_only=True)``. ``torchvggish.vggish()`` would download them, so it is never
called; the module class is built directly.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from v2abench.metrics.backbones.checkpoints import build_network
from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput
from v2abench.metrics.backbones.frontends import VGGISH_EXAMPLE_FRAMES, VGGISH_MEL_BANDS, VGGISH_SAMPLE_RATE, vggish_examples

log = logging.getLogger(__name__)

WEIGHTS_NAME = "vggish"


def build_vggish_network() -> nn.Module:
    """torchvggish's ``VGG`` without postprocessing, its final ReLU dropped.

    ``embeddings`` stays an ``nn.Sequential`` whose Linear layers keep their indices (0, 2, 4), so
    the state-dict keys are exactly those of torchvggish's checkpoint.
    """
    from torchvggish.torchvggish import VGG, make_layers

    network = VGG(make_layers(), postprocess=False)
    layers = list(network.embeddings.children())
    if not isinstance(layers[-1], nn.ReLU):
        raise RuntimeError(f"unexpected torchvggish embedding layers: {layers}")
    network.embeddings = nn.Sequential(*layers[:-1])
    return network


class VGGishBackbone(AudioBackbone):
    """128-d pre-ReLU VGGish embeddings ``[n_examples, 128]`` of a 16 kHz clip; no logits.

    ``n_examples = T // 96`` with ``T = 1 + (N - 400) // 160`` (about ``floor(duration / 0.96)``);
    a clip shorter than 0.975 s gives an empty ``[0, 128]``.
    """

    id = "vggish"
    sample_rate = VGGISH_SAMPLE_RATE
    embedding_dim = 128
    num_classes = None
    frame_level = True
    weights_name = WEIGHTS_NAME

    def __init__(self, *, random_init: bool = False, seed: int = 0, device: str | torch.device = "cpu", batch_size: int = 64) -> None:
        self.device = torch.device(device)
        self.random_init = random_init
        self.seed = seed
        self.batch_size = batch_size
        built = build_network(build_vggish_network, random_init=random_init, seed=seed, weights_name=WEIGHTS_NAME,
                              load_state=lambda path: torch.load(path, map_location="cpu", weights_only=True))
        network, self._sha256 = built.net, built.sha256
        self.network = network.to(self.device).eval()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    @torch.inference_mode()
    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        examples = vggish_examples(audio)  # [n, 96, 64]
        if examples.shape[0] == 0:
            log.debug("clip of %d samples is shorter than one VGGish example", audio.numel())
            return BackboneOutput(torch.zeros(0, self.embedding_dim))
        outputs = [
            self.network(chunk[:, None].to(self.device)).float().cpu()
            for chunk in examples.split(self.batch_size)
        ]
        return BackboneOutput(torch.cat(outputs))

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "frontend": f"log-mel {VGGISH_MEL_BANDS} HTK bands 125-7500 Hz, 25/10 ms, log offset 0.01, {VGGISH_EXAMPLE_FRAMES}-frame examples",
            "embedding": "pre-ReLU fc, no PCA",
            **({"random_init_seed": self.seed} if self.random_init else {}),
        }
