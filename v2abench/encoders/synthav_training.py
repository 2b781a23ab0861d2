"""Training the SynthAV encoders with Lightning: data, LightningModule, Trainable, quality figures.

A config (``configs/encoders/synthav/<preset>.yaml``) holds::

    model:   SynthAVConfig fields (sizes; vocab_size is set from the tokenizer)
    loss:    text, audio, audio_text, sync (weights of the four objectives)
    optim:   lr, betas, weight_decay, warmup_steps, min_lr_ratio (linear warm-up, cosine decay)
    data:    split (a *train* split), batch_size, sync_batch, sem_frames, sync_window, flip
    eval:    split, limit (the quality figures written into meta.json at export)
    trainer: max_steps, log_every_n_steps, checkpoint_every (read by v2abench.training.run)
    num_threads: optional; torch.set_num_threads at build time (the quick preset pins one thread)

Objectives, one batch of ``batch_size`` clips per step:

- semantic: ``sem_frames`` random frames of each clip through the semantic encoder, averaged into a
  clip embedding; symmetric InfoNCE against the caption (text encoder, pooled) — weight ``text`` —
  and against the clip's audio (audio encoder, pooled over the 4 s) — weight ``audio``; plus audio
  against caption — weight ``audio_text`` — which keeps the three in one space;
- sync: for the first ``sync_batch`` clips, a window of ``sync_window`` frames (25 fps) at a random
  start through the sync encoder; the :class:`~v2abench.encoders.synthav.OffsetHead` scores it against
  the clip's audio sync features shifted by ``-K..K`` frames; cross-entropy with the aligned shift as
  target — weight ``sync``.

Each clip is decoded once (25 fps frames reduced to ``image_size`` by
:func:`~v2abench.encoders.synthav.prepare_frames`, log-mel of the 16 kHz track) and the whole split
is cached as one tensor set in a :class:`~v2abench.data.feature_cache.FeatureCache` keyed by the
split's ground-truth sha256 and the decoding settings. Items are seeded: item ``i`` draws its clip,
frames, window and flip from ``numpy.random.default_rng([seed, i])``.

Only a train split may be trained on (:func:`check_train_split`); the export measures retrieval and
offset accuracy on ``eval.split`` (val by default) and stores them in ``meta.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from safetensors.torch import save_file
from torch.utils.data import DataLoader, Dataset

from v2abench.atomic import atomic_path, write_json
from v2abench.data.feature_cache import FeatureCache
from v2abench.data.splits import SplitData, load_split, resolve_split
from v2abench.encoders.synthav import (
    MelFrontend,
    SynthAV,
    SynthAVConfig,
    info_nce,
    prepare_frames,
)
from v2abench.encoders.text_tokenizer import WordTokenizer
from v2abench.media import decode_clip

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
NAME = "synthav"
_CACHE_VERSION = 1


def check_train_split(name: str) -> None:
    """SynthAV trains on a train split only (never probe, val or test: they measure it and others)."""
    if resolve_split(name).split != "train":
        raise ValueError(f"synthav trains on a train split only, got {name!r}")


def model_config(config: dict[str, Any], tokenizer: WordTokenizer) -> SynthAVConfig:
    return SynthAVConfig.from_dict(dict(config.get("model", {})) | {"vocab_size": len(tokenizer)})


def build_tokenizer(config: dict[str, Any]) -> WordTokenizer:
    """The word tokenizer of the training split's captions."""
    split = config.get("data", {}).get("split", "synthfoley-train")
    max_length = int(config.get("model", {}).get("max_length", 64))
    clips = load_split(split).clips
    return WordTokenizer.build((c.caption or "" for c in clips), max_length=max_length)


# ------------------------------------------------------------------------------------------------ data


def decode_split_av(split: SplitData, cfg: SynthAVConfig, progress: bool = True) -> dict[str, Any]:
    """``{"ids", "captions", "frames" uint8 [N, T, 3, S, S], "mel" float16 [N, n_mels, F], "n_frames"}``.

    Frames at ``sync_fps`` reduced with :func:`prepare_frames`; every clip is padded (last frame
    repeated, audio zero-padded) or cut to the first clip's duration.
    """
    frontend = MelFrontend(cfg)
    duration = split.clips[0].duration
    n_frames = round(duration * cfg.sync_fps)
    n_samples = round(duration * cfg.sample_rate)
    n_mel = n_samples // cfg.hop + 1
    count = len(split.clips)
    frames = torch.empty((count, n_frames, 3, cfg.image_size, cfg.image_size), dtype=torch.uint8)
    mel = torch.empty((count, cfg.n_mels, n_mel), dtype=torch.float16)
    lengths = torch.empty(count, dtype=torch.int64)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task(f"decoding {split.spec.name} (synthav)", total=count)
        for i, clip in enumerate(split.clips):
            decoded = decode_clip(clip.video, fps=cfg.sync_fps, sample_rate=cfg.sample_rate)
            video = prepare_frames(decoded.frames, cfg.image_size)[:n_frames]
            lengths[i] = video.shape[0]
            if video.shape[0] < n_frames:
                video = torch.cat([video, video[-1:].expand(n_frames - video.shape[0], -1, -1, -1)])
            frames[i] = video
            wav = decoded.audio.reshape(-1)[:n_samples]
            wav = F.pad(wav, (0, n_samples - wav.numel()))
            mel[i] = frontend(wav[None])[0].to(torch.float16)
            bar.advance(task)
    return {"ids": [c.id for c in split.clips], "captions": [c.caption or "" for c in split.clips],
            "frames": frames, "mel": mel, "n_frames": lengths}


def load_split_av(split_name: str, cfg: SynthAVConfig, progress: bool = True) -> dict[str, Any]:
    """The split's frames, log-mels and captions (see :func:`decode_split_av`), decoded once, then cached."""
    split = load_split(split_name)
    settings = {"image_size": cfg.image_size, "fps": cfg.sync_fps, "sample_rate": cfg.sample_rate,
                "n_fft": cfg.n_fft, "hop": cfg.hop, "n_mels": cfg.n_mels, "version": _CACHE_VERSION}
    cache = FeatureCache("synthav-split", None, settings)
    def decode() -> Any:
        log.info("decoding %d clips of %s for synthav (once; cached)", len(split.clips), split_name)
        return decode_split_av(split, cfg, progress)

    return cache.get_or_compute(split.ground_truth_sha256, decode)


class AVItems(Dataset[dict[str, Any]]):
    """``length`` seeded training items drawn from a decoded split (see the module docstring)."""

    def __init__(self, data: dict[str, Any], length: int, *, sem_frames: int, sync_window: int, max_offset: int,
                 flip: bool = True, seed: int = 0) -> None:
        self.frames, self.mel, self.captions = data["frames"], data["mel"], data["captions"]
        self.length, self.sem_frames, self.window, self.k = length, sem_frames, sync_window, max_offset
        self.flip, self.seed = flip, seed
        n_frames = self.frames.shape[1]
        if self.window + 2 * self.k > n_frames:
            raise ValueError(f"a sync window of {self.window} frames +- {self.k} does not fit {n_frames} frames")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, index])
        clip = int(rng.integers(len(self.frames)))
        n_frames = self.frames.shape[1]
        sem_index = torch.from_numpy(np.sort(rng.choice(n_frames, self.sem_frames, replace=False)))
        start = int(rng.integers(self.k, n_frames - self.window - self.k + 1))
        flip = self.flip and bool(rng.random() < 0.5)
        sem = self.frames[clip, sem_index]
        sync = self.frames[clip, start : start + self.window]
        if flip:
            sem, sync = sem.flip(-1), sync.flip(-1)
        return {"sem": sem, "sync": sync, "start": start, "mel": self.mel[clip].float(),
                "caption": self.captions[clip], "clip": clip}


class SynthAVDataModule(L.LightningDataModule):
    def __init__(self, split: str, cfg: SynthAVConfig, *, batch_size: int = 32, sem_frames: int = 3,
                 sync_window: int = 48, flip: bool = True, steps: int = 1000, seed: int = 0,
                 progress: bool = True) -> None:
        super().__init__()
        check_train_split(split)
        self.split, self.cfg = split, cfg
        self.batch_size, self.sem_frames, self.sync_window, self.flip = batch_size, sem_frames, sync_window, flip
        self.steps, self.seed, self.progress = steps, seed, progress
        self.data: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], progress: bool = True) -> SynthAVDataModule:
        data = config.get("data", {})
        cfg = SynthAVConfig.from_dict(dict(config.get("model", {})))
        return cls(data.get("split", "synthfoley-train"), cfg, batch_size=int(data.get("batch_size", 32)),
                   sem_frames=int(data.get("sem_frames", 3)), sync_window=int(data.get("sync_window", 48)),
                   flip=bool(data.get("flip", True)), steps=int(config.get("trainer", {}).get("max_steps", 1000)),
                   seed=int(config.get("seed", 0)), progress=progress)

    def setup(self, stage: str | None = None) -> None:
        if self.data is None:
            self.data = load_split_av(self.split, self.cfg, self.progress)

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        self.setup()
        assert self.data is not None
        items = AVItems(self.data, self.steps * self.batch_size, sem_frames=self.sem_frames,
                        sync_window=self.sync_window, max_offset=self.cfg.max_offset, flip=self.flip, seed=self.seed)
        return DataLoader(items, batch_size=self.batch_size, shuffle=False, num_workers=0, drop_last=True)


# ---------------------------------------------------------------------------------------------- module


class SynthAVModule(L.LightningModule):
    """Trains all SynthAV networks jointly (see the module docstring for the objectives)."""

    def __init__(self, config: dict[str, Any], tokenizer: dict[str, Any] | None = None) -> None:
        super().__init__()
        tok = WordTokenizer.from_dict(tokenizer) if tokenizer is not None else build_tokenizer(config)
        self.save_hyperparameters({"config": config, "tokenizer": tok.to_dict()})
        self.config, self.tokenizer = config, tok
        self.cfg = model_config(config, tok)
        self.model = SynthAV(self.cfg, tok)
        loss = config.get("loss", {})
        self.weights = {k: float(loss.get(k, d)) for k, d in
                        (("text", 1.0), ("audio", 1.0), ("audio_text", 0.5), ("sync", 1.0))}
        self.sync_batch = int(config.get("data", {}).get("sync_batch", 16))
        self.last_metrics: dict[str, float] = {}

    def losses(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """The four objectives and in-batch accuracies of one batch (``loss`` is the weighted sum)."""
        m = self.model
        sem = batch["sem"]
        b, k = sem.shape[:2]
        video = m.semantic(sem.flatten(0, 1)).reshape(b, k, -1).mean(dim=1)
        audio_sync, audio_sem = m.audio.forward_mel(batch["mel"])
        _, text = m.text(list(batch["caption"]))
        out: dict[str, torch.Tensor] = {}
        out["text"] = info_nce(video, text, m.scale_vt())
        out["audio"] = info_nce(video, audio_sem, m.scale_va())
        out["audio_text"] = info_nce(audio_sem, text, m.scale_at())
        n = min(self.sync_batch, b)
        vs = m.sync(batch["sync"][:n])
        logits = m.offset(vs, audio_sync[:n], batch["start"][:n])
        target = torch.full((n,), m.offset.max_offset, dtype=torch.long, device=logits.device)
        out["sync"] = F.cross_entropy(logits, target)
        out["loss"] = sum(self.weights[name] * out[name] for name in self.weights)  # type: ignore[assignment]
        with torch.no_grad():
            out["offset_acc"] = (logits.argmax(dim=1) == target).float().mean()
            sims = F.normalize(video, dim=-1) @ F.normalize(audio_sem, dim=-1).T
            out["va_acc"] = (sims.argmax(dim=1) == torch.arange(b, device=sims.device)).float().mean()
        return out

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        parts = self.losses(batch)
        metrics = {f"train/{k}": v.detach() for k, v in parts.items()}
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=batch["sem"].shape[0])
        self.log("sync", parts["sync"].detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self.log("text", parts["text"].detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self.last_metrics = {k: float(v.detach()) for k, v in parts.items()}
        return parts["loss"]

    def configure_optimizers(self) -> dict[str, Any]:
        from v2abench.training.optim import adamw_warmup_cosine

        return adamw_warmup_cosine(self.model.parameters(), self.config, default_lr=2e-3, default_floor=0.05)


# --------------------------------------------------------------------------------------------- quality


def _recall(sims: torch.Tensor, correct: torch.Tensor, k: int) -> float:
    """Share of rows whose top-k columns hold a correct one (``correct`` bool [N, N])."""
    top = sims.topk(min(k, sims.shape[1]), dim=1).indices
    return float(correct.gather(1, top).any(dim=1).float().mean())


@torch.no_grad()
def quality(model: SynthAV, split: str = "synthfoley-val", limit: int | None = None, window: int = 48,
            batch_size: int = 32, progress: bool = False) -> dict[str, Any]:
    """Retrieval and offset accuracy of ``model`` on ``split`` (the figures an asset's JSON records).

    - ``retrieval``: recall@1/@5 video->audio and audio->video (the clip itself is the match; the
      video embedding is the normalised mean of the semantic encoder's 5 fps frames, through
      ``encode``), and video->text / text->video (a clip whose caption equals the query's counts);
      chance is 1/N and 5/N;
    - ``offset``: on three windows of ``window`` frames per clip (first, middle and last that leave
      room for +-K), the accuracy of the offset head's argmax over the ``2K + 1`` shifts at the true
      alignment (``acc``; chance ``1 / (2K + 1)``), within one frame (``acc_1``, 40 ms), and the mean
      absolute error in frames.
    """
    was_training = model.training
    model.eval()
    data = load_split_av(split, model.cfg, progress=progress)
    n = len(data["ids"]) if limit is None else min(limit, len(data["ids"]))
    frames, mel, captions = data["frames"][:n], data["mel"][:n].float(), data["captions"][:n]
    k = model.offset.max_offset
    n_frames = frames.shape[1]
    window = min(window, n_frames - 2 * k)
    starts = sorted({k, (n_frames - window) // 2, n_frames - window - k})
    v_emb, a_emb, t_emb, errors = [], [], [], []
    for i in range(0, n, batch_size):
        f, m_ = frames[i : i + batch_size], mel[i : i + batch_size]
        v_emb.append(F.normalize(model.semantic.encode(f, model.cfg.sync_fps).mean(dim=1), dim=-1))
        a_sync, a_sem = model.audio.forward_mel(m_)
        a_emb.append(F.normalize(a_sem, dim=-1))
        t_emb.append(model.text.embed(captions[i : i + batch_size]))
        v_sync = model.sync.encode(f, model.cfg.sync_fps)
        for s in starts:
            logits = model.offset(v_sync[:, s : s + window], a_sync, s)
            errors.append(logits.argmax(dim=1) - k)
    v, a, t = torch.cat(v_emb), torch.cat(a_emb), torch.cat(t_emb)
    same_clip = torch.eye(n, dtype=torch.bool)
    same_caption = torch.tensor([[ci == cj for cj in captions] for ci in captions], dtype=torch.bool)
    err = torch.cat(errors).abs().float()
    model.train(was_training)
    return {
        "split": split, "clips": n,
        "retrieval": {
            "video_to_audio_r1": _recall(v @ a.T, same_clip, 1), "video_to_audio_r5": _recall(v @ a.T, same_clip, 5),
            "audio_to_video_r1": _recall(a @ v.T, same_clip, 1), "audio_to_video_r5": _recall(a @ v.T, same_clip, 5),
            "video_to_text_r1": _recall(v @ t.T, same_caption, 1), "text_to_video_r1": _recall(t @ v.T, same_caption, 1),
            "chance_r1": 1.0 / n,
        },
        "offset": {"windows": int(err.numel()), "window_frames": window, "max_offset": k,
                   "acc": float((err == 0).float().mean()), "acc_1": float((err <= 1).float().mean()),
                   "mae_frames": float(err.mean()), "chance": 1.0 / (2 * k + 1)},
    }


# ---------------------------------------------------------------------------------------------- export


def weights_state(model: SynthAV) -> dict[str, torch.Tensor]:
    """Every parameter and persistent buffer as contiguous fp32 tensors."""
    return {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items()}


def synthav_meta(model: SynthAV, config: dict[str, Any], train_steps: int, final_losses: dict[str, float],
                 quality_record: dict[str, Any] | None) -> dict[str, Any]:
    """The ``meta.json`` of an exported SynthAV (what :mod:`v2abench.encoders.synthav_load` reads)."""
    cfg = model.cfg
    return {
        "format_version": FORMAT_VERSION,
        "name": NAME,
        "kind": "encoder",
        "version": str(config.get("version", "v1")),
        "model": cfg.to_dict(),
        "tokenizer": model.tokenizer.to_dict(),
        "config": config,
        "streams": {
            "semantic": {"fps": cfg.sem_fps, "dim": cfg.sem_dim, "image_size": cfg.image_size, "normalised": "unit norm"},
            "sync": {"fps": cfg.sync_fps, "dim": cfg.sync_dim, "image_size": cfg.image_size, "normalised": "layer norm"},
            "text": {"dim": cfg.text_dim, "embed_dim": cfg.sem_dim, "vocab_size": len(model.tokenizer)},
            "audio": {"sample_rate": cfg.sample_rate, "sync_fps": cfg.sync_fps, "dim": cfg.sem_dim},
        },
        "parameters": model.parameter_counts(),
        "train_split": config.get("data", {}).get("split", "synthfoley-train"),
        "train_steps": int(train_steps),
        "final_losses": final_losses,
        "quality": quality_record,
    }


REFERENCE_SPLIT = "synthfoley-tiny-val"
"""The split the test suite recomputes a shipped asset's quality on: the tiny world's val split is the
first 8 clips of synthfoley-val (the tiny world is a prefix of the default one)."""


def reference_quality_record(model: SynthAV, config: dict[str, Any]) -> dict[str, Any] | None:
    """Quality on the first clips of the default val split, labelled as the tiny val split they equal.

    Only when the run's ``eval.split`` is ``synthfoley-val``; the test suite recomputes it on its own
    tiny world (:data:`REFERENCE_SPLIT`) and compares.
    """
    if config.get("eval", {}).get("split") != "synthfoley-val":
        return None
    from v2abench.data.synthfoley.spec import SCALES

    n_tiny = SCALES["tiny"]["val"]
    record = quality(model, "synthfoley-val", limit=n_tiny, window=int(config.get("data", {}).get("sync_window", 48)))
    return record | {"split": REFERENCE_SPLIT}


class SynthAVTrainable:
    """``v2abench train --model synthav``: the SynthAV semantic, sync, text (and audio) encoders."""

    name = NAME
    config_dir = "encoders/synthav"

    def build_module(self, config: dict[str, Any]) -> SynthAVModule:
        if config.get("num_threads"):
            torch.set_num_threads(int(config["num_threads"]))
        check_train_split(config.get("data", {}).get("split", "synthfoley-train"))
        return SynthAVModule(config)

    def build_datamodule(self, config: dict[str, Any]) -> SynthAVDataModule:
        return SynthAVDataModule.from_config(config)

    def export(self, module: L.LightningModule, config: dict[str, Any], run_dir: Path) -> Path:
        assert isinstance(module, SynthAVModule)
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        steps = module.trainer.global_step if module._trainer is not None else 0
        ev = config.get("eval", {})
        record = None
        if ev.get("split"):
            record = quality(module.model, ev["split"], limit=ev.get("limit"),
                             window=int(config.get("data", {}).get("sync_window", 48)))
            log.info("synthav quality on %s: %s", ev["split"], record)
        meta = synthav_meta(module.model, config, steps, module.last_metrics, record)
        reference = reference_quality_record(module.model, config)
        if reference is not None:
            meta["reference_quality"] = reference
        path = run_dir / "model.safetensors"
        with atomic_path(path) as tmp:
            save_file(weights_state(module.model), str(tmp), metadata={"name": NAME, "kind": "encoder"})
        write_json(run_dir / "meta.json", meta)
        log.info("exported synthav (%d parameters, %.2f MB) to %s", meta["parameters"]["total"],
                 path.stat().st_size / 2**20, path)
        return path
