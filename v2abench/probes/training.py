"""Training the SynthFoley probe with Lightning (``v2abench train --model synthprobe``).

A config (``configs/probes/synthprobe/<preset>.yaml``) holds::

    model:   SynthProbeConfig fields (sizes; the vocabulary is built from the split's captions)
    loss:    weights of the terms below
    optim:   lr, betas, weight_decay, warmup_steps, min_lr_ratio (linear warm-up, cosine decay)
    data:    split (a ``probe`` split: the probe never sees train or test), window_seconds,
             batch_size, train_key_frames
    trainer: max_steps, log_every_n_steps, checkpoint_every

One step (batch of B clips, see :mod:`v2abench.probes.data`) encodes the B video windows, the B
aligned and B shifted audio windows and two *null* audio windows (digital silence, and white noise
at a random level between -60 and -10 dBFS), then minimises

- ``cls``: cross-entropy of the audio class logits (aligned and shifted windows) against the soft
  class target; ``video_cls``: the same for the video; ``ambience``: BCE of the ambience logits;
  ``null_cls``: cross-entropy of the null windows' logits against the uniform distribution;
- ``nce_av`` / ``nce_at``: symmetric InfoNCE between audio and video / text embeddings (learned
  temperatures), the null windows being extra negatives for every video and caption;
- ``offset``: cross-entropy of the offset logits of (video, shifted audio) against the true offset;
  ``offset_flat``: cross-entropy against the uniform distribution for (video, audio of another clip
  of the batch) and (video, null) pairs, so that audio with no relation to the video gets no offset;
- ``aligned``: BCE of the aligned head -- positives (video, aligned audio); negatives (video,
  shifted audio) with ``|offset| >= aligned_min_offset`` (0.3 s), (video, another clip's audio) and
  (video, null); pairs shifted by less are left out.

With an ``augment`` section (v2; :mod:`v2abench.probes.augment`) each item also holds an augmented
*positive* (a codec round trip, another material on the same events, EQ/gain, 20-30 dB noise,
+-40 ms jitter; the shifted window is augmented the same way), and

- ``cls`` also covers the positives that keep the clip's classes (not another material);
- ``offset`` adds ``offset_positive`` x cross-entropy of (video, positive) against offset 0;
- ``aligned`` takes the positives and the pristine windows as aligned; the negatives are built
  from augmented audio (shifted, another clip's positive), so a degradation is no cue either way.

``export`` writes ``model.safetensors`` (fp32; the resolved model config with the vocabulary is in
the safetensors metadata, so the weights hash covers it) and ``meta.json`` into the run folder.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from v2abench.atomic import atomic_path, write_json
from v2abench.data.splits import load_split
from v2abench.probes.data import ProbeDataModule
from v2abench.probes.synthprobe import (
    SynthProbe,
    SynthProbeConfig,
    build_vocab,
    count_parameters,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
NAME = "synthprobe"

DEFAULT_LOSS = {"cls": 1.0, "video_cls": 0.5, "ambience": 0.5, "null_cls": 0.5, "nce_av": 1.0, "nce_at": 1.0,
                "offset": 1.0, "offset_flat": 0.5, "aligned": 1.0}
OFFSET_POSITIVE = 0.5
"""Weight of the (video, positive) -> offset 0 term inside ``offset`` (v2)."""


def probe_config(config: dict[str, Any], vocab: list[str] | None = None) -> SynthProbeConfig:
    """The :class:`SynthProbeConfig` of a training config; the vocabulary comes from the data split's
    captions unless given."""
    model = dict(config.get("model", {}))
    if vocab is None:
        split = load_split(config.get("data", {}).get("split", "synthfoley-probe"))
        vocab = build_vocab([c.caption or "" for c in split.clips])
    return SynthProbeConfig.from_dict(model | {"vocab": vocab})


def _soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


def _uniform_ce(logits: torch.Tensor) -> torch.Tensor:
    return -torch.log_softmax(logits, dim=-1).mean(-1).mean()


def _info_nce(query: torch.Tensor, keys: torch.Tensor, extra: torch.Tensor, log_temp: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE of matched rows of ``query`` and ``keys`` [B, E]; ``extra`` [M, E] are further
    negatives for every query."""
    q, k, x = F.normalize(query, dim=-1), F.normalize(keys, dim=-1), F.normalize(extra, dim=-1)
    scale = log_temp.clamp(max=math.log(100.0)).exp()
    target = torch.arange(q.shape[0])
    q2k = scale * torch.cat([q @ k.T, q @ x.T], dim=1)
    k2q = scale * (k @ q.T)
    return 0.5 * (F.cross_entropy(q2k, target) + F.cross_entropy(k2q, target))


class SynthProbeModule(L.LightningModule):
    """Trains a :class:`SynthProbe` on the probe split (see the module docstring for the losses)."""

    def __init__(self, config: dict[str, Any], vocab: list[str] | None = None) -> None:
        super().__init__()
        self.config = config
        self.probe_cfg = probe_config(config, vocab)
        self.save_hyperparameters({"config": config, "vocab": self.probe_cfg.vocab})
        self.probe = SynthProbe(self.probe_cfg)
        self.weights = DEFAULT_LOSS | {k: float(v) for k, v in (config.get("loss") or {}).items()}
        self.seed = int(config.get("seed", 0))
        self.last_metrics: dict[str, float] = {}
        self.train_seconds = 0.0
        self._started: float | None = None

    def _nulls(self, length: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(self.global_step))
        gain = 10 ** (-3.0 + 2.5 * torch.rand((), generator=gen))  # -60 .. -10 dBFS
        noise = torch.randn(length, generator=gen) * gain
        return torch.stack([torch.zeros(length), noise])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        p, cfg, w = self.probe, self.probe_cfg, self.weights
        b = batch["audio"].shape[0]
        nulls = self._nulls(batch["audio"].shape[1]).to(batch["audio"])
        augmented = "positive" in batch
        extra = [batch["positive"]] if augmented else []
        audio = p.audio(torch.cat([batch["audio"], batch["shifted"], *extra, nulls]))
        aligned = {k: v[:b] for k, v in audio.items()}
        shifted = {k: v[b : 2 * b] for k, v in audio.items()}
        positive = {k: v[2 * b : 3 * b] for k, v in audio.items()} if augmented else aligned
        null = {k: v[(3 if augmented else 2) * b :] for k, v in audio.items()}
        video = p.video(batch["lowres"], batch["keys"])
        text = p.text(batch["tokens"], batch["lengths"])
        n_null = null["embedding"].shape[0]

        parts: dict[str, torch.Tensor] = {}
        if augmented:
            same = batch["positive_same_class"].bool()
            pos_cls = _soft_ce(positive["logits"][same], batch["classes"][same]) if bool(same.any()) else aligned["logits"].sum() * 0.0
            parts["cls"] = 0.5 * (_soft_ce(aligned["logits"], batch["classes"]) + pos_cls)
        else:
            parts["cls"] = 0.5 * (_soft_ce(aligned["logits"], batch["classes"]) + _soft_ce(shifted["logits"], batch["classes"]))
        parts["video_cls"] = _soft_ce(video["logits"], batch["classes"])
        parts["ambience"] = F.binary_cross_entropy_with_logits(aligned["ambience"], batch["ambience"])
        parts["null_cls"] = _uniform_ce(null["logits"])
        parts["nce_av"] = _info_nce(video["embedding"], aligned["embedding"], null["embedding"], p.log_temp_av)
        parts["nce_at"] = _info_nce(text, aligned["embedding"], null["embedding"], p.log_temp_at)

        other = {k: v.roll(1, dims=0) for k, v in positive.items()}  # another clip's audio (distinct clips)
        video_n = {k: v[:n_null] for k, v in video.items()}
        off_shift, al_shift = p.pair_logits(video, shifted)
        off_other, al_other = p.pair_logits(video, other)
        off_null, al_null = p.pair_logits(video_n, null)
        off_pos, al_pos = p.pair_logits(video, positive)
        half = cfg.num_offsets // 2
        parts["offset"] = F.cross_entropy(off_shift, batch["offset"])
        if augmented:
            parts["offset"] = parts["offset"] + OFFSET_POSITIVE * F.cross_entropy(off_pos, torch.full_like(batch["offset"], half))
            _, al_pristine = p.pair_logits(video, aligned)
            al_pos = torch.cat([al_pos, al_pristine])
        parts["offset_flat"] = 0.5 * (_uniform_ce(off_other) + _uniform_ce(off_null))
        far = (batch["offset"] - half).abs() >= round(cfg.aligned_min_offset / cfg.offset_step)
        bce = F.binary_cross_entropy_with_logits
        neg_shift = bce(al_shift[far], torch.zeros_like(al_shift[far])) if bool(far.any()) else al_shift.sum() * 0.0
        parts["aligned"] = (bce(al_pos, torch.ones_like(al_pos))
                            + 0.5 * (neg_shift + bce(al_other, torch.zeros_like(al_other)))
                            + 0.25 * bce(al_null, torch.zeros_like(al_null)))
        loss = sum(w[k] * v for k, v in parts.items())

        with torch.no_grad():
            pred = off_shift.argmax(-1)
            stats = {
                "cls_acc": (aligned["logits"].argmax(-1) == batch["classes"].argmax(-1)).float().mean(),
                "offset_acc": (pred == batch["offset"]).float().mean(),
                "offset_mae_s": ((pred - batch["offset"]).abs().float() * cfg.offset_step).mean(),
                "aligned_pos_acc": (al_pos > 0).float().mean(),
                "positive_offset_acc": (off_pos.argmax(-1) == half).float().mean(),
                "aligned_neg_acc": torch.cat([al_shift[far], al_other, al_null]).lt(0).float().mean(),
            }
        metrics = {"train/loss": loss.detach()} | {f"train/{k}": v.detach() for k, v in (parts | stats).items()}
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=b)
        self.log("off_acc", stats["offset_acc"], prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self.last_metrics = {k.removeprefix("train/"): float(v) for k, v in metrics.items()}
        return loss

    def on_train_start(self) -> None:
        self._started = time.perf_counter()

    def on_train_end(self) -> None:
        if self._started is not None:
            self.train_seconds += time.perf_counter() - self._started
            self._started = None

    def configure_optimizers(self) -> dict[str, Any]:
        from v2abench.training.optim import adamw_warmup_cosine

        return adamw_warmup_cosine(self.probe.parameters(), self.config, default_lr=1e-3, default_floor=0.1)


def weights_state(probe: SynthProbe) -> dict[str, torch.Tensor]:
    """The probe's state dict as contiguous fp32 tensors (persistent entries only)."""
    return {k: v.detach().to(torch.float32).contiguous().clone() for k, v in probe.state_dict().items()}


def safetensors_metadata(cfg: SynthProbeConfig) -> dict[str, str]:
    return {"name": NAME, "format_version": str(FORMAT_VERSION), "config": json.dumps(cfg.to_dict(), sort_keys=True)}


def export_probe(probe: SynthProbe, path: Path) -> Path:
    """Write the weights-only artefact ``path`` (.safetensors, config in its metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(weights_state(probe), str(tmp), metadata=safetensors_metadata(probe.cfg))
    return path


class SynthProbeTrainable:
    """The :class:`~v2abench.training.Trainable` of ``synthprobe``."""

    name = NAME
    config_dir = "probes/synthprobe"

    def build_module(self, config: dict[str, Any]) -> SynthProbeModule:
        return SynthProbeModule(config)

    def build_datamodule(self, config: dict[str, Any]) -> ProbeDataModule:
        cfg = probe_config(config)
        data = config.get("data", {})
        split = data.get("split", "synthfoley-probe")
        if "-probe" not in split:
            raise ValueError(f"the probe trains on a probe split only, got {split!r}")
        return ProbeDataModule(split, cfg, window_seconds=float(data.get("window_seconds", 3.0)),
                               batch_size=int(data.get("batch_size", 16)),
                               train_key_frames=int(data.get("train_key_frames", 3)),
                               steps=int(config.get("trainer", {}).get("max_steps", 1000)),
                               seed=int(config.get("seed", 0)), augment=config.get("augment"))

    def export(self, module: L.LightningModule, config: dict[str, Any], run_dir: Path) -> Path:
        assert isinstance(module, SynthProbeModule)
        from v2abench.probes.load import file_sha256

        run_dir = Path(run_dir)
        path = export_probe(module.probe, run_dir / "model.safetensors")
        steps = module.trainer.global_step if module._trainer is not None else 0
        split = config.get("data", {}).get("split", "synthfoley-probe")
        meta = {
            "format_version": FORMAT_VERSION,
            "name": NAME,
            "version": str(config.get("version", "v1")),
            "model": module.probe_cfg.to_dict(),
            "config": config,
            "train_split": split,
            "train_split_ground_truth_sha256": load_split(split).ground_truth_sha256,
            "parameters": count_parameters(module.probe),
            "train_steps": int(steps),
            "train_seconds": round(module.train_seconds, 1),
            "torch_threads": torch.get_num_threads(),
            "final_metrics": module.last_metrics,
            "weights_sha256": file_sha256(path),
            "size_bytes": path.stat().st_size,
        }
        write_json(run_dir / "meta.json", meta)
        log.info("exported %s (%d parameters, %.2f MB) to %s", NAME, meta["parameters"], meta["size_bytes"] / 2**20, path)
        return path
