"""DreamFoley: a Qwen2 causal LM over ``[text tokens; projected video tokens; delayed audio tokens]``.

The paper (seed 003_5d24a6f9d929c1a2.txt) conditions Qwen2.5-7B. Here the language model is the
``transformers`` Qwen2 architecture (grouped-query attention, RMSNorm, SwiGLU, RoPE) built from the
config's ``llm`` block (:func:`v2abench.llm.build.build_causal_lm`; ``paper.yaml`` is Qwen2.5-7B's), or
loaded from a local folder through the weights registry with ``llm: {weights: qwen2.5-7b}``
(:mod:`v2abench.llm.pretrained`; never downloaded). Only the LLM's backbone is kept: its text head
would predict words, which DreamFoley never does. One causal sequence, fed as ``inputs_embeds``::

    [ WordEmbed(caption ids)  |  MLP(F_v)  |  sum_q AudioEmbed_q(Delay(R)_q) ]
      text.length tokens         T_v tokens   S - 1 audio steps (delay pattern, K codebooks)

- text: the word-level tokenizer of the training split's captions, built with ``tokenizers``
  (:class:`~v2abench.llm.tokenizer.CaptionTokenizer`; with pretrained weights, the folder's own BPE
  tokenizer), cut or padded to a fixed ``text.length`` so a clip's sequence never depends on its batch;
  embedded by the LLM's own word embeddings;
- video: the dual encoder's features (semantic stream upsampled to the sync stream's 25 fps and
  concatenated; :mod:`v2abench.encoders.dual`) through a two-layer MLP (the paper's "single MLP network");
- audio: K summed codebook embeddings in, K linear heads out (:class:`~v2abench.llm.audio_lm.CausalAudioLM`;
  the paper says "MLP heads" without a size; one linear layer each is our choice).

Training: per-codebook cross-entropy on valid delay-pattern positions, weighted by ``model.codebook_weights``
(the paper's 0.240, 0.192, 0.154, 0.123, 0.099, 0.079, 0.063, 0.050, as many as the codec has codebooks) and
normalised by their sum; the video tokens are replaced by a learned empty-video embedding and the text by a
learned empty-text sequence, each independently with probability ``cfg_dropout_video`` / ``cfg_dropout_text``
(0.1). Decoding: the delay-pattern loop of :func:`v2abench.lm.decoding.generate_codes` with the library's
``DynamicCache``; CFG runs the conditional and the unconditional (both conditions empty) streams as one
doubled batch, ``logits = uncond + scale * (cond - uncond)``; paper sampling: temperature 1.0, top-p 0.9,
top-k 25, scale 3.

Tasks: VTA (the empty-text sequence takes the caption's place: a VTA row must not read the answer from a
caption) and TC-VTA (the caption controls the sound, the video its timing).

Checkpoints made before this Qwen2 rebuild (``DelayLM`` weights, a word-list tokenizer in ``meta.json``)
do not load: ``meta.json`` now carries the ``tokenizers`` JSON and the LLM's ``transformers`` config, and
the generator refuses an older run with a message saying so.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import nn

from v2abench.interface import Task, V2ABatch
from v2abench.lm import DelayPattern, VisualMask
from v2abench.llm.audio_lm import CausalAudioLM
from v2abench.llm.build import build_causal_lm, causal_lm_from_dict, count_parameters
from v2abench.llm.tokenizer import CaptionTokenizer, caption_tokenizer
from v2abench.models.foleygen import FoleyGen, FoleyGenModule, FoleyGenTrainable
from v2abench.models.lm_components import TokenFeatureDataModule, build_codec, build_visual_encoder

log = logging.getLogger(__name__)


def build_llm(llm_cfg: dict[str, Any], vocab_size: int | None, saved: dict[str, Any] | None = None) -> nn.Module:
    """The causal LM: rebuilt from a run's saved ``transformers`` config (``saved``), loaded from the
    registry folder ``llm.weights``, or built from ``llm`` (``arch`` plus config keys; ``vocab_size``
    defaults to the tokenizer's)."""
    if saved is not None:
        return causal_lm_from_dict(saved)
    if "weights" in llm_cfg:
        from v2abench.llm.pretrained import load_pretrained_causal_lm

        return load_pretrained_causal_lm(llm_cfg["weights"])
    config = {k: v for k, v in llm_cfg.items() if k != "arch"}
    if "vocab_size" not in config:
        if vocab_size is None:
            raise ValueError("llm.vocab_size is needed when no tokenizer is given")
        config["vocab_size"] = vocab_size
    return build_causal_lm(llm_cfg.get("arch", "qwen2"), **config)


class DreamFoleyModule(FoleyGenModule):
    """Reuses FoleyGen's delay-pattern loss, training step, optimiser and video prefix (``prefix``); its
    language model is a ``transformers`` causal LM, not FoleyGen's ``DelayLM``, so FoleyGen's constructor
    (which builds one) is not called."""

    causal_prefix = True

    def __init__(self, cfg: dict[str, Any], visual_dim: int, num_codebooks: int, card: int, frame_rate: float,
                 tokenizer: CaptionTokenizer | None, visual_fps: float | None = None, llm_config: dict[str, Any] | None = None) -> None:
        """``tokenizer``: the captions' (None only to build an architecture, e.g. on the meta device, with
        ``llm.vocab_size`` set); ``llm_config``: an exported run's ``transformers`` config of the LLM."""
        L.LightningModule.__init__(self)
        self.cfg, self.frame_rate = cfg, frame_rate
        self._visual_fps = float(visual_fps if visual_fps is not None else cfg["visual"].get("fps", 25.0))
        m = cfg["model"]
        weights = m.get("codebook_weights") or [1.0] * num_codebooks
        if len(weights) != num_codebooks:
            raise ValueError(f"model.codebook_weights has {len(weights)} entries for {num_codebooks} codebooks")
        self.register_buffer("codebook_weights", torch.tensor(weights, dtype=torch.float32), persistent=False)
        self.tokenizer, self.text_length = tokenizer, int(cfg["text"]["length"])
        self.lm = CausalAudioLM(build_llm(cfg["llm"], None if tokenizer is None else len(tokenizer), llm_config), num_codebooks, card)
        self.pattern = DelayPattern(num_codebooks, self.lm.special_token)
        dim = self.lm.dim
        self.visual_proj = nn.Sequential(nn.Linear(visual_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.null_prefix = nn.Parameter(torch.zeros(1, 1, dim))  # the empty video, one embedding per frame
        self.null_text = nn.Parameter(torch.zeros(1, self.text_length, dim))  # the empty caption
        nn.init.normal_(self.null_prefix, std=0.02)
        nn.init.normal_(self.null_text, std=0.02)
        log.info("dreamfoley: %d trainable parameters (LLM %d)", count_parameters(self, trainable_only=True), count_parameters(self.lm.llm))

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
            return torch.cat([null, video], dim=1)
        text = self.lm.embed_text(text_ids.to(visual.device))
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


def tokenizer_of(cfg: dict[str, Any]) -> CaptionTokenizer:
    """The captions' tokenizer: the pretrained folder's, or the word-level one of ``text.split`` (default:
    the training split)."""
    if "weights" in cfg["llm"]:
        from v2abench.llm.pretrained import pretrained_caption_tokenizer

        return pretrained_caption_tokenizer(cfg["llm"]["weights"])
    return caption_tokenizer(cfg["text"].get("split", cfg["data"]["split"]))


class DreamFoleyTrainable(FoleyGenTrainable):
    name = "dreamfoley"
    config_dir = "models/dreamfoley"

    def build_module(self, config: dict[str, Any]) -> L.LightningModule:
        codec, encoder = build_codec(config["codec"]), build_visual_encoder(config["visual"])
        return DreamFoleyModule(config, encoder.dim, codec.num_codebooks, codec.codebook_size, codec.frame_rate, tokenizer_of(config), encoder.fps)

    def build_datamodule(self, config: dict[str, Any]) -> L.LightningDataModule:
        return TokenFeatureDataModule(config, text_ids=partial(tokenizer_of(config).ids, length=int(config["text"]["length"])))

    def export_meta(self, module: L.LightningModule, config: dict[str, Any]) -> dict[str, Any]:
        lm: CausalAudioLM = module.lm  # type: ignore[assignment]
        return super().export_meta(module, config) | {"tokenizer": module.tokenizer.to_dict(), "llm_config": lm.llm.config.to_dict()}  # type: ignore[attr-defined]


class DreamFoley(FoleyGen):
    """The DreamFoley generator from an exported run (``--ckpt RUN_DIR``, or the newest quick run)."""

    NAME = "dreamfoley"
    DESCRIPTION = {"paradigm": "autoregressive", "version": "2", "tasks": (Task.VTA, Task.TC_VTA)}
    TASKS = (Task.VTA, Task.TC_VTA)
    SUMMARY = "Qwen2 causal LM over [text; dual-encoder video; delayed audio tokens]"

    def build_module(self) -> DreamFoleyModule:
        if "llm_config" not in self.run_meta:
            raise ValueError("this dreamfoley run predates the Qwen2 rebuild (no llm_config in its meta.json); retrain it with `v2abench train --model dreamfoley`")
        tokenizer = CaptionTokenizer.from_dict(self.run_meta["tokenizer"])
        return DreamFoleyModule(self.cfg, self.encoder.dim, self.codec.num_codebooks, self.codec.codebook_size, self.codec.frame_rate, tokenizer, self.encoder.fps,
                                llm_config=self.run_meta["llm_config"])

    def conditions(self, batch: V2ABatch, task: Task, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        module: DreamFoleyModule = self.module  # type: ignore[assignment]
        text_ids = None
        if task is Task.TC_VTA:
            if batch.text is None or not all(batch.text):
                raise ValueError("dreamfoley's text-controlled VTA needs a caption for every clip")
            text_ids = module.tokenizer.ids(list(batch.text), module.text_length)  # type: ignore[union-attr]
        return module.prefix(visual, text_ids=text_ids), module.empty_prefix(visual)
