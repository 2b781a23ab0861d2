"""SynthProbe: the suite's own audio / video / text evaluation network for SynthFoley (PROTOCOL.md,
"SynthFoley probes").

It is trained on the ``probe`` split only (:mod:`v2abench.probes.training`) and gives every
``@synthprobe`` metric its features:

- **audio encoder** -- log-mel (64 bands 50-8000 Hz, 25 ms window, 10 ms hop, ``log(x + 1e-6)``,
  fixed normalisation) -> a 1-d conv stem (100 Hz) -> one stride-2 conv (50 Hz) -> dilated residual
  conv blocks -> *frame features* at 50 Hz (for synchrony) and, by mean+max pooling over time, a
  clip *embedding* (FD, KAD, IB-style, CLAP-style) with *class logits* over the 12 on-screen
  SynthFoley classes (KL, IS) and auxiliary ambience logits (training only).
- **video encoder** -- two streams. Timing: every frame at 25 fps, area-downsampled to 32x32 (with
  the difference to the previous frame as 3 extra channels), a small strided CNN per frame, then
  dilated temporal convs -> per-frame features, linearly upsampled to 50 Hz. Appearance (materials
  are surface patterns): ``key_frames`` evenly spaced frames at full 112x112 through a strided CNN,
  mean+max pooled. Both pooled into a clip embedding (+ auxiliary class logits).
- **text encoder** -- a word tokenizer whose vocabulary is built from the probe split's captions,
  word embeddings, a bidirectional GRU, mean+max pooling -> embedding.
- **offset head** -- 21 offsets from -1.0 s to +1.0 s in 0.1 s steps (the Synchformer grid of
  -2..+2 s in 0.2 s steps, halved for 4 s clips). For offset ``d`` the elementwise products of video
  frame features ``v_t`` and audio frame features ``a_{t+d}`` are averaged over the frames where
  both exist (no wrap-around), and one small MLP shared by all offsets scores that vector. A
  positive offset means the audio is *late* (delayed) relative to the video. DeSync-style =
  ``|argmax offset|`` in seconds.
- **aligned head** -- ``p(aligned)`` from a few statistics of the offset logits (the margin of
  offset 0 over the log-sum-exp of all offsets and over the best offset at least 0.3 s away, the
  entropy) and the audio-video embedding cosine.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from v2abench.data.synthfoley.spec import AMBIENCES, CLASS_NAMES

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"[a-z]+")


@dataclass
class SynthProbeConfig:
    """Every size and setting of a :class:`SynthProbe` (stored in the artefact)."""

    sample_rate: int = 16_000
    fps: int = 25
    n_fft: int = 512
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms: 100 Hz mel frames; the audio features run at 50 Hz
    n_mels: int = 64
    f_min: float = 50.0
    f_max: float = 8000.0
    mel_mean: float = -10.5  # fixed input normalisation of log(mel + 1e-6) (probe-split statistics)
    mel_std: float = 4.0
    audio_dim: int = 96
    audio_dilations: tuple[int, ...] = (1, 2, 4)
    kernel: int = 5
    sync_dim: int = 64
    embed_dim: int = 128
    frame_size: int = 32  # timing stream input (pixels)
    frame_channels: tuple[int, ...] = (16, 32, 64)
    frame_dim: int = 96
    video_dim: int = 96
    video_dilations: tuple[int, ...] = (1, 2)
    key_size: int = 112
    key_channels: tuple[int, ...] = (16, 32, 64, 96)
    key_frames: int = 4  # appearance frames at evaluation
    text_dim: int = 64
    max_tokens: int = 64
    head_hidden: int = 64
    num_classes: int = len(CLASS_NAMES)
    num_ambience: int = len(AMBIENCES)
    max_offset: float = 1.0  # seconds
    offset_step: float = 0.1  # seconds
    aligned_min_offset: float = 0.3  # training negatives are shifted at least this far
    vocab: list[str] = field(default_factory=lambda: [PAD, UNK])

    @property
    def feature_rate(self) -> int:
        """Frame features per second (audio and upsampled video)."""
        return 2 * self.fps

    @property
    def num_offsets(self) -> int:
        return 2 * round(self.max_offset / self.offset_step) + 1

    @property
    def offset_frames(self) -> int:
        """Feature frames per offset step."""
        frames = self.offset_step * self.feature_rate
        if abs(frames - round(frames)) > 1e-6:
            raise ValueError(f"offset_step {self.offset_step} s is not a whole number of {self.feature_rate} Hz frames")
        return round(frames)

    def offsets_seconds(self) -> torch.Tensor:
        half = self.num_offsets // 2
        return torch.arange(-half, half + 1, dtype=torch.float64) * self.offset_step

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in doc.items()}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> SynthProbeConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(doc) - set(known))
        if unknown:
            raise ValueError(f"unknown SynthProbe config keys: {', '.join(unknown)}")
        values = {k: tuple(v) if isinstance(getattr(cls(), k), tuple) else v for k, v in doc.items()}
        return cls(**values)


# ---------------------------------------------------------------- preprocessing shared by training and metrics


def tokenize(text: str) -> list[str]:
    """Lower-case words (letters only): the probe's tokenizer."""
    return _WORD.findall(text.lower())


def build_vocab(captions: list[str]) -> list[str]:
    """``[<pad>, <unk>, words sorted]`` of every word in ``captions``."""
    words = sorted({w for c in captions for w in tokenize(c)})
    return [PAD, UNK, *words]


def encode_text(texts: list[str], vocab: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids ``[B, max_tokens]`` (0-padded, unknown words -> 1) and lengths ``[B]`` (>= 1)."""
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.zeros(len(texts), max_tokens, dtype=torch.long)
    lengths = torch.ones(len(texts), dtype=torch.long)
    for row, text in enumerate(texts):
        tokens = [index.get(w, 1) for w in tokenize(text)][:max_tokens] or [1]
        ids[row, : len(tokens)] = torch.tensor(tokens)
        lengths[row] = len(tokens)
    return ids, lengths


def lowres_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[T, 3, H, W]`` -> uint8 ``[T, 3, size, size]`` (area interpolation, rounded)."""
    x = F.interpolate(frames.float(), size=(size, size), mode="area")
    return x.round().clamp(0, 255).to(torch.uint8)


def key_frame_indices(num_frames: int, count: int) -> list[int]:
    """``count`` evenly spaced frame indices (centres of equal parts) of ``num_frames``."""
    return [min(num_frames - 1, int((i + 0.5) * num_frames / count)) for i in range(count)]


def key_frames(frames: torch.Tensor, count: int, size: int) -> torch.Tensor:
    """uint8 ``[count, 3, size, size]``: evenly spaced frames (resized only when not ``size``)."""
    picked = frames[key_frame_indices(frames.shape[0], count)]
    if picked.shape[-1] != size or picked.shape[-2] != size:
        picked = F.interpolate(picked.float(), size=(size, size), mode="bilinear", antialias=True,
                               align_corners=False).round().clamp(0, 255).to(torch.uint8)
    return picked


def _normalise_pixels(x: torch.Tensor) -> torch.Tensor:
    return (x.float() / 255.0 - 0.5) / 0.25


# ---------------------------------------------------------------- layers


class LogMel(nn.Module):
    """Waveform ``[B, N]`` -> normalised log-mel ``[B, n_mels, N // hop + 1]`` (centred frames)."""

    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        import torchaudio.functional as AF

        self.cfg = cfg
        self.register_buffer("window", torch.hann_window(cfg.win_length), persistent=False)
        fb = AF.melscale_fbanks(cfg.n_fft // 2 + 1, cfg.f_min, cfg.f_max, cfg.n_mels, cfg.sample_rate,
                                norm="slaney", mel_scale="slaney")
        self.register_buffer("fb", fb, persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        spec = torch.stft(wav.float(), c.n_fft, c.hop_length, c.win_length, self.window, center=True,
                          pad_mode="constant", return_complex=True)
        power = spec.real.square() + spec.imag.square()  # [B, F, T]
        mel = torch.einsum("bft,fm->bmt", power, self.fb)
        return (torch.log(mel + 1e-6) - c.mel_mean) / c.mel_std


class ChannelNorm(nn.Module):
    """LayerNorm over channels of ``[B, C, T]``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResBlock1d(nn.Module):
    """``x + conv1x1(gelu(dilated conv(norm(x))))`` on ``[B, C, T]``."""

    def __init__(self, dim: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.norm = ChannelNorm(dim)
        self.conv = nn.Conv1d(dim, dim, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.proj = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(F.gelu(self.conv(self.norm(x))))


def _mean_max(x: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.cat([x.mean(dim), x.amax(dim)], dim=-1)


def _cnn(in_channels: int, channels: tuple[int, ...], first_kernel: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    prev = in_channels
    for i, ch in enumerate(channels):
        k = first_kernel if i == 0 else 3
        layers += [nn.Conv2d(prev, ch, k, stride=2, padding=k // 2), nn.GELU()]
        prev = ch
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- encoders


class AudioEncoder(nn.Module):
    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        d = cfg.audio_dim
        self.mel = LogMel(cfg)
        self.stem = nn.Conv1d(cfg.n_mels, d, cfg.kernel, padding=cfg.kernel // 2)
        self.down = nn.Conv1d(d, d, 4, stride=2, padding=1)  # 100 Hz -> 50 Hz
        self.blocks = nn.Sequential(*[ResBlock1d(d, cfg.kernel, r) for r in cfg.audio_dilations])
        self.norm = ChannelNorm(d)
        self.sync = nn.Sequential(nn.Linear(d, cfg.sync_dim), nn.LayerNorm(cfg.sync_dim))
        self.embed = nn.Sequential(nn.Linear(2 * d, cfg.embed_dim), nn.GELU(), nn.Linear(cfg.embed_dim, cfg.embed_dim))
        self.classes = nn.Linear(cfg.embed_dim, cfg.num_classes)
        self.ambience = nn.Linear(cfg.embed_dim, cfg.num_ambience)

    def forward(self, wav: torch.Tensor) -> dict[str, torch.Tensor]:
        """``wav [B, N]`` (16 kHz) -> embedding ``[B, E]``, logits ``[B, 12]``, ambience ``[B, 3]``,
        sync ``[B, T, S]`` at 50 Hz."""
        x = F.gelu(self.stem(self.mel(wav)))
        x = self.norm(self.blocks(F.gelu(self.down(x))))  # [B, D, T]
        emb = self.embed(_mean_max(x, 2))
        return {"embedding": emb, "logits": self.classes(emb), "ambience": self.ambience(emb),
                "sync": self.sync(x.transpose(1, 2))}


class VideoEncoder(nn.Module):
    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.frame_cnn = _cnn(6, cfg.frame_channels, 3)
        side = cfg.frame_size // 2 ** len(cfg.frame_channels)
        self.frame_proj = nn.Linear(cfg.frame_channels[-1] * side * side, cfg.frame_dim)
        d = cfg.video_dim
        self.temporal_in = nn.Conv1d(cfg.frame_dim, d, 1)
        self.blocks = nn.Sequential(*[ResBlock1d(d, cfg.kernel, r) for r in cfg.video_dilations])
        self.norm = ChannelNorm(d)
        self.sync = nn.Sequential(nn.Linear(d, cfg.sync_dim), nn.LayerNorm(cfg.sync_dim))
        self.key_cnn = _cnn(3, cfg.key_channels, 5)
        self.embed = nn.Sequential(nn.Linear(2 * d + 2 * cfg.key_channels[-1], cfg.embed_dim), nn.GELU(),
                                   nn.Linear(cfg.embed_dim, cfg.embed_dim))
        self.classes = nn.Linear(cfg.embed_dim, cfg.num_classes)

    def forward(self, lowres: torch.Tensor, keys: torch.Tensor) -> dict[str, torch.Tensor]:
        """``lowres`` uint8 ``[B, T, 3, s, s]`` at 25 fps, ``keys`` uint8 ``[B, K, 3, 112, 112]`` ->
        embedding ``[B, E]``, logits ``[B, 12]``, sync ``[B, 2T, S]`` at 50 Hz."""
        b, t = lowres.shape[:2]
        x = _normalise_pixels(lowres)
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)
        x = torch.cat([x, diff], dim=2).flatten(0, 1)  # [B*T, 6, s, s]
        x = self.frame_proj(self.frame_cnn(x).flatten(1)).view(b, t, -1)
        x = self.norm(self.blocks(self.temporal_in(x.transpose(1, 2))))  # [B, D, T]
        k = keys.shape[1]
        app = self.key_cnn(_normalise_pixels(keys).flatten(0, 1))  # [B*K, C, h, w]
        app = _mean_max(app.flatten(2), 2).view(b, k, -1).mean(1)
        emb = self.embed(torch.cat([_mean_max(x, 2), app], dim=-1))
        up = F.interpolate(x, size=2 * t, mode="linear", align_corners=False)  # 25 -> 50 Hz
        return {"embedding": emb, "logits": self.classes(emb), "sync": self.sync(up.transpose(1, 2))}


class TextEncoder(nn.Module):
    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(cfg.vocab), cfg.text_dim, padding_idx=0)
        self.gru = nn.GRU(cfg.text_dim, cfg.text_dim, batch_first=True, bidirectional=True)
        self.embed = nn.Sequential(nn.Linear(4 * cfg.text_dim, cfg.embed_dim), nn.GELU(),
                                   nn.Linear(cfg.embed_dim, cfg.embed_dim))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
        mean = (out * mask).sum(1) / lengths[:, None].clamp_min(1)
        peak = out.masked_fill(~mask, float("-inf")).amax(1)
        return self.embed(torch.cat([mean, peak], dim=-1))


class OffsetHead(nn.Module):
    """Logits ``[B, num_offsets]`` from video and audio frame features ``[B, T, S]`` (same rate)."""

    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mlp = nn.Sequential(nn.Linear(cfg.sync_dim, cfg.head_hidden), nn.GELU(), nn.Linear(cfg.head_hidden, 1))

    def pooled_products(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        t = min(v.shape[1], a.shape[1])
        v, a = v[:, :t], a[:, :t]
        step, half = self.cfg.offset_frames, self.cfg.num_offsets // 2
        if half * step >= t:
            raise ValueError(f"clip too short for offsets up to {self.cfg.max_offset} s ({t} feature frames)")
        pooled = []
        for k in range(-half, half + 1):
            shift = k * step  # pair v_t with a_{t+shift}
            if shift >= 0:
                prod = v[:, : t - shift] * a[:, shift:]
            else:
                prod = v[:, -shift:] * a[:, : t + shift]
            pooled.append(prod.mean(1))
        return torch.stack(pooled, dim=1)  # [B, O, S]

    def forward(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.pooled_products(v, a)).squeeze(-1)


class AlignedHead(nn.Module):
    """``p(aligned)`` logit from the offset logits and the audio-video embedding cosine."""

    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        half = cfg.num_offsets // 2
        far = round(cfg.aligned_min_offset / cfg.offset_step)
        keep = [i for i in range(cfg.num_offsets) if abs(i - half) >= far]
        self.register_buffer("far", torch.tensor(keep, dtype=torch.long), persistent=False)
        self.centre = half
        self.mlp = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 1))

    def forward(self, offset_logits: torch.Tensor, cosine: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(offset_logits, dim=-1)
        centre = offset_logits[:, self.centre]
        far = offset_logits[:, self.far].amax(-1)
        entropy = -(logp.exp() * logp).sum(-1)
        feats = torch.stack([logp[:, self.centre], centre - far, entropy, 5.0 * cosine], dim=-1)
        return self.mlp(feats).squeeze(-1)


class SynthProbe(nn.Module):
    """The probe. Inputs are raw: waveforms at 16 kHz, uint8 frames at 25 fps, caption strings."""

    def __init__(self, cfg: SynthProbeConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.audio = AudioEncoder(cfg)
        self.video = VideoEncoder(cfg)
        self.text = TextEncoder(cfg)
        self.offset = OffsetHead(cfg)
        self.aligned = AlignedHead(cfg)
        self.log_temp_av = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.log_temp_at = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    # -- raw-input helpers used by the metrics
    def encode_audio(self, wav: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.audio(wav if wav.dim() == 2 else wav.unsqueeze(0))

    def video_inputs(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 ``[T, 3, H, W]`` frames at 25 fps -> (lowres ``[T, 3, s, s]``, keys ``[K, 3, 112, 112]``)."""
        c = self.cfg
        return lowres_frames(frames, c.frame_size), key_frames(frames, c.key_frames, c.key_size)

    def encode_frames(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """One clip's uint8 frames ``[T, 3, H, W]`` at 25 fps -> the video encoder's outputs (batch 1)."""
        lowres, keys = self.video_inputs(frames)
        return self.video(lowres.unsqueeze(0), keys.unsqueeze(0))

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        ids, lengths = encode_text(texts, self.cfg.vocab, self.cfg.max_tokens)
        return self.text(ids, lengths)

    def pair_logits(self, video: dict[str, torch.Tensor], audio: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(offset logits ``[B, O]``, aligned logit ``[B]``) of encoded video/audio pairs."""
        offsets = self.offset(video["sync"], audio["sync"])
        cosine = F.cosine_similarity(video["embedding"], audio["embedding"], dim=-1)
        return offsets, self.aligned(offsets, cosine)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
