"""FoleyGen: a decoder-only transformer over delayed RVQ tokens with a prepended visual prefix.

Visual features are projected to the model width and prepended; the K codebook embeddings are
summed per step; K heads predict the next step (:mod:`v2abench.lm`). The audio-to-visual attention
mask is a config value (``all_frame``, ``causal``, ``frame_specific``; timing as in
:mod:`v2abench.lm.attention_masks`). Classifier-free guidance: the whole visual prefix is replaced by
a learned null embedding with probability ``cfg_dropout`` in training; at inference both streams run
as one doubled batch per step with a KV cache. Loss: cross-entropy per codebook on valid positions,
with optional per-codebook weights.

Configs: ``configs/models/foleygen/{tiny,quick,paper}.yaml``. ``paper`` follows the published
architecture (24 layers, 16 heads, width 1024, EnCodec 16 kHz 4 x 2048, 1 fps CLIP); the warm-up is
linear and the schedule afterwards constant (the paper does not say; our choice).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from v2abench.atomic import atomic_path, write_json
from v2abench.interface import GenerationOutput, GeneratorMeta, Task, V2ABatch, check_task, clip_rng
from v2abench.lm import DelayLM, DelayPattern, VisualMask, prefix_lm_mask
from v2abench.lm.decoding import SamplingConfig, generate_codes
from v2abench.config import config_hash
from v2abench.models.lm_components import TokenFeatureDataModule, build_codec, build_visual_encoder
from v2abench.training.shipped import load_state, load_trained_checkpoint

log = logging.getLogger(__name__)


class FoleyGenModule(L.LightningModule):
    def __init__(self, cfg: dict[str, Any], visual_dim: int, num_codebooks: int, card: int, frame_rate: float, visual_fps: float | None = None) -> None:
        """``visual_fps``: the encoder's frame rate (the masks' visual time axis, the same in training and
        generation); default: the config's ``visual.fps``."""
        super().__init__()
        self.cfg, self.frame_rate = cfg, frame_rate
        self._visual_fps = float(visual_fps if visual_fps is not None else cfg["visual"].get("fps", 25.0))
        m = cfg["model"]
        self.lm = DelayLM(num_codebooks, card, int(m["dim"]), int(m["depth"]), int(m["heads"]), float(m.get("dropout", 0.0)))
        self.visual_proj = nn.Linear(visual_dim, int(m["dim"]))
        self.null_prefix = nn.Parameter(torch.zeros(1, 1, int(m["dim"])))
        self.pattern = DelayPattern(num_codebooks, self.lm.special_token)
        weights = m.get("codebook_weights") or [1.0] * num_codebooks
        self.register_buffer("codebook_weights", torch.tensor(weights, dtype=torch.float32), persistent=False)

    @property
    def mask_mode(self) -> VisualMask:
        return VisualMask(self.cfg["model"].get("visual_mask", "all_frame"))

    @property
    def visual_fps(self) -> float:
        return self._visual_fps

    def prefix(self, visual: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        p = self.visual_proj(visual)
        if drop is not None:
            p = torch.where(drop[:, None, None], self.null_prefix.expand_as(p), p)
        return p

    causal_prefix = False  # FoleyGen: the visual prefix attends to itself bidirectionally

    def loss(self, visual: torch.Tensor, tokens: torch.Tensor, drop: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.loss_from_prefix(self.prefix(visual, drop), tokens)

    def loss_from_prefix(self, prefix: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(weighted loss, per-codebook cross-entropy ``[K]``) on the valid positions of the delayed sequence."""
        seq, valid = self.pattern.build(tokens)
        mask = prefix_lm_mask(prefix.shape[1], seq.shape[-1] - 1, self.visual_fps, self.frame_rate, self.mask_mode, causal_prefix=self.causal_prefix)
        logits = self.lm(prefix, seq[:, :, :-1], mask)  # [B, K, S-1, card]
        target, keep = seq[:, :, 1:], valid[:, 1:]
        per_q = torch.stack([F.cross_entropy(logits[:, q][:, keep[q]].flatten(0, 1), target[:, q][:, keep[q]].flatten()) for q in range(tokens.shape[1])])
        return (per_q * self.codebook_weights).sum() / self.codebook_weights.sum(), per_q

    def batch_loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        visual, tokens = batch[0], batch[1]
        drop = torch.rand(visual.shape[0], device=visual.device) < float(self.cfg["model"].get("cfg_dropout", 0.1))
        return self.loss(visual, tokens, drop)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        loss, per_q = self.batch_loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        for q, value in enumerate(per_q):
            self.log(f"train/ce_q{q}", value)
        return loss

    def configure_optimizers(self) -> Any:
        o = self.cfg["optim"]
        opt = torch.optim.AdamW(self.parameters(), lr=float(o["lr"]), betas=tuple(o.get("betas", (0.9, 0.95))), weight_decay=float(o.get("weight_decay", 0.1)))
        warmup = int(o.get("warmup_steps", 0))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _build_module(cfg: dict[str, Any]) -> FoleyGenModule:
    codec, encoder = build_codec(cfg["codec"]), build_visual_encoder(cfg["visual"])
    return FoleyGenModule(cfg, encoder.dim, codec.num_codebooks, codec.codebook_size, codec.frame_rate, encoder.fps)


class FoleyGenTrainable:
    name = "foleygen"
    config_dir = "models/foleygen"

    def build_module(self, config: dict[str, Any]) -> L.LightningModule:
        return _build_module(config)

    def export_meta(self, module: L.LightningModule, config: dict[str, Any]) -> dict[str, Any]:
        return {"name": self.name, "config": config, "steps": int(module.global_step)}

    def build_datamodule(self, config: dict[str, Any]) -> L.LightningDataModule:
        return TokenFeatureDataModule(config)

    def export(self, module: L.LightningModule, config: dict[str, Any], run_dir: Path) -> Path:
        path = run_dir / "model.safetensors"
        with atomic_path(path) as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}, str(tmp))
        write_json(run_dir / "meta.json", self.export_meta(module, config))
        return path


class FoleyGen:
    """The FoleyGen generator: ``--ckpt RUN_DIR`` (or its model.safetensors), or by default the shipped
    main-row checkpoint (:mod:`v2abench.training.shipped`; for a backend that ships none, the newest
    finished run of ``v2abench train --model NAME --config quick``)."""

    NAME = "foleygen"
    DESCRIPTION = {"paradigm": "autoregressive", "version": "1", "tasks": (Task.VTA,)}
    TASKS: tuple[Task, ...] = (Task.VTA,)
    SUMMARY = "delay-pattern LM with a visual prefix"

    def __init__(self, ckpt: str | None = None) -> None:
        checkpoint = load_trained_checkpoint(self.NAME, ckpt)
        self.run_meta = checkpoint.meta
        self.cfg = self.run_meta["config"]
        self.codec, self.encoder = build_codec(self.cfg["codec"]), build_visual_encoder(self.cfg["visual"])
        self.module = self.build_module()
        self.module.load_state_dict(load_state(checkpoint))
        self.module.eval()
        params = sum(p.numel() for p in self.module.parameters())
        # what a result records as this row's training budget
        self.training = {"run": checkpoint.run, "preset": self.cfg.get("preset"), "steps": int(self.run_meta.get("steps", 0)),
                         "config_hash": config_hash(self.cfg), "train_split": self.cfg["data"]["split"], **checkpoint.timing}
        if checkpoint.asset:
            self.training["asset"] = checkpoint.asset
        self.generation_config = dict(self.cfg["sampling"])  # in the result's config and its audio-cache key
        self.meta = GeneratorMeta(self.NAME, "autoregressive", "1", self.codec.sample_rate, float(self.cfg["duration"]), self.TASKS, params=params, checkpoint_sha256=checkpoint.sha256, description=self.SUMMARY)
        log.info("%s: %s (%d steps, %.2f M params)", self.NAME, checkpoint.asset or checkpoint.run, int(self.run_meta.get("steps", 0)), params / 1e6)

    def build_module(self) -> FoleyGenModule:
        return FoleyGenModule(self.cfg, self.encoder.dim, self.codec.num_codebooks, self.codec.codebook_size, self.codec.frame_rate, self.encoder.fps)

    def conditions(self, batch: V2ABatch, task: Task, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(conditional prefix, unconditional prefix) for the batch."""
        prefix = self.module.prefix(visual)
        return prefix, self.module.null_prefix.expand_as(prefix)

    @torch.no_grad()
    def generate(self, batch: V2ABatch, *, task: Task = Task.VTA, duration: float, seed: int, steps: int | None = None, cfg_scale: float | None = None) -> GenerationOutput:
        check_task(self.meta, task)
        if batch.frames is None or batch.fps is None:
            raise ValueError(f"{self.NAME} needs the batch's frames")
        start = time.perf_counter()
        s = self.cfg["sampling"]
        n_vis = max(1, int(round(duration * self.encoder.fps)))
        visual = self.encoder.encode(batch.frames, batch.fps)[:, :n_vis]
        prefix, null = self.conditions(batch, task, visual)
        frames = math.ceil(duration * self.codec.frame_rate)
        config = SamplingConfig(temperature=float(s.get("temperature", 1.0)), top_k=s.get("top_k"), top_p=s.get("top_p"), cfg_scale=float(cfg_scale if cfg_scale is not None else s.get("cfg_scale", 3.0)),
                                use_cache=bool(s.get("use_cache", True)), two_pass=bool(s.get("two_pass", False)))
        gens = [clip_rng(seed, cid) for cid in batch.ids]
        codes, nfe = generate_codes(self.module.lm, prefix, null, frames, gens, visual_fps=self.module.visual_fps, frame_rate=self.codec.frame_rate, mask_mode=self.module.mask_mode, config=config, causal_prefix=self.module.causal_prefix)
        audio = self.codec.decode(codes, length=int(round(duration * self.codec.sample_rate)))
        return GenerationOutput(audio.float().clamp(-1, 1), self.codec.sample_rate, seconds=time.perf_counter() - start, nfe=nfe)
