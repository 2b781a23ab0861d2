"""HTS-AT (HTSAT-base), the audio tower of LAION-CLAP ``music_speech_audioset_epoch_15_esc_89.98.pt``.

Written here from the published architecture (Chen et al., HTS-AT, ICASSP 2022; LAION-CLAP, Wu et
al., ICASSP 2023; the ``laion_clap`` 1.1.7 package, ``clap_module/htsat.py`` and
``model_configs/HTSAT-base.json``), with module and buffer names chosen so that the checkpoint's
``audio_branch.*`` tensors load with exact key matching (no fusion)::

    wave [B, 480000] 48 kHz (10 s; see :func:`repeatpad`)
      └ spectrogram_extractor  |STFT|^2: reflect pad 512, periodic Hann 1024, hop 480  -> [B, 1, 1001, 513]
      └ logmel_extractor       Slaney mel 64 bands 50–14000 Hz, 10 log10 (amin 1e-10, ref 1, no top_db)
      └ bn0                    BatchNorm over the 64 mel bands
      └ to image               bicubic (align_corners) 1001 -> 1024 frames, then 4 time slices of 256
                               stacked along frequency                         -> [B, 1, 256, 256]
      └ patch_embed            Conv 4x4 stride 4, 1 -> 128, LayerNorm         -> [B, 64*64, 128]
      └ layers 0..3            Swin stages, depths 2, 2, 12, 2, heads 4, 8, 16, 32, window 8, MLP x4;
                               odd blocks shift by 4 (none in stage 3, whose 8x8 grid is one window);
                               PatchMerging between stages: 128 -> 256 -> 512 -> 1024 channels
      └ norm                   LayerNorm(1024)
      └ mean over the 8x8 tokens                                              -> [B, 1024] "embedding"

``tscam_conv`` and ``head`` (the token-semantic AudioSet head) are in the checkpoint and are built
here for exact key matching; the CLAP embedding does not use them. Dropout and drop-path act only
in training and are left out; SpecAugment likewise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from v2abench.metrics.backbones.frontends import LogMelFilterBank, PowerSpectrogram

SAMPLE_RATE = 48_000
CLIP_SAMPLES = 480_000  # 10 s
WINDOW = 1024
HOP = 480
MEL_BANDS = 64
FMIN_HZ, FMAX_HZ = 50.0, 14_000.0
SPEC_SIZE = 256
FREQ_RATIO = SPEC_SIZE // MEL_BANDS  # 4 time slices stacked along frequency
NUM_CLASSES = 527


@dataclass(frozen=True)
class HtsatConfig:
    """HTSAT-base as ``create_htsat_model`` builds it for ``model_name == "base"``."""

    embed_dim: int = 128
    depths: tuple[int, ...] = (2, 2, 12, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 8
    patch_size: int = 4
    patch_stride: int = 4
    mlp_ratio: float = 4.0
    num_classes: int = NUM_CLASSES

    @property
    def num_features(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)


def repeatpad(audio: torch.Tensor, length: int = CLIP_SAMPLES, crop: str = "first", generator: np.random.Generator | None = None) -> torch.Tensor:
    """One mono clip ``[N]`` brought to exactly ``length`` samples, as LAION-CLAP's ``repeatpad``.

    Shorter clips are repeated ``int(length / N)`` times, then zero-padded at the end
    (``get_audio_features(..., data_filling="repeatpad")``). Longer clips keep their first
    ``length`` samples (``crop="first"``, the protocol); ``crop="random_crop"`` is the toolkit's
    ``rand_trunc`` (an offset drawn uniformly from ``0..N - length`` with ``generator``).
    """
    x = audio.reshape(-1)
    n = x.shape[0]
    if n == 0:
        raise ValueError("empty clip")
    if n > length:
        if crop == "first":
            offset = 0
        elif crop == "random_crop":
            offset = int((generator or np.random.default_rng(0)).integers(0, n - length + 1))
        else:
            raise ValueError(f"unknown crop {crop!r}: 'first' or 'random_crop'")
        return x[offset : offset + length]
    if n < length:
        x = x.repeat(length // n)  # == int(length / n) for integers: a float quotient never crosses an integer here
        x = F.pad(x, (0, length - x.shape[0]))
    return x


def relative_position_index(window: int) -> torch.Tensor:
    """``[w*w, w*w]`` index into the ``(2w-1)^2`` relative-position bias table (Swin)."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += window - 1
    rel[:, :, 1] += window - 1
    rel[:, :, 0] *= 2 * window - 1
    return rel.sum(-1)


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """``[B, H, W, C]`` -> ``[B * nW, window, window, C]``."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window, window, c)


def window_reverse(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    b = int(windows.shape[0] / (h * w / window / window))
    x = windows.view(b, h // window, w // window, window, window, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


def shifted_window_mask(h: int, w: int, window: int, shift: int) -> torch.Tensor:
    """``[nW, w*w, w*w]`` additive mask (0 / -100) of shifted-window attention."""
    img = torch.zeros((1, h, w, 1))
    slices = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    count = 0
    for hs in slices:
        for ws in slices:
            img[:, hs, ws, :] = count
            count += 1
    windows = window_partition(img, window).view(-1, window * window)
    mask = windows.unsqueeze(1) - windows.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a window, with a learned relative-position bias."""

    def __init__(self, dim: int, window: int, num_heads: int) -> None:
        super().__init__()
        self.window, self.num_heads = window, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b // nw, nw, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.num_heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    """Pre-norm (shifted-)window attention and MLP, both residual. ``attn_mask`` is a buffer."""

    def __init__(self, dim: int, resolution: tuple[int, int], num_heads: int, window: int, shift: int, mlp_ratio: float) -> None:
        super().__init__()
        self.resolution = resolution
        if min(resolution) <= window:  # the grid fits in one window: no partition, no shift
            shift, window = 0, min(resolution)
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.register_buffer("attn_mask", shifted_window_mask(*resolution, window, shift) if shift > 0 else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.resolution
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(y, self.window).view(-1, self.window * self.window, c)
        windows = self.attn(windows, self.attn_mask).view(-1, self.window, self.window, c)
        y = window_reverse(windows, self.window, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2x2 neighbourhood -> concatenated (x0, x1, x2, x3) -> LayerNorm -> Linear 4C -> 2C (no bias)."""

    def __init__(self, resolution: tuple[int, int], dim: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.resolution
        b, _, c = x.shape
        x = x.view(b, h, w, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1).view(b, -1, 4 * c)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim: int, resolution: tuple[int, int], depth: int, num_heads: int, window: int, mlp_ratio: float, downsample: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, resolution, num_heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio) for i in range(depth)
        )
        self.downsample = PatchMerging(resolution, dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, stride: int, embed_dim: int) -> None:
        super().__init__()
        pad = (patch - stride) // 2
        self.proj = nn.Conv2d(1, embed_dim, kernel_size=patch, stride=stride, padding=pad)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class HTSAT(nn.Module):
    """HTS-AT audio tower: 48 kHz waveform ``[B, 480000]`` -> embedding ``[B, num_features]``."""

    def __init__(self, config: HtsatConfig = HtsatConfig()) -> None:
        super().__init__()
        self.config = config
        self.spectrogram_extractor = PowerSpectrogram(n_fft=WINDOW, hop=HOP)
        self.logmel_extractor = LogMelFilterBank(SAMPLE_RATE, WINDOW, MEL_BANDS, FMIN_HZ, FMAX_HZ)
        self.bn0 = nn.BatchNorm2d(MEL_BANDS)
        self.patch_embed = PatchEmbed(config.patch_size, config.patch_stride, config.embed_dim)
        grid = SPEC_SIZE // config.patch_stride
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(config.depths, config.num_heads)):
            resolution = (grid // 2**i, grid // 2**i)
            self.layers.append(BasicLayer(config.embed_dim * 2**i, resolution, depth, heads, config.window_size, config.mlp_ratio, i < len(config.depths) - 1))
        self.norm = nn.LayerNorm(config.num_features)
        sf = SPEC_SIZE // 2 ** (len(config.depths) - 1) // config.patch_stride // FREQ_RATIO
        self.tscam_conv = nn.Conv2d(config.num_features, config.num_classes, kernel_size=(sf, 3), padding=(0, 1))
        self.head = nn.Linear(config.num_classes, config.num_classes)

    def init_weights(self) -> None:
        """HTS-AT's initialisation: truncated-normal (std 0.02) linears with zero bias, LayerNorm at identity."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, WindowAttention):
                nn.init.trunc_normal_(module.relative_position_bias_table, std=0.02)

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> log-mel ``[B, 1, T, 64]`` in dB (before ``bn0``), ``T = 1 + N // 480``."""
        return self.logmel_extractor(self.spectrogram_extractor(wave))

    def to_image(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, 1, T, 64]`` -> ``[B, 1, 256, 256]``: stretch time to 1024 frames, stack 4 slices along frequency."""
        target_t, target_f = SPEC_SIZE * FREQ_RATIO, SPEC_SIZE // FREQ_RATIO
        b, c, t, f = mel.shape
        if t > target_t or f > target_f:
            raise ValueError(f"HTS-AT takes at most {target_t} frames x {target_f} bins; got {t} x {f}")
        if t < target_t:
            mel = F.interpolate(mel, (target_t, f), mode="bicubic", align_corners=True)
        if f < target_f:
            mel = F.interpolate(mel, (mel.shape[2], target_f), mode="bicubic", align_corners=True)
        x = mel.permute(0, 1, 3, 2).contiguous()  # B C F T
        x = x.reshape(b, c, target_f, FREQ_RATIO, target_t // FREQ_RATIO).permute(0, 1, 3, 2, 4).contiguous()
        return x.reshape(b, c, target_f * FREQ_RATIO, target_t // FREQ_RATIO)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.log_mel(wave)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        x = self.patch_embed(self.to_image(x))
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).mean(dim=1)  # HTS-AT's "embedding": average over every final token


def check_derived_buffers(network: HTSAT) -> None:
    """Raise when a loaded checkpoint's index/mask buffers differ from those this architecture implies."""
    for name, module in network.named_modules():
        if isinstance(module, SwinBlock):
            expected_index = relative_position_index(module.window)
            if not torch.equal(module.attn.relative_position_index.cpu(), expected_index):
                raise ValueError(f"audio_branch.{name}.attn.relative_position_index does not match a {module.window}x{module.window} window")
            if module.attn_mask is not None:
                expected_mask = shifted_window_mask(*module.resolution, module.window, module.shift)
                if not torch.equal(module.attn_mask.cpu(), expected_mask):
                    raise ValueError(f"audio_branch.{name}.attn_mask does not match the shifted-window mask")


def mel_settings() -> dict[str, object]:
    return {
        "sample_rate": SAMPLE_RATE,
        "window": WINDOW,
        "hop": HOP,
        "mels": MEL_BANDS,
        "fmin": FMIN_HZ,
        "fmax": FMAX_HZ,
        "clip_samples": CLIP_SAMPLES,
        "image": f"bicubic to {SPEC_SIZE * FREQ_RATIO} frames, {FREQ_RATIO} slices",
    }


__all__ = [
    "CLIP_SAMPLES",
    "HTSAT",
    "SAMPLE_RATE",
    "HtsatConfig",
    "check_derived_buffers",
    "repeatpad",
]
