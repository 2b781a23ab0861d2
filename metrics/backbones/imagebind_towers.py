"""The two ImageBind towers the IB-score needs (vision on 2-frame clips, audio on fbank images).

Written here from the published architecture (Girdhar et al., ImageBind, CVPR 2023; public code
facebookresearch/ImageBind, ``imagebind_huge``). Parameter names follow the checkpoint
``imagebind_huge.pth`` so that its vision and audio entries load with exact key matching; the
checkpoint's remaining entries (text, depth, thermal, IMU) belong to modalities this suite does not
use and are checked to be exactly that (:func:`split_checkpoint`).

Per tower (``m`` = ``vision`` or ``audio``)::

    modality_preprocessors.m   cls token + patch stem + learned positional embedding
        vision: [N, 3, 2, 224, 224] -> Conv3d(2x14x14, no bias) -> 16x16 patches -> 257 tokens
                (a single frame is repeated to 2 first, as ImageBind's image-to-video padding)
        audio:  [N, 1, 128, 204] -> Conv2d(16, stride 10, no bias) -> LayerNorm -> 12x19 patches
                -> 229 tokens
    modality_trunks.m          pre-LN transformer, sequence-first nn.MultiheadAttention;
                               vision: LayerNorm before the first block; audio: learned key/value
                               bias tokens (add_bias_kv)
    modality_heads.m           LayerNorm(eps 1e-6) -> CLS token -> Linear(no bias) to 1024
    modality_postprocessors.m  L2 normalisation; audio also multiplies by exp(log 20) (a fixed,
                               non-learnable logit scale stored in the checkpoint)

A batch ``[B, S, ...]`` of S clips per item (6-d video, 5-d audio) is flattened, embedded and
averaged over S after the postprocessor, as ImageBind's forward does.

Sizes come from :class:`ImageBindConfig`; :meth:`ImageBindConfig.huge` is the checkpoint's. Reduced
widths and depths exist for tests with random weights only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

VISION, AUDIO = "vision", "audio"
UNUSED_MODALITIES = ("text", "depth", "thermal", "imu")
SUBMODULES = ("modality_preprocessors", "modality_trunks", "modality_heads", "modality_postprocessors")


@dataclass(frozen=True)
class ImageBindConfig:
    vision_dim: int = 1280
    vision_depth: int = 32
    vision_heads: int = 16
    audio_dim: int = 768
    audio_depth: int = 12
    audio_heads: int = 12
    out_dim: int = 1024
    image_size: int = 224
    frames: int = 2  # temporal kernel (and stride) of the video patch stem
    patch: int = 14
    mel_bins: int = 128
    target_frames: int = 204
    audio_patch: int = 16
    audio_stride: int = 10
    audio_logit_scale: float = 20.0

    @classmethod
    def huge(cls) -> ImageBindConfig:
        return cls()

    def reduced(self, **sizes: int) -> ImageBindConfig:
        return replace(self, **sizes)

    @property
    def vision_grid(self) -> tuple[int, int, int]:
        side = self.image_size // self.patch
        return (1, side, side)

    @property
    def audio_grid(self) -> tuple[int, int]:
        rows = (self.mel_bins - self.audio_patch) // self.audio_stride + 1
        cols = (self.target_frames - self.audio_patch) // self.audio_stride + 1
        return (rows, cols)


class RepeatSingleFrame(nn.Module):
    """``[N, C, H, W]`` or ``[N, C, 1, H, W]`` -> ``[N, C, frames, H, W]`` by repetition."""

    def __init__(self, frames: int) -> None:
        super().__init__()
        self.frames = frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:
            x = x.unsqueeze(2)
        if x.ndim != 5:
            raise ValueError(f"expected a video [N, C, T, H, W], got shape {tuple(x.shape)}")
        if x.shape[2] == 1:
            x = x.expand(-1, -1, self.frames, -1, -1)
        return x


class PatchStem(nn.Module):
    """Patchify (``proj``), flatten to tokens ``[N, L, D]`` and optionally normalise (``norm_layer``)."""

    def __init__(self, proj: nn.Module, norm_layer: nn.Module | None = None) -> None:
        super().__init__()
        self.proj = proj
        self.norm_layer = norm_layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.proj(x).flatten(2).transpose(1, 2)
        return self.norm_layer(tokens) if self.norm_layer is not None else tokens


class PositionalEmbedding(nn.Module):
    def __init__(self, num_tokens: int, dim: int) -> None:
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, num_tokens, dim))


class TokenPreprocessor(nn.Module):
    """CLS token + stem tokens + positional embedding (names as ``rgbt_stem`` in the checkpoint)."""

    def __init__(self, stem: PatchStem, num_patches: int, dim: int) -> None:
        super().__init__()
        self.rgbt_stem = stem
        self.pos_embedding_helper = PositionalEmbedding(1 + num_patches, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.rgbt_stem(x)
        tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        pos = self.pos_embedding_helper.pos_embed
        if tokens.shape[1] != pos.shape[1]:
            raise ValueError(f"input gives {tokens.shape[1]} tokens; this tower expects {pos.shape[1]} (fixed input size)")
        return tokens + pos


class SequenceFirstAttention(nn.MultiheadAttention):
    """Self-attention on ``[L, N, D]`` (sequence first), no attention weights returned."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x, x, x, need_weights=False)[0]


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN block: x + attn(norm_1(x)); x + mlp(norm_2(x)); LayerNorm eps 1e-6."""

    def __init__(self, dim: int, heads: int, bias_kv: bool) -> None:
        super().__init__()
        self.attn = SequenceFirstAttention(dim, heads, bias=True, add_bias_kv=bias_kv)
        self.norm_1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = FeedForward(dim, 4 * dim)
        self.norm_2 = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm_1(x))
        return x + self.mlp(self.norm_2(x))


class SequenceFirst(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(0, 1)


class Trunk(nn.Module):
    """``[N, L, D]`` -> ``[N, L, D]``; internally sequence-first as ImageBind's trunks."""

    def __init__(self, dim: int, depth: int, heads: int, input_norm: bool, bias_kv: bool) -> None:
        super().__init__()
        self.pre_transformer_layer = nn.Sequential(nn.LayerNorm(dim, eps=1e-6) if input_norm else nn.Identity(), SequenceFirst())
        self.blocks = nn.Sequential(*[Block(dim, heads, bias_kv) for _ in range(depth)])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.pre_transformer_layer(tokens)).transpose(0, 1)


class SelectClsToken(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


class L2Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1, p=2)


class FixedLogitScale(nn.Module):
    """Multiplies by ``min(exp(log_logit_scale), 100)``; the log scale is a (persistent) buffer."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.register_buffer("log_logit_scale", torch.tensor(math.log(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.log_logit_scale.exp(), max=100.0) * x


def _head(dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim, eps=1e-6), SelectClsToken(), nn.Linear(dim, out_dim, bias=False))


class ImageBindTowers(nn.Module):
    """ImageBind's vision and audio towers; :meth:`embed_vision` / :meth:`embed_audio` as ImageBind."""

    def __init__(self, config: ImageBindConfig | None = None) -> None:
        super().__init__()
        c = config or ImageBindConfig.huge()
        self.config = c
        t, h, w = c.vision_grid
        kernel = (c.frames, c.patch, c.patch)
        vision_stem = PatchStem(nn.Sequential(RepeatSingleFrame(c.frames), nn.Conv3d(3, c.vision_dim, kernel, stride=kernel, bias=False)))
        rows, cols = c.audio_grid
        audio_stem = PatchStem(
            nn.Conv2d(1, c.audio_dim, c.audio_patch, stride=c.audio_stride, bias=False), nn.LayerNorm(c.audio_dim)
        )
        self.modality_preprocessors = nn.ModuleDict(
            {VISION: TokenPreprocessor(vision_stem, t * h * w, c.vision_dim), AUDIO: TokenPreprocessor(audio_stem, rows * cols, c.audio_dim)}
        )
        self.modality_trunks = nn.ModuleDict(
            {
                VISION: Trunk(c.vision_dim, c.vision_depth, c.vision_heads, input_norm=True, bias_kv=False),
                AUDIO: Trunk(c.audio_dim, c.audio_depth, c.audio_heads, input_norm=False, bias_kv=True),
            }
        )
        self.modality_heads = nn.ModuleDict({VISION: _head(c.vision_dim, c.out_dim), AUDIO: _head(c.audio_dim, c.out_dim)})
        self.modality_postprocessors = nn.ModuleDict(
            {VISION: L2Normalize(), AUDIO: nn.Sequential(L2Normalize(), FixedLogitScale(c.audio_logit_scale))}
        )

    def init_random(self) -> None:
        """Seeded random weights for tests (ImageBind-like scales; not a trained model)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.Conv3d)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.MultiheadAttention):
                nn.init.xavier_uniform_(module.in_proj_weight)
                nn.init.zeros_(module.in_proj_bias)
                for extra in (module.bias_k, module.bias_v):
                    if extra is not None:
                        nn.init.normal_(extra, std=extra.shape[-1] ** -0.5)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith(("cls_token", "pos_embed")):
                nn.init.normal_(p, std=p.shape[-1] ** -0.5)

    def _embed(self, modality: str, x: torch.Tensor, clip_dims: int) -> torch.Tensor:
        grouped = x.ndim == clip_dims + 1
        if grouped:
            batch, clips = x.shape[:2]
            x = x.reshape(batch * clips, *x.shape[2:])
        tokens = self.modality_preprocessors[modality](x)
        tokens = self.modality_trunks[modality](tokens)
        out = self.modality_postprocessors[modality](self.modality_heads[modality](tokens))
        if grouped:
            out = out.reshape(batch, clips, -1).mean(dim=1)
        return out

    def embed_vision(self, clips: torch.Tensor) -> torch.Tensor:
        """``[N, 3, T, H, W]`` -> ``[N, out]``, or ``[B, S, 3, T, H, W]`` -> mean over S ``[B, out]``."""
        return self._embed(VISION, clips, 5)

    def embed_audio(self, fbanks: torch.Tensor) -> torch.Tensor:
        """``[N, 1, 128, 204]`` -> ``[N, out]``, or ``[B, S, 1, 128, 204]`` -> mean over S ``[B, out]``."""
        return self._embed(AUDIO, fbanks, 4)


def split_checkpoint(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(vision + audio entries, names of the other entries); raises if an entry is neither."""
    used: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    strange: list[str] = []
    for name, tensor in state.items():
        parts = name.split(".")
        if len(parts) < 3 or parts[0] not in SUBMODULES:
            strange.append(name)
        elif parts[1] in (VISION, AUDIO):
            used[name] = tensor
        elif parts[1] in UNUSED_MODALITIES:
            unused.append(name)
        else:
            strange.append(name)
    if strange:
        raise ValueError(f"ImageBind checkpoint has {len(strange)} entries of no known modality, e.g. {strange[:3]}")
    return used, unused
