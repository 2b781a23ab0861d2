"""The audio backbone interface every embedding metric uses.

A backbone turns one clip's mono waveform (already at ``sample_rate``, DC removed, truncated to
the protocol duration) into embeddings ``[F, D]`` (``F = 1`` for clip-level backbones, the number
of examples for frame-level ones such as VGGish) and, when it is a classifier, class logits
``[C]``. Its weights come only from the weights registry (``weights_name``), or are random and
seeded (``random_init=True``) for tests of shapes, batching and determinism.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch


@dataclass
class BackboneOutput:
    embeddings: torch.Tensor  # float [F, D]
    logits: torch.Tensor | None = None  # float [C] (clip level) or None


class AudioBackbone(ABC):
    id: str  # e.g. "vggish", "panns", "passt", "synthprobe"
    sample_rate: int
    embedding_dim: int
    num_classes: int | None = None
    frame_level: bool = False  # several embeddings per clip, pooled over all clips (VGGish)
    weights_name: str | None = None  # the weights registry entry

    @property
    @abstractmethod
    def weights_sha256(self) -> str | None:
        """sha256 of the loaded weights (None for random weights)."""

    @abstractmethod
    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        """Embeddings (and logits) of one mono clip ``[N]`` at ``sample_rate``."""

    def settings(self) -> dict[str, object]:
        """Everything besides weights and input that decides the output (feature-cache key)."""
        return {"id": self.id, "sample_rate": self.sample_rate, "dim": self.embedding_dim}
