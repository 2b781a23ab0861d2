"""DreamFoley: one causal LM over ``[text tokens; visual tokens; delayed audio tokens]``.

Offline version of the LLM-conditioned paradigm (MODELS.md): the "LLM" is a small causal transformer
trained from scratch, its text tokens come from a word-level tokenizer of the training split's
captions (stored in the run's ``meta.json``), and the visual tokens are the dual encoder's features
(semantic stream upsampled to the sync stream's 25 fps and concatenated; :mod:`v2abench.encoders.dual`)
projected to the model width. The whole sequence is causal, prefix included
(``causal_prefix``). Captions are truncated/padded to a fixed ``text.length`` so a clip's sequence
does not depend on the captions batched with it.

Training: cross-entropy per codebook with loss weights decaying with depth (the paper's 0.240, 0.192,
0.154, 0.123 for the first four codebooks; normalised by their sum); the video tokens are replaced by a
learned empty-video embedding and the text tokens by a learned empty-text sequence, each independently
with probability ``cfg_dropout_video`` / ``cfg_dropout_text`` (0.1). Sampling defaults follow the
paper: temperature 1.0, top-p 0.9, top-k 25, CFG scale 3 (conditional stream vs both conditions empty,
batched as one doubled batch per step).

Tasks: VTA (video only: the empty-text embedding takes the text's place; the caption that the loader
passes is *not* used, as a VTA row must not read the answer from a caption) and TC-VTA (the caption
controls the sound, the video its timing).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from v2abench.encoders.text_tokenizer import WordTokenizer, caption_tokenizer
from v2abench.interface import Task, V2ABatch
from v2abench.lm import VisualMask
from v2abench.models.foleygen import FoleyGen, FoleyGenModule, FoleyGenTrainable
from v2abench.models.lm_components import build_codec, build_visual_encoder, caption_ids


class DreamFoleyModule(FoleyGenModule):
    causal_prefix = True

    def __init__(self, cfg: dict[str, Any], visual_dim: int, num_codebooks: int, card: int, frame_rate: float, tokenizer: WordTokenizer, visual_fps: float | None = None) -> None:
        super().__init__(cfg, visual_dim, num_codebooks, card, frame_rate, visual_fps)
        if len(self.codebook_weights) != num_codebooks:
            raise ValueError(f"model.codebook_weights has {len(self.codebook_weights)} entries for {num_codebooks} codebooks")
        dim, self.text_length = int(cfg["model"]["dim"]), int(cfg["text"]["length"])
        self.tokenizer = tokenizer
        self.text_embed = nn.Embedding(len(tokenizer), dim, padding_idx=tokenizer.pad_id)
        self.null_text = nn.Parameter(torch.zeros(1, self.text_length, dim))
        nn.init.normal_(self.null_text, std=0.02)

    @property
    def mask_mode(self) -> VisualMask:
        return VisualMask.ALL_FRAME  # one causal LM: every audio step sees the whole (earlier) prefix

    def prefix(self, visual: torch.Tensor, drop: torch.Tensor | None = None, text_ids: torch.Tensor | None = None, drop_text: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, text.length + T_v, D]``: text embeddings (or the empty-text sequence), then projected video.

        ``drop`` / ``drop_text``: bool ``[B]``, rows whose video / text is replaced by the learned empty one.
        """
        video = super().prefix(visual, drop)
        null = self.null_text.expand(visual.shape[0], -1, -1)
        if text_ids is None:
            text = null
        else:
            text = self.text_embed(text_ids.to(visual.device))
            if drop_text is not None:
                text = torch.where(drop_text[:, None, None], null, text)
        return torch.cat([text, video], dim=1)

    def empty_prefix(self, visual: torch.Tensor) -> torch.Tensor:
        """Both conditions empty: the unconditional CFG stream."""
        return self.prefix(visual, drop=torch.ones(visual.shape[0], dtype=torch.bool, device=visual.device))

    def batch_loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        visual, tokens, text = batch
        m = self.cfg["model"]
        drop_v = torch.rand(visual.shape[0], device=visual.device) < float(m.get("cfg_dropout_video", 0.1))
        drop_t = torch.rand(visual.shape[0], device=visual.device) < float(m.get("cfg_dropout_text", 0.1))
        return self.loss_from_prefix(self.prefix(visual, drop_v, text, drop_t), tokens)


def _tokenizer_of(cfg: dict[str, Any]) -> WordTokenizer:
    return caption_tokenizer(cfg["text"].get("split", cfg["data"]["split"]))


class DreamFoleyTrainable(FoleyGenTrainable):
    name = "dreamfoley"
    config_dir = "models/dreamfoley"

    def build_module(self, config: dict[str, Any]) -> L.LightningModule:
        codec, encoder = build_codec(config["codec"]), build_visual_encoder(config["visual"])
        return DreamFoleyModule(config, encoder.dim, codec.num_codebooks, codec.codebook_size, codec.frame_rate, _tokenizer_of(config), encoder.fps)

    def export_meta(self, module: L.LightningModule, config: dict[str, Any]) -> dict[str, Any]:
        return super().export_meta(module, config) | {"tokenizer": module.tokenizer.to_dict()}  # type: ignore[attr-defined]


class DreamFoley(FoleyGen):
    """The DreamFoley generator from an exported run (``--ckpt RUN_DIR``, or the newest quick run)."""

    NAME = "dreamfoley"
    DESCRIPTION = {"paradigm": "autoregressive", "version": "1", "tasks": (Task.VTA, Task.TC_VTA)}
    TASKS = (Task.VTA, Task.TC_VTA)
    SUMMARY = "causal LM over [text; dual-encoder video; delayed audio tokens]"

    def build_module(self) -> DreamFoleyModule:
        tokenizer = WordTokenizer.from_dict(self.run_meta["tokenizer"])
        return DreamFoleyModule(self.cfg, self.encoder.dim, self.codec.num_codebooks, self.codec.codebook_size, self.codec.frame_rate, tokenizer, self.encoder.fps)

    def conditions(self, batch: V2ABatch, task: Task, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        module: DreamFoleyModule = self.module  # type: ignore[assignment]
        text_ids = None
        if task is Task.TC_VTA:
            if batch.text is None or not all(batch.text):
                raise ValueError("dreamfoley's text-controlled VTA needs a caption for every clip")
            text_ids = caption_ids(module.tokenizer, list(batch.text), module.text_length)
        return module.prefix(visual, text_ids=text_ids), module.empty_prefix(visual)
