"""Training the suite's codecs with Lightning: one LightningModule, two Trainables.

A codec config (``configs/codecs/<name>/<preset>.yaml``) holds everything a run needs::

    model:   STFTCodecConfig fields (sizes, hop, codebooks or channels)
    loss:    mel_weight, stft_weight, commit_weight (synth-rvq) | kl_weight (synth-latent)
    optim:   lr, betas, weight_decay, warmup_steps, min_lr_ratio (linear warm-up, cosine decay)
    data:    split, segment_seconds, batch_size
    trainer: max_steps, log_every_n_steps, checkpoint_every (read by v2abench.training.run)

The loss is ``mel_weight · log-mel L1 + stft_weight · multi-resolution STFT`` plus the RVQ
commitment loss or a KL to N(0, I) (no GAN). ``export`` writes the weights-only artefact
``model.safetensors`` (fp32) and ``meta.json``; for ``synth-latent`` it first measures the
per-channel latent mean and std on every clip of the training split and stores them with the weights.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from safetensors.torch import save_file

from v2abench.atomic import atomic_path, write_json
from v2abench.codecs.audio_data import SplitAudioDataModule
from v2abench.codecs.losses import CodecLoss
from v2abench.codecs.stft_codec import (
    SynthLatentCodec,
    SynthRVQCodec,
    build_codec,
    count_parameters,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
TRAINING_ONLY_BUFFERS = ("embed_avg",)
"""State-dict entries a weights-only artefact leaves out (the EMA accumulators of the codebooks)."""


class CodecModule(L.LightningModule):
    """Trains a :class:`SynthRVQCodec` (``kind="rvq"``) or :class:`SynthLatentCodec` (``kind="latent"``)."""

    def __init__(self, kind: str, config: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters({"kind": kind, "config": config})
        self.kind, self.config = kind, config
        self.codec = build_codec(kind, dict(config.get("model", {})))
        loss_cfg = config.get("loss", {})
        self.loss = CodecLoss(float(loss_cfg.get("mel_weight", 1.0)), float(loss_cfg.get("stft_weight", 1.0)),
                              self.codec.sample_rate)
        self.commit_weight = float(loss_cfg.get("commit_weight", 1.0))
        self.kl_weight = float(loss_cfg.get("kl_weight", 1e-3))
        self.last_metrics: dict[str, float] = {}

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        wav = batch
        if isinstance(self.codec, SynthRVQCodec):
            recon, _codes, commit = self.codec(wav)
            parts = self.loss(recon, wav)
            loss = parts["recon"] + self.commit_weight * commit
            parts["commit"] = commit.detach()
        else:
            recon, mean, kl = self.codec(wav)
            parts = self.loss(recon, wav)
            loss = parts["recon"] + self.kl_weight * kl
            parts["kl"] = kl.detach()
            parts["latent_std"] = mean.detach().std()
        metrics = {"train/loss": loss.detach()} | {f"train/{k}": v.detach() for k, v in parts.items() if k != "recon"}
        self.log_dict(metrics, prog_bar=False, on_step=True, on_epoch=False, batch_size=wav.shape[0])
        self.log("mel", parts["mel_l1"].detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self.last_metrics = {k.removeprefix("train/"): float(v) for k, v in metrics.items()}
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        from v2abench.training.optim import adamw_warmup_cosine

        return adamw_warmup_cosine(self.codec.parameters(), self.config, default_lr=1e-3, default_floor=0.1)


@torch.no_grad()
def latent_statistics(codec: SynthLatentCodec, waveforms: torch.Tensor, batch_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of the raw latents of ``waveforms`` [clips, N] (all frames pooled)."""
    was_training = codec.training
    codec.eval()
    total = torch.zeros(codec.channels, dtype=torch.float64)
    total_sq = torch.zeros_like(total)
    count = 0
    for start in range(0, len(waveforms), batch_size):
        wav = codec.pad_to_frames(waveforms[start : start + batch_size].unsqueeze(1))
        z = codec._encode(wav).double()  # raw latents [B, C, T]
        total += z.sum(dim=(0, 2))
        total_sq += z.square().sum(dim=(0, 2))
        count += z.shape[0] * z.shape[2]
    codec.train(was_training)
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(1e-12).sqrt()
    return mean.float(), std.float().clamp_min(1e-4)


def weights_only_state(codec: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The codec's state dict as contiguous fp32 tensors, without :data:`TRAINING_ONLY_BUFFERS`."""
    return {
        key: value.detach().to(torch.float32).contiguous().clone()
        for key, value in codec.state_dict().items()
        if key.rsplit(".", 1)[-1] not in TRAINING_ONLY_BUFFERS
    }


def codec_meta(name: str, kind: str, codec: SynthRVQCodec | SynthLatentCodec, config: dict[str, Any],
               train_steps: int, final_losses: dict[str, float]) -> dict[str, Any]:
    """The ``meta.json`` of an exported codec (what :mod:`v2abench.codecs.synth` reads back)."""
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "kind": kind,
        "version": str(config.get("version", "v1")),
        "model": codec.cfg.to_dict(),
        "config": config,
        "sample_rate": codec.sample_rate,
        "frame_rate": codec.frame_rate,
        "hop_length": codec.hop_length,
        "parameters": count_parameters(codec),
        "train_steps": int(train_steps),
        "final_losses": final_losses,
    }
    if isinstance(codec, SynthRVQCodec):
        meta |= {"num_codebooks": codec.num_codebooks, "codebook_size": codec.codebook_size}
    else:
        meta |= {"channels": codec.channels, "latent_mean": codec.latent_mean.tolist(),
                 "latent_std": codec.latent_std.tolist()}
    return meta


class _CodecTrainable:
    """The :class:`~v2abench.training.Trainable` of one codec kind."""

    name: str
    kind: str
    config_dir: str

    def build_module(self, config: dict[str, Any]) -> CodecModule:
        return CodecModule(self.kind, config)

    def build_datamodule(self, config: dict[str, Any]) -> SplitAudioDataModule:
        return SplitAudioDataModule.from_config(config)

    def export(self, module: L.LightningModule, config: dict[str, Any], run_dir: Path) -> Path:
        assert isinstance(module, CodecModule)
        codec = module.codec
        if isinstance(codec, SynthLatentCodec):
            data = SplitAudioDataModule.from_config(config, progress=False)
            waves, _ = data.waveforms()
            mean, std = latent_statistics(codec, waves)
            codec.latent_mean.copy_(mean)
            codec.latent_std.copy_(std)
            log.info("latent statistics on %s: mean %s, std %s", data.split, mean.tolist(), std.tolist())
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        steps = module.trainer.global_step if module._trainer is not None else 0
        meta = codec_meta(self.name, self.kind, codec, config, steps, module.last_metrics)
        path = run_dir / "model.safetensors"
        with atomic_path(path) as tmp:
            save_file(weights_only_state(codec), str(tmp), metadata={"name": self.name, "kind": self.kind})
        write_json(run_dir / "meta.json", meta)
        log.info("exported %s (%d parameters, %.2f MB) to %s", self.name, meta["parameters"],
                 path.stat().st_size / 2**20, path)
        return path


class SynthRVQTrainable(_CodecTrainable):
    """``v2abench train --model synth-rvq``: the discrete STFT/RVQ codec."""

    name, kind, config_dir = "synth-rvq", "rvq", "codecs/synth-rvq"


class SynthLatentTrainable(_CodecTrainable):
    """``v2abench train --model synth-latent``: the continuous STFT autoencoder."""

    name, kind, config_dir = "synth-latent", "latent", "codecs/synth-latent"
