"""Synchformer's networks, as in the state dict that av-benchmark and MMAudio load.

Written here from the published architecture (Iashin et al., Synchformer, ICASSP 2024; public code
v-iashin/Synchformer, and the inference-only copy in hkchengrex/av-benchmark). Parameter names
follow ``synchformer_state_dict.pth`` so that it loads with exact key matching. The one group of
entries the model does not use is the 2-D patch embedding of the video ViT
(``vfeat_extractor.patch_embed.proj.*``): the video is patched by the 3-D (tubelet) embedding only;
the reference keeps the 2-D one to count patches. :func:`split_checkpoint` checks that these are the
only unused entries.

``vfeat_extractor`` (MotionFormer-style divided space-time ViT-B/16, one 16-frame segment)
    [S, 3, 16, 224, 224] -> Conv3d 2x16x16 tubelets (8 x 14 x 14) -> CLS + tokens; position =
    spatial table (197 rows: CLS + 196) tiled over time + temporal table (8 rows) per frame;
    blocks: x += time_attn(norm3(x)); x += space_attn(norm1(x)); x += mlp(norm2(x)), where the
    CLS query attends to all tokens and each patch query attends to the CLS token plus the tokens
    of its spatial position (time) or of its frame (space); final LayerNorm (eps 1e-6) on the
    patch tokens; then per frame a TransformerEncoderLayer with its own CLS token pools the
    196 patches -> [S, 8, 768].
``afeat_extractor`` (AST, one 0.64 s segment: 128 mel x 66 frames)
    Conv2d 16x16 stride 10 -> 12 (freq) x 6 (time) patches -> CLS + distillation + tokens + the
    first 74 rows of AST's position table; 12 pre-LN layers (eps 1e-12); final LayerNorm; drop the
    two extra tokens; per time step a TransformerEncoderLayer with a CLS token pools the 12
    frequency patches -> [S, 6, 768].
``vproj``, ``aproj``, ``transformer`` (the offset classifier on a 4.8 s window of 14 segments)
    project both streams, LayerNorm each, sequence [OFF, 14 x 8 video, MOD, 14 x 6 audio] (198
    tokens) + learned positions, 3 GPT-style blocks (8 heads), LayerNorm, linear on the OFF token
    -> 21 logits for offsets -2.0, -1.8, ..., +2.0 s.

Sizes come from :class:`SynchformerConfig`; :meth:`SynchformerConfig.full` is the checkpoint's.
Reduced widths and depths exist for tests with random weights only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

UNUSED_PREFIXES = ("vfeat_extractor.patch_embed.proj.",)
TOP_LEVEL = ("vfeat_extractor.", "afeat_extractor.", "vproj.", "aproj.", "transformer.")


@dataclass(frozen=True)
class SynchformerConfig:
    dim: int = 768
    video_depth: int = 12
    video_heads: int = 12
    audio_depth: int = 12
    audio_heads: int = 12
    sync_depth: int = 3
    sync_heads: int = 8
    mlp_ratio: int = 4
    image_size: int = 224
    patch: int = 16
    tubelet: int = 2
    segment_frames: int = 16
    mel_bins: int = 128
    spec_frames: int = 66
    audio_patch: int = 16
    audio_stride: int = 10
    window_segments: int = 14
    num_offsets: int = 21

    @classmethod
    def full(cls) -> SynchformerConfig:
        return cls()

    def reduced(self, **sizes: int) -> SynchformerConfig:
        return replace(self, **sizes)

    @property
    def video_grid(self) -> tuple[int, int, int]:
        side = self.image_size // self.patch
        return (self.segment_frames // self.tubelet, side, side)

    @property
    def audio_grid(self) -> tuple[int, int]:
        freq = (self.mel_bins - self.audio_patch) // self.audio_stride + 1
        time = (self.spec_frames - self.audio_patch) // self.audio_stride + 1
        return (freq, time)

    @property
    def sync_tokens(self) -> int:
        return 2 + self.window_segments * (self.video_grid[0] + self.audio_grid[1])


# ------------------------------------------------------------------------- shared pooling layer
class ClsPooling(nn.TransformerEncoderLayer):
    """A pre-LN encoder layer (GELU, eps 1e-6) run on [CLS, tokens]; returns the CLS output."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__(
            d_model=dim, nhead=heads, dim_feedforward=hidden, dropout=0.0, activation=nn.GELU(),
            layer_norm_eps=1e-6, batch_first=True, norm_first=True,
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        return super().forward(x)[:, 0]


# ------------------------------------------------------------------------- video tower
def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T) v with q already scaled; [G, n, d] x [G, m, d]."""
    return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v


class FactorisedAttention(nn.Module):
    """Self-attention along one axis (time or space) of a [CLS + t x s] token grid."""

    def __init__(self, dim: int, heads: int, axis: str) -> None:
        super().__init__()
        self.heads = heads
        self.axis = axis  # "time": groups share a spatial position; "space": groups share a frame
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, frames: int, positions: int) -> torch.Tensor:
        batch, _, dim = x.shape
        h, d = self.heads, dim // self.heads
        q, k, v = (y.reshape(batch, -1, h, d).transpose(1, 2).reshape(batch * h, -1, d) for y in self.qkv(x).chunk(3, dim=-1))
        q = q * d**-0.5
        cls_out = _attend(q[:, :1], k, v)  # the CLS query sees every token

        def grid(t: torch.Tensor) -> torch.Tensor:  # [bh, t*s, d] -> [bh * groups, members, d]
            t = t[:, 1:].reshape(batch * h, frames, positions, d)
            if self.axis == "time":
                t = t.transpose(1, 2)  # [bh, s, t, d]
            return t.reshape(-1, t.shape[2], d)

        groups = positions if self.axis == "time" else frames
        qg, kg, vg = grid(q), grid(k), grid(v)
        cls_k = k[:, :1].repeat_interleave(groups, dim=0)
        cls_v = v[:, :1].repeat_interleave(groups, dim=0)
        out = _attend(qg, torch.cat([cls_k, kg], dim=1), torch.cat([cls_v, vg], dim=1))
        out = out.reshape(batch * h, groups, -1, d)
        if self.axis == "time":
            out = out.transpose(1, 2)  # back to [bh, t, s, d]
        out = torch.cat([cls_out, out.reshape(batch * h, frames * positions, d)], dim=1)
        out = out.reshape(batch, h, -1, d).transpose(1, 2).reshape(batch, -1, dim)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class DividedSpaceTimeBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = FactorisedAttention(dim, heads, "space")
        self.timeattn = FactorisedAttention(dim, heads, "time")
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio * dim)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, frames: int, positions: int) -> torch.Tensor:
        x = x + self.timeattn(self.norm3(x), frames, positions)
        x = x + self.attn(self.norm1(x), frames, positions)
        return x + self.mlp(self.norm2(x))


class TubeletEmbedding(nn.Module):
    def __init__(self, dim: int, patch: int, tubelet: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, dim, kernel_size=(tubelet, patch, patch), stride=(tubelet, patch, patch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)  # [N, D, t, h, w]


class VideoTower(nn.Module):
    """``[N, 3, 16, 224, 224]`` -> per-frame-pair features ``[N, 8, D]``."""

    def __init__(self, c: SynchformerConfig) -> None:
        super().__init__()
        t, h, w = c.video_grid
        self.grid = (t, h, w)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + h * w, c.dim))
        self.temp_embed = nn.Parameter(torch.zeros(1, t, c.dim))
        self.patch_embed_3d = TubeletEmbedding(c.dim, c.patch, c.tubelet)
        self.blocks = nn.ModuleList([DividedSpaceTimeBlock(c.dim, c.video_heads, c.mlp_ratio) for _ in range(c.video_depth)])
        self.norm = nn.LayerNorm(c.dim, eps=1e-6)
        self.spatial_attn_agg = ClsPooling(c.dim, c.video_heads, c.mlp_ratio * c.dim)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        n = video.shape[0]
        patches = self.patch_embed_3d(video)
        _, dim, t, h, w = patches.shape
        if (t, h, w) != self.grid:
            raise ValueError(f"video segments give a {t}x{h}x{w} tubelet grid; this tower expects {self.grid}")
        x = patches.flatten(2).transpose(1, 2)  # [N, t*h*w, D], frame-major
        pos = self.pos_embed[:, 1:].repeat(1, t, 1) + self.temp_embed.repeat_interleave(h * w, dim=1)
        x = torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1) + torch.cat([self.pos_embed[:, :1], pos], dim=1)
        for block in self.blocks:
            x = block(x, t, h * w)
        x = self.norm(x[:, 1:])  # patch tokens only
        x = x.reshape(n * t, h * w, dim)  # one group of patches per tubelet frame
        return self.spatial_attn_agg(x).reshape(n, t, dim)


# ------------------------------------------------------------------------- audio tower (AST)
class ASTPatchEmbeddings(nn.Module):
    def __init__(self, dim: int, patch: int, stride: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(1, dim, kernel_size=patch, stride=stride)


class ASTEmbeddings(nn.Module):
    def __init__(self, c: SynchformerConfig) -> None:
        super().__init__()
        f, t = c.audio_grid
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.patch_embeddings = ASTPatchEmbeddings(c.dim, c.audio_patch, c.audio_stride)
        self.position_embeddings = nn.Parameter(torch.zeros(1, 2 + f * t, c.dim))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """``[N, mel, frames]`` -> tokens ``[N, 2 + f*t, D]`` (patches frequency-major)."""
        x = self.patch_embeddings.projection(spec.unsqueeze(1)).flatten(2).transpose(1, 2)
        n = x.shape[0]
        x = torch.cat([self.cls_token.expand(n, -1, -1), self.distillation_token.expand(n, -1, -1), x], dim=1)
        if x.shape[1] != self.position_embeddings.shape[1]:
            raise ValueError(f"spectrogram gives {x.shape[1]} tokens; this tower expects {self.position_embeddings.shape[1]}")
        return x + self.position_embeddings


class ASTSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        q, k, v = (p(x).reshape(n, length, self.heads, -1).transpose(1, 2) for p in (self.query, self.key, self.value))
        scores = (q @ k.transpose(-1, -2)) / (dim // self.heads) ** 0.5
        return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(n, length, dim)


class Dense(nn.Module):
    def __init__(self, din: int, dout: int) -> None:
        super().__init__()
        self.dense = nn.Linear(din, dout)


class ASTAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.attention = ASTSelfAttention(dim, heads)
        self.output = Dense(dim, dim)


class ASTLayer(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.attention = ASTAttention(dim, heads)
        self.intermediate = Dense(dim, hidden)
        self.output = Dense(hidden, dim)
        self.layernorm_before = nn.LayerNorm(dim, eps=1e-12)
        self.layernorm_after = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention.output.dense(self.attention.attention(self.layernorm_before(x)))
        return x + self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x))))


class ASTEncoder(nn.Module):
    def __init__(self, c: SynchformerConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([ASTLayer(c.dim, c.audio_heads, c.mlp_ratio * c.dim) for _ in range(c.audio_depth)])


class AST(nn.Module):
    def __init__(self, c: SynchformerConfig) -> None:
        super().__init__()
        self.embeddings = ASTEmbeddings(c)
        self.encoder = ASTEncoder(c)
        self.layernorm = nn.LayerNorm(c.dim, eps=1e-12)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(spec)
        for layer in self.encoder.layer:
            x = layer(x)
        return self.layernorm(x)


class AudioTower(nn.Module):
    """``[N, mel, frames]`` (128 x 66) -> per-time-step features ``[N, 6, D]``."""

    def __init__(self, c: SynchformerConfig) -> None:
        super().__init__()
        self.grid = c.audio_grid
        self.ast = AST(c)
        self.freq_attn_agg = ClsPooling(c.dim, c.audio_heads, c.mlp_ratio * c.dim)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        n = spec.shape[0]
        f, t = self.grid
        x = self.ast(spec)[:, 2:]  # [N, f*t, D], frequency-major
        dim = x.shape[-1]
        x = x.reshape(n, f, t, dim).transpose(1, 2).reshape(n * t, f, dim)  # one group per time step
        return self.freq_attn_agg(x).reshape(n, t, dim)


# ------------------------------------------------------------------------- offset classifier
class SyncSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.key = nn.Linear(dim, dim)
        self.query = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        k, q, v = (p(x).reshape(n, length, self.heads, -1).transpose(1, 2) for p in (self.key, self.query, self.value))
        att = torch.softmax((q @ k.transpose(-2, -1)) * (k.shape[-1] ** -0.5), dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(n, length, dim))


class SyncBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.ln2 = nn.LayerNorm(dim)
        self.attn = SyncSelfAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class LearnedPositions(nn.Module):
    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        self.pos_emb = nn.Parameter(torch.zeros(1, length, dim))


class OffsetTransformer(nn.Module):
    """``(video [B, Lv, D], audio [B, La, D])`` -> offset logits ``[B, 21]``."""

    def __init__(self, c: SynchformerConfig) -> None:
        super().__init__()
        self.vis_in_lnorm = nn.LayerNorm(c.dim)
        self.aud_in_lnorm = nn.LayerNorm(c.dim)
        self.OFF_tok = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.MOD_tok = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_emb_cfg = LearnedPositions(c.sync_tokens, c.dim)
        self.blocks = nn.Sequential(*[SyncBlock(c.dim, c.sync_heads) for _ in range(c.sync_depth)])
        self.ln_f = nn.LayerNorm(c.dim)
        self.off_head = nn.Linear(c.dim, c.num_offsets)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        b = video.shape[0]
        x = torch.cat(
            [self.OFF_tok.expand(b, -1, -1), self.vis_in_lnorm(video), self.MOD_tok.expand(b, -1, -1), self.aud_in_lnorm(audio)], dim=1
        )
        pos = self.pos_emb_cfg.pos_emb
        if x.shape[1] != pos.shape[1]:
            raise ValueError(f"the offset classifier takes {pos.shape[1]} tokens (a 14-segment window); got {x.shape[1]}")
        x = self.ln_f(self.blocks(x + pos))
        return self.off_head(x[:, 0])


class SynchformerNet(nn.Module):
    """The whole model: segment feature extractors and the offset classifier."""

    def __init__(self, config: SynchformerConfig | None = None) -> None:
        super().__init__()
        c = config or SynchformerConfig.full()
        self.config = c
        self.vfeat_extractor = VideoTower(c)
        self.afeat_extractor = AudioTower(c)
        self.vproj = nn.Linear(c.dim, c.dim)
        self.aproj = nn.Linear(c.dim, c.dim)
        self.transformer = OffsetTransformer(c)

    def video_features(self, segments: torch.Tensor) -> torch.Tensor:
        """``[S, 16, 3, 224, 224]`` (frames, channels) -> ``[S, 8, D]``."""
        return self.vfeat_extractor(segments.transpose(1, 2))

    def audio_features(self, specs: torch.Tensor) -> torch.Tensor:
        """``[S, 128, 66]`` (mel, frames) -> ``[S, 6, D]``."""
        return self.afeat_extractor(specs)

    def offset_logits(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``video [B, 14, 8, D]``, ``audio [B, 14, 6, D]`` -> ``[B, 21]``."""
        v = self.vproj(video).flatten(1, 2)
        a = self.aproj(audio).flatten(1, 2)
        return self.transformer(v, a)

    def init_random(self) -> None:
        """Seeded random weights for tests (ViT-like scales; not a trained model)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.Conv3d)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.MultiheadAttention):
                nn.init.xavier_uniform_(module.in_proj_weight)
                nn.init.zeros_(module.in_proj_bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.rsplit(".", 1)[-1] in {"cls_token", "distillation_token", "pos_embed", "temp_embed", "position_embeddings", "OFF_tok", "MOD_tok", "pos_emb"}:
                nn.init.trunc_normal_(p, std=0.02)


def split_checkpoint(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(entries of :class:`SynchformerNet`, names of the unused 2-D patch embedding entries)."""
    used: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    strange: list[str] = []
    for name, tensor in state.items():
        if name.startswith(UNUSED_PREFIXES):
            unused.append(name)
        elif name.startswith(TOP_LEVEL):
            used[name] = tensor
        else:
            strange.append(name)
    if strange:
        raise ValueError(f"Synchformer checkpoint has {len(strange)} entries outside the model, e.g. {strange[:3]}")
    return used, unused
