"""LAION-CLAP (``music_speech_audioset_epoch_15_esc_89.98.pt``: HTSAT-base audio tower, RoBERTa-base
text tower, no fusion), the backbone ``laion`` of ``clap@laion`` and ``clap_audio@laion``.

``laion_clap.CLAP_Module`` downloads ``roberta-base`` from the hub when it is constructed, so the
towers are built here (:mod:`.htsat`, :mod:`.roberta`) and only the checkpoint comes from the
weights registry. :class:`ClapModel` mirrors ``laion_clap.clap_module.model.CLAP`` key for key::

    audio_branch      HTSAT-base (:class:`~v2abench.metrics.backbones.htsat.HTSAT`)      -> [B, 1024]
    audio_projection  Linear(1024, 512) -> ReLU -> Linear(512, 512)                      -> [B, 512]
    text_branch       RobertaModel(roberta-base config), pooler output                   -> [B, 768]
    text_projection   Linear(768, 512) -> ReLU -> Linear(512, 512)                        -> [B, 512]
    audio_transform, text_transform, logit_scale_a, logit_scale_t
                      training-time heads: in the checkpoint, built for exact key matching, unused

Both embeddings are L2-normalised (``CLAP.get_audio_embedding`` / ``get_text_embedding``).

Loading: ``torch.load(weights_only=True)`` (memory-mapped), the ``state_dict`` entry, a leading
``module.`` stripped, ``text_branch.embeddings.position_ids`` (a buffer older transformers saved;
it must equal ``arange(514)``) dropped, then ``load_state_dict(strict=True)`` onto a meta-device
build: every remaining key must match, in name and shape.

Audio front end (PROTOCOL.md "CLAP score"): 48 kHz float tensors (no int16 quantisation, as
``get_audio_embedding_from_data(use_tensor=True)``); :func:`~.htsat.repeatpad` to 10 s (shorter
clips repeated then zero-padded; longer clips cropped to their first 10 s, or at a random offset
in the ``random_crop`` variant); the HTSAT mel of :mod:`.htsat`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput
from v2abench.metrics.backbones.htsat import (
    CLIP_SAMPLES,
    HTSAT,
    SAMPLE_RATE,
    HtsatConfig,
    check_derived_buffers,
    mel_settings,
    repeatpad,
)
from v2abench.metrics.backbones.roberta import (
    CONTEXT_LENGTH,
    MERGES_WEIGHTS,
    VOCAB_WEIGHTS,
    RobertaTextTokenizer,
    StandInTokenizer,
    build_text_branch,
    materialise_buffers,
)

log = logging.getLogger(__name__)

WEIGHTS_NAME = "laion-clap-music-speech-audioset"
JOINT_DIM = 512
POSITION_IDS_KEY = "text_branch.embeddings.position_ids"


def projection(in_features: int, dim: int = JOINT_DIM) -> nn.Sequential:
    """CLAP's ``audio_projection`` / ``text_projection``: Linear -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(in_features, dim), nn.ReLU(), nn.Linear(dim, dim))


class MLPLayers(nn.Module):
    """CLAP's ``audio_transform`` / ``text_transform`` (``sequential.0`` and ``.3``); unused for embeddings."""

    def __init__(self, dim: int = JOINT_DIM) -> None:
        super().__init__()
        self.sequential = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(0.1), nn.Linear(dim, dim))


class ClapModel(nn.Module):
    """LAION-CLAP without fusion; the defaults are the checkpoint's (smaller towers only for tests)."""

    def __init__(self, audio_config: HtsatConfig | None = None, text_overrides: dict[str, Any] | None = None) -> None:
        super().__init__()
        audio_config = audio_config or HtsatConfig()
        self.audio_branch = HTSAT(audio_config)
        self.text_branch = build_text_branch(text_overrides)
        self.audio_projection = projection(audio_config.num_features)
        self.text_projection = projection(self.text_branch.config.hidden_size)
        self.audio_transform = MLPLayers()
        self.text_transform = MLPLayers()
        self.logit_scale_a = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))
        self.logit_scale_t = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def audio_embedding(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, 480000]`` 48 kHz -> L2-normalised ``[B, 512]``."""
        return F.normalize(self.audio_projection(self.audio_branch(wave)), dim=-1)

    def text_embedding(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids and mask ``[B, 77]`` -> L2-normalised ``[B, 512]`` (pooler output, then projection)."""
        pooled = self.text_branch(input_ids=input_ids, attention_mask=attention_mask)["pooler_output"]
        return F.normalize(self.text_projection(pooled), dim=-1)


def load_checkpoint_state(path: Path) -> dict[str, torch.Tensor]:
    """The CLAP state dict of a LAION-CLAP checkpoint, keys as :class:`ClapModel` names them.

    ``weights_only=True`` with numpy's array reconstructors allowed (nothing else), memory-mapped
    so that the optimiser state the released files carry is never read.
    """
    from v2abench.metrics.backbones.panns import _numpy_safe_globals

    with torch.serialization.safe_globals(_numpy_safe_globals()):
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:  # a legacy (non-zip) file cannot be memory-mapped
            if "mmap" not in str(err):
                raise
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint["state_dict"] if isinstance(checkpoint, dict) and "state_dict" in checkpoint else checkpoint
    state = {(k.removeprefix("module.")): v for k, v in state.items()}
    position_ids = state.pop(POSITION_IDS_KEY, None)
    if position_ids is not None and not torch.equal(position_ids.reshape(-1).long(), torch.arange(position_ids.numel())):
        raise ValueError(f"{path}: {POSITION_IDS_KEY} is not arange({position_ids.numel()})")
    return state


def load_clap_model(
    path: Path, device: torch.device | str = "cpu", audio_config: HtsatConfig | None = None, text_overrides: dict[str, Any] | None = None
) -> ClapModel:
    """A :class:`ClapModel` holding the checkpoint's weights (exact key matching; configs other than
    the defaults only in tests)."""
    with torch.device("meta"):
        model = ClapModel(audio_config, text_overrides)
    model.load_state_dict(load_checkpoint_state(path), strict=True, assign=True)
    materialise_buffers(model.text_branch)
    meta = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if meta:
        raise RuntimeError(f"CLAP tensors left unloaded: {', '.join(meta[:5])}")
    check_derived_buffers(model.audio_branch)
    return model.float().to(device)


class ClapBackbone(AudioBackbone):
    """LAION-CLAP: audio embedding ``[1, 512]`` of a clip (48 kHz) and text embeddings of captions.

    ``random_init=True`` builds every weight randomly (seeded) and uses the test-only
    :class:`~v2abench.metrics.backbones.roberta.StandInTokenizer`; ``audio_config`` and
    ``text_overrides`` (e.g. ``HtsatConfig(depths=(2, 2, 2, 2))``, ``{"num_hidden_layers": 2}``)
    shrink the towers for tests (the real checkpoint needs the defaults).
    """

    id = "laion"
    sample_rate = SAMPLE_RATE
    embedding_dim = JOINT_DIM
    num_classes = None
    frame_level = False
    weights_name = WEIGHTS_NAME

    def __init__(
        self,
        *,
        random_init: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
        crop: str = "first",
        crop_seed: int = 0,
        batch_size: int = 8,
        audio_config: HtsatConfig | None = None,
        text_overrides: dict[str, Any] | None = None,
    ) -> None:
        if crop not in ("first", "random_crop"):
            raise ValueError(f"unknown crop {crop!r}: 'first' (protocol) or 'random_crop' (variant)")
        self.device = torch.device(device)
        self.random_init, self.seed = random_init, seed
        self.crop, self.crop_seed = crop, crop_seed
        self._crop_rng = np.random.default_rng(crop_seed)
        self.batch_size = batch_size
        self._sha256: str | None = None
        self.tokenizer_sha256: dict[str, str] = {}
        if random_init:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = ClapModel(audio_config or HtsatConfig(), text_overrides)
                model.audio_branch.init_weights()
            self.tokenizer: RobertaTextTokenizer | StandInTokenizer = StandInTokenizer(model.text_branch.config.vocab_size)
            self.reduced = {"audio_config": repr(audio_config or HtsatConfig()), "text_overrides": dict(sorted((text_overrides or {}).items()))}
        else:
            if audio_config is not None or text_overrides is not None:
                raise ValueError("reduced towers are for random weights only")
            from v2abench.weights import require, sha256_file

            path = require(WEIGHTS_NAME)
            vocab, merges = require(VOCAB_WEIGHTS), require(MERGES_WEIGHTS)
            model = load_clap_model(path)
            self._sha256 = sha256_file(path)
            self.tokenizer = RobertaTextTokenizer(vocab, merges)
            self.tokenizer_sha256 = {VOCAB_WEIGHTS: sha256_file(vocab), MERGES_WEIGHTS: sha256_file(merges)}
            self.reduced = {}
            log.info("loaded LAION-CLAP weights %s (sha256 %s)", path, self._sha256[:12])
        self.model = model.to(self.device).eval()

    @property
    def weights_sha256(self) -> str | None:
        return self._sha256

    def prepare(self, audio: torch.Tensor) -> torch.Tensor:
        """One mono 48 kHz clip ``[N]`` -> ``[480000]`` (repeat-pad, or crop per ``crop``)."""
        return repeatpad(audio.detach().float().reshape(-1), CLIP_SAMPLES, self.crop, self._crop_rng)

    @torch.inference_mode()
    def embed_batch(self, clips: list[torch.Tensor]) -> torch.Tensor:
        """L2-normalised audio embeddings ``[len(clips), 512]``, ``batch_size`` clips per forward."""
        out = []
        for start in range(0, len(clips), self.batch_size):
            wave = torch.stack([self.prepare(c) for c in clips[start : start + self.batch_size]]).to(self.device)
            out.append(self.model.audio_embedding(wave).float().cpu())
        return torch.cat(out) if out else torch.zeros((0, JOINT_DIM))

    def embed(self, audio: torch.Tensor) -> BackboneOutput:
        return BackboneOutput(self.embed_batch([audio]))

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """L2-normalised text embeddings ``[len(texts), 512]`` (tokens padded/truncated to 77)."""
        out = []
        for start in range(0, len(texts), max(self.batch_size, 32)):
            tokens = self.tokenizer(list(texts[start : start + max(self.batch_size, 32)]))
            out.append(self.model.text_embedding(tokens["input_ids"].to(self.device), tokens["attention_mask"].to(self.device)).float().cpu())
        return torch.cat(out) if out else torch.zeros((0, JOINT_DIM))

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "model": "LAION-CLAP HTSAT-base + RoBERTa-base, no fusion",
            "frontend": mel_settings(),
            "fill": "repeatpad",
            "crop": self.crop if self.crop == "first" else f"random_crop(seed {self.crop_seed})",
            "embedding": "normalize(audio_projection(htsat embedding))",
            **({"random_init_seed": self.seed, **self.reduced} if self.random_init else {}),
        }

    def text_settings(self) -> dict[str, object]:
        return {**self.tokenizer.settings(), "context_length": CONTEXT_LENGTH, "tokenizer_sha256": self.tokenizer_sha256}
