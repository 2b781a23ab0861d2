"""SynthAV: the suite's own visual, text and audio encoders for SynthFoley (networks only).

Four small networks share one joint semantic space of ``sem_dim`` dimensions; two of them also share
a 25 fps synchrony space of ``sync_dim`` dimensions:

- :class:`SemanticEncoder` — a per-frame conv net. ``encode(frames, fps)`` samples the video at
  ``sem_fps`` (5 fps: 20 embeddings for a 4 s clip) and returns unit-norm embeddings ``[B, T', sem_dim]``
  in the joint space (a clip's embedding is the normalised mean of its frames'). Trained
  contrastively (InfoNCE) against the caption (:class:`TextEncoder`) and the audio (:class:`AudioEncoder`).
- :class:`SyncEncoder` — a per-frame conv stem over ``[frame_t, frame_t - frame_{t-1}]`` (appearance and
  motion), then a dilated temporal conv stack; ``encode(frames, fps)`` returns one feature per frame at
  25 fps ``[B, T', sync_dim]`` (per-frame LayerNorm, RMS 1). Trained with the audio-visual offset
  objective of :class:`OffsetHead`: the features of a video window against the audio's sync features
  shifted by ``-K..K`` frames (40 ms steps); the aligned shift must win.
- :class:`TextEncoder` — word embeddings (:mod:`~v2abench.encoders.text_tokenizer`) plus learned
  positions through a small pre-norm transformer: per-token features ``[B, L, text_dim]`` and a mask
  (``encode``), and a mean-pooled, projected, unit-norm caption embedding in the joint space (``embed``).
- :class:`AudioEncoder` — log-mel (16 kHz, 64 bands, 50 Hz) through a dilated 1-D conv trunk: sync
  features at 25 fps and a pooled unit-norm semantic embedding. Used for training (and for the quality
  figures of the asset: audio-video retrieval and offset accuracy); shipped with the others.

Frames are reduced to ``image_size`` x ``image_size`` by :func:`prepare_frames` (bilinear with
antialiasing, rounded back to uint8) — the same function for training data and inference, so the
networks see identical pixels either way. Nothing here is published: every size and choice is ours,
sized for CPU training (the ``quick`` preset: about 0.8 M parameters, 3.1 MB fp32, about 32 minutes
on one core).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from v2abench.codecs.losses import LogMel, MelConfig
from v2abench.encoders.text_tokenizer import WordTokenizer


@dataclass
class SynthAVConfig:
    """Sizes of the four networks (the ``model:`` section of a synthav config)."""

    image_size: int = 56
    # semantic stream
    sem_fps: float = 5.0
    sem_dim: int = 128
    sem_channels: tuple[int, ...] = (32, 64, 96, 128)
    # sync stream
    sync_fps: float = 25.0
    sync_dim: int = 64
    sync_channels: tuple[int, ...] = (24, 48, 64)
    sync_hidden: int = 96
    sync_dilations: tuple[int, ...] = (1, 2, 4)
    sync_kernel: int = 5
    max_offset: int = 12  # offset classes -K..K frames of 1 / sync_fps
    # text
    vocab_size: int = 128
    text_dim: int = 96
    text_layers: int = 2
    text_heads: int = 4
    text_ff: int = 192
    max_length: int = 64
    # audio
    sample_rate: int = 16_000
    n_fft: int = 512
    hop: int = 320  # 50 Hz mel frames; the sync head halves that to 25 Hz
    n_mels: int = 64
    audio_hidden: int = 64
    audio_dilations: tuple[int, ...] = (1, 2, 4)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.type.startswith("tuple") and isinstance(getattr(self, f.name), list):
                setattr(self, f.name, tuple(getattr(self, f.name)))
        if self.sample_rate != self.hop * 2 * self.sync_fps:
            raise ValueError(f"hop {self.hop} at {self.sample_rate} Hz does not give 2 x {self.sync_fps} Hz mel frames")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthAVConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown synthav model settings: {sorted(unknown)}")
        return cls(**data)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------------- frames


def resample_index(n_frames: int, fps: float, out_fps: float) -> torch.Tensor:
    """Indices of the input frames showing at times ``k / out_fps`` (nearest index; at least one frame)."""
    if not (fps > 0 and out_fps > 0):
        raise ValueError(f"frame rates must be > 0, got {fps}, {out_fps}")
    n_out = max(1, round(n_frames * out_fps / fps))
    return torch.clamp((torch.arange(n_out) * (fps / out_fps)).round().long(), max=n_frames - 1)


@torch.no_grad()
def prepare_frames(frames: torch.Tensor, size: int, chunk: int = 256) -> torch.Tensor:
    """uint8 ``[..., 3, H, W]`` -> uint8 ``[..., 3, size, size]`` (bilinear, antialiased, rounded).

    Frames already at ``size`` pass through untouched. Non-square frames are squashed, as the
    training frames (square SynthFoley videos) never are.
    """
    if frames.dtype != torch.uint8:
        raise TypeError(f"frames must be uint8, got {frames.dtype}")
    if frames.dim() < 4 or frames.shape[-3] != 3:
        raise ValueError(f"frames must be [..., 3, H, W], got {tuple(frames.shape)}")
    if frames.shape[-2:] == (size, size):
        return frames
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = torch.empty((flat.shape[0], 3, size, size), dtype=torch.uint8)
    for i in range(0, flat.shape[0], chunk):
        x = F.interpolate(flat[i : i + chunk].float(), size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
        out[i : i + chunk] = x.round().clamp(0, 255).to(torch.uint8)
    return out.reshape(*lead, 3, size, size)


def _normalise(frames: torch.Tensor) -> torch.Tensor:
    """uint8 -> float, zero mean-ish, unit-ish scale."""
    return (frames.float() / 255.0 - 0.5) / 0.25


def _check_video(frames: torch.Tensor) -> None:
    if frames.dim() != 5 or frames.shape[2] != 3:
        raise ValueError(f"frames must be uint8 [B, T, 3, H, W], got {tuple(frames.shape)}")
    if frames.dtype != torch.uint8:
        raise TypeError(f"frames must be uint8, got {frames.dtype}")


def _conv_stack(in_ch: int, channels: tuple[int, ...]) -> nn.Sequential:
    """A 4x4/stride-4 patch conv, then 3x3 convs, stride 2 after the first (GroupNorm + GELU)."""
    layers: list[nn.Module] = []
    prev = in_ch
    for i, ch in enumerate(channels):
        if i == 0:
            conv = nn.Conv2d(prev, ch, kernel_size=4, stride=4)
        else:
            conv = nn.Conv2d(prev, ch, kernel_size=3, stride=2 if i % 2 == 1 else 1, padding=1)
        layers += [conv, nn.GroupNorm(1, ch), nn.GELU()]
        prev = ch
    return nn.Sequential(*layers)


class _Encoder(nn.Module):
    """Common attributes of the visual encoders (the suite's VisualEncoder interface)."""

    name: str = "synthav"
    fps: float
    dim: int
    weights_sha256: str | None = None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


# -------------------------------------------------------------------------------------------- semantic


class SemanticEncoder(_Encoder):
    """Per-frame embeddings in the joint video–text–audio space, at ``sem_fps``."""

    def __init__(self, cfg: SynthAVConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.name = "synthav-semantic"
        self.fps, self.dim, self.size = float(cfg.sem_fps), int(cfg.sem_dim), int(cfg.image_size)
        self.net = _conv_stack(3, cfg.sem_channels)
        width = cfg.sem_channels[-1]
        self.proj = nn.Sequential(nn.Linear(2 * width, width), nn.GELU(), nn.Linear(width, cfg.sem_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Prepared uint8 ``[N, 3, S, S]`` -> raw (not normalised) embeddings ``[N, sem_dim]``."""
        h = self.net(_normalise(images).to(self.device))
        h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.proj(h)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor, fps: float, chunk: int = 256) -> torch.Tensor:
        """uint8 ``[B, T, 3, H, W]`` at ``fps`` -> unit-norm float32 ``[B, T', sem_dim]`` at ``self.fps``."""
        _check_video(frames)
        b = frames.shape[0]
        index = resample_index(frames.shape[1], fps, self.fps)
        images = prepare_frames(frames[:, index].cpu(), self.size).flatten(0, 1)
        out = torch.cat([self(images[i : i + chunk]) for i in range(0, images.shape[0], chunk)])
        return F.normalize(out.float(), dim=-1).reshape(b, len(index), self.dim)


# ------------------------------------------------------------------------------------------------ sync


class _TemporalBlock(nn.Module):
    """Pre-norm residual dilated 1-D conv block over ``[B, C, T]`` (same length)."""

    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, channels)
        self.conv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.gelu(self.conv(self.norm(x))))


class SyncEncoder(_Encoder):
    """Per-frame appearance+motion stem, dilated temporal convs: ``[B, T, sync_dim]`` at 25 fps."""

    def __init__(self, cfg: SynthAVConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.name = "synthav-sync"
        self.fps, self.dim, self.size = float(cfg.sync_fps), int(cfg.sync_dim), int(cfg.image_size)
        self.stem = _conv_stack(6, cfg.sync_channels)
        width = cfg.sync_channels[-1]
        self.frame_proj = nn.Linear(2 * width, cfg.sync_hidden)
        self.blocks = nn.Sequential(*[_TemporalBlock(cfg.sync_hidden, cfg.sync_kernel, d) for d in cfg.sync_dilations])
        self.out = nn.Conv1d(cfg.sync_hidden, cfg.sync_dim, 1)

    def frame_features(self, clips: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        """Prepared uint8 ``[B, T, 3, S, S]`` -> per-frame stem features ``[B, T, sync_hidden]``."""
        b, t = clips.shape[:2]
        x = _normalise(clips.to(self.device))
        motion = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)
        x = torch.cat([x, motion], dim=2).flatten(0, 1)  # [B*T, 6, S, S]
        feats = []
        for i in range(0, x.shape[0], chunk):
            h = self.stem(x[i : i + chunk])
            feats.append(self.frame_proj(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)))
        return torch.cat(feats).reshape(b, t, -1)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Prepared uint8 ``[B, T, 3, S, S]`` at 25 fps -> ``[B, T, sync_dim]`` (LayerNorm'd per frame)."""
        h = self.frame_features(clips).transpose(1, 2)
        h = self.out(self.blocks(h)).transpose(1, 2)
        return F.layer_norm(h, (self.dim,))

    @torch.no_grad()
    def encode(self, frames: torch.Tensor, fps: float) -> torch.Tensor:
        """uint8 ``[B, T, 3, H, W]`` at ``fps`` -> float32 ``[B, T', sync_dim]`` at 25 fps."""
        _check_video(frames)
        index = resample_index(frames.shape[1], fps, self.fps)
        clips = prepare_frames(frames[:, index].cpu(), self.size)
        return self(clips).float()


# ----------------------------------------------------------------------------------------------- audio


class MelFrontend(nn.Module):
    """Waveform ``[B, N]`` or ``[B, 1, N]`` at 16 kHz -> scaled log-mel ``[B, n_mels, N // hop + 1]``.

    ``(log(max(mel, 1e-5)) + 6) / 4`` with :class:`~v2abench.codecs.losses.LogMel` (Hann window of
    ``n_fft``, centred); no learned or data-dependent normalisation, so loudness stays visible.
    """

    def __init__(self, cfg: SynthAVConfig) -> None:
        super().__init__()
        self.mel = LogMel(MelConfig(sample_rate=cfg.sample_rate, n_fft=cfg.n_fft, hop=cfg.hop, n_mels=cfg.n_mels))

    @torch.no_grad()
    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return (self.mel(wav.float()) + 6.0) / 4.0


class AudioEncoder(nn.Module):
    """Log-mel -> (sync features ``[B, T25, sync_dim]``, unit-norm semantic embedding ``[B, sem_dim]``)."""

    name = "synthav-audio"

    def __init__(self, cfg: SynthAVConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.sample_rate, self.fps, self.sync_dim, self.sem_dim = cfg.sample_rate, cfg.sync_fps, cfg.sync_dim, cfg.sem_dim
        self.frontend = MelFrontend(cfg)
        h = cfg.audio_hidden
        self.inp = nn.Conv1d(cfg.n_mels, h, 3, padding=1)
        self.trunk = nn.Sequential(*[_TemporalBlock(h, 3, d) for d in cfg.audio_dilations])
        self.down = nn.Conv1d(h, h, 3, stride=2, padding=1)  # 50 -> 25 Hz; output k centred on mel frame 2k
        self.sync_blocks = nn.Sequential(_TemporalBlock(h, 3, 1), _TemporalBlock(h, 3, 2))
        self.sync_out = nn.Conv1d(h, cfg.sync_dim, 1)
        self.sem_blocks = nn.Sequential(_TemporalBlock(h, 3, 4), _TemporalBlock(h, 3, 8))
        self.sem_out = nn.Sequential(nn.Linear(2 * h, h), nn.GELU(), nn.Linear(h, cfg.sem_dim))

    def forward_mel(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.trunk(self.inp(mel))
        d = self.down(F.gelu(x))
        sync = self.sync_out(self.sync_blocks(d)).transpose(1, 2)
        s = self.sem_blocks(d)
        sem = self.sem_out(torch.cat([s.mean(dim=2), s.amax(dim=2)], dim=1))
        return F.layer_norm(sync, (self.sync_dim,)), sem

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_mel(self.frontend(wav))

    @torch.no_grad()
    def encode(self, wav: torch.Tensor, sample_rate: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveform ``[B, N]`` at 16 kHz -> (sync ``[B, T25, sync_dim]``, unit-norm semantic ``[B, sem_dim]``)."""
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise ValueError(f"the SynthAV audio encoder takes {self.sample_rate} Hz audio, got {sample_rate}")
        sync, sem = self(wav.float())
        return sync, F.normalize(sem, dim=-1)


# ------------------------------------------------------------------------------------------------ text


class TextEncoder(nn.Module):
    """Captions -> per-token features ``[B, L, text_dim]`` + mask, and a pooled joint-space embedding."""

    def __init__(self, cfg: SynthAVConfig, tokenizer: WordTokenizer) -> None:
        super().__init__()
        if len(tokenizer) > cfg.vocab_size:
            raise ValueError(f"the tokenizer has {len(tokenizer)} words, the model room for {cfg.vocab_size}")
        self.cfg, self.tokenizer = cfg, tokenizer
        self.name = "synthav-text"
        self.dim, self.embed_dim = int(cfg.text_dim), int(cfg.sem_dim)
        self.weights_sha256: str | None = None
        self.tok = nn.Embedding(cfg.vocab_size, cfg.text_dim, padding_idx=tokenizer.pad_id)
        self.pos = nn.Parameter(torch.zeros(cfg.max_length, cfg.text_dim))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(cfg.text_dim, cfg.text_heads, cfg.text_ff, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg.text_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.text_dim)
        self.proj = nn.Linear(cfg.text_dim, cfg.sem_dim)

    @property
    def device(self) -> torch.device:
        return self.tok.weight.device

    def forward_ids(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-token ``[B, L, text_dim]``, raw pooled projection ``[B, sem_dim]``)."""
        ids, mask = ids.to(self.device), mask.to(self.device)
        x = self.tok(ids) + self.pos[: ids.shape[1]]
        x = self.norm(self.layers(x, src_key_padding_mask=~mask))
        x = x * mask.unsqueeze(-1)
        pooled = x.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp_min(1)
        return x, self.proj(pooled)

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = self.tokenizer.encode(texts)
        return self.forward_ids(ids, mask)

    @torch.no_grad()
    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features float32 [B, L, text_dim], mask bool [B, L])``; padded positions are zero."""
        ids, mask = self.tokenizer.encode(list(texts))
        tokens, _ = self.forward_ids(ids, mask)
        return tokens.float(), mask.to(tokens.device)

    @torch.no_grad()
    def embed(self, texts: list[str]) -> torch.Tensor:
        """Mean-pooled caption embeddings, projected to the joint space, unit norm: ``[B, sem_dim]``."""
        _, pooled = self(list(texts))
        return F.normalize(pooled.float(), dim=-1)


# ----------------------------------------------------------------------------------------------- heads


class OffsetHead(nn.Module):
    """Audio-visual offset logits from sync features: ``2K + 1`` classes for shifts ``-K..K`` frames.

    ``logits[b, K + s] = scale · mean_t cos(video[b, t], audio[b, start_b + t + s])`` — a learned
    temperature and nothing else, so the timing must live in the features themselves. Class ``K``
    (shift 0) is the aligned pair.
    """

    def __init__(self, max_offset: int, init_scale: float = 10.0) -> None:
        super().__init__()
        self.max_offset = int(max_offset)
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale)))

    @property
    def num_classes(self) -> int:
        return 2 * self.max_offset + 1

    def forward(self, video: torch.Tensor, audio: torch.Tensor, start: torch.Tensor | int) -> torch.Tensor:
        """``video [B, W, D]`` (frames ``start .. start+W-1`` of the clip), ``audio [B, Ta, D]`` (whole clip)."""
        b, w, _ = video.shape
        k = self.max_offset
        start = torch.as_tensor(start, device=video.device).long().expand(b)
        if int(start.min()) < k or int(start.max()) + w + k > audio.shape[1]:
            raise ValueError(f"window [start-{k}, start+{w}+{k}) leaves the {audio.shape[1]} audio frames")
        index = start[:, None] + torch.arange(-k, w + k, device=video.device)[None]  # [B, W + 2K]
        window = torch.gather(audio, 1, index[..., None].expand(-1, -1, audio.shape[2]))
        window = F.normalize(window, dim=-1).unfold(1, w, 1)  # [B, 2K+1, D, W]
        sims = torch.einsum("bwd,bsdw->bs", F.normalize(video, dim=-1), window) / w
        return sims * self.log_scale.exp().clamp(max=100.0)


class ContrastiveScale(nn.Module):
    """A learned CLIP logit scale (initialised at 1 / 0.07, capped at 100)."""

    def __init__(self, init: float = 1 / 0.07) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(init)))

    def forward(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=100.0)


def info_nce(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE between matching rows of ``a`` and ``b`` [B, D] (normalised here)."""
    logits = scale * F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


class SynthAV(nn.Module):
    """All SynthAV networks and training heads in one module (what ``model.safetensors`` holds)."""

    def __init__(self, cfg: SynthAVConfig, tokenizer: WordTokenizer) -> None:
        super().__init__()
        self.cfg, self.tokenizer = cfg, tokenizer
        self.semantic = SemanticEncoder(cfg)
        self.sync = SyncEncoder(cfg)
        self.text = TextEncoder(cfg, tokenizer)
        self.audio = AudioEncoder(cfg)
        self.offset = OffsetHead(cfg.max_offset)
        self.scale_vt = ContrastiveScale()
        self.scale_va = ContrastiveScale()
        self.scale_at = ContrastiveScale()

    def parameter_counts(self) -> dict[str, int]:
        parts = {name: count_parameters(getattr(self, name)) for name in ("semantic", "sync", "text", "audio")}
        parts["total"] = count_parameters(self)
        return parts
