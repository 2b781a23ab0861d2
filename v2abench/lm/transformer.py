"""A decoder-only transformer over summed codebook embeddings, with a conditioning prefix,
boolean attention masks, K output heads and a KV cache for decoding.

``DelayLM.forward(prefix, tokens, mask)`` runs the whole sequence ``[prefix; audio steps]`` and returns
logits ``[B, K, A, card]`` for the audio positions. :meth:`DelayLM.extend` runs only new positions
against a :class:`KVCache` of everything before them, which is what makes decoding linear in the
number of steps instead of quadratic. Positions use fixed sinusoidal embeddings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freq = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32, device=positions.device) / half)
    angles = positions.float()[:, None] * freq[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


@dataclass
class KVCache:
    """Keys and values of every layer for the positions seen so far."""

    keys: list[torch.Tensor | None] = field(default_factory=list)
    values: list[torch.Tensor | None] = field(default_factory=list)
    length: int = 0


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:
            if len(cache.keys) <= layer:
                cache.keys.append(None)
                cache.values.append(None)
            if cache.keys[layer] is not None:
                k = torch.cat([cache.keys[layer], k], dim=2)  # type: ignore[list-item]
                v = torch.cat([cache.values[layer], v], dim=2)  # type: ignore[list-item]
            cache.keys[layer], cache.values[layer] = k, v
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(attn.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class DelayLM(nn.Module):
    def __init__(self, num_codebooks: int, card: int, dim: int, depth: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_codebooks, self.card, self.dim = num_codebooks, card, dim
        self.special_token = card
        self.embeddings = nn.ModuleList(nn.Embedding(card + 1, dim) for _ in range(num_codebooks))
        self.blocks = nn.ModuleList(Block(dim, heads, dropout=dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.heads = nn.ModuleList(nn.Linear(dim, card) for _ in range(num_codebooks))

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, K, A]`` tokens -> ``[B, A, D]``: the sum of the K codebook embeddings."""
        return sum(emb(tokens[:, q]) for q, emb in enumerate(self.embeddings))  # type: ignore[return-value]

    def _run(self, x: torch.Tensor, start: int, mask: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        x = x + sinusoidal(torch.arange(start, start + x.shape[1], device=x.device), self.dim).to(x.dtype)
        for i, block in enumerate(self.blocks):
            x = block(x, mask, cache, i)
        if cache is not None:
            cache.length = start + x.shape[1]
        return self.norm(x)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``[B, A, D]`` -> ``[B, K, A, card]``."""
        return torch.stack([head(hidden) for head in self.heads], dim=1)

    def forward(self, prefix: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits for every audio position of ``[prefix; embed(tokens)]`` under ``mask``."""
        n = prefix.shape[1]
        x = torch.cat([prefix, self.embed_tokens(tokens)], dim=1)
        hidden = self._run(x, 0, mask.to(x.device), cache)
        return self.logits(hidden[:, n:])

    def extend(self, tokens: torch.Tensor, cache: KVCache, mask_rows: torch.Tensor) -> torch.Tensor:
        """Logits for new audio positions given a cache of everything before them.

        ``mask_rows``: bool ``[new, cache.length + new]`` (the new rows of the full mask).
        """
        x = self.embed_tokens(tokens)
        hidden = self._run(x, cache.length, mask_rows.to(x.device), cache)
        return self.logits(hidden)
