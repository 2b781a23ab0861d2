"""Sampling the next token of every codebook: temperature, top-k, top-p, with per-row generators."""

from __future__ import annotations

import torch


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set logits outside the top-k / nucleus (top-p) set to -inf (``[..., V]``)."""
    out = logits.clone()
    if top_k is not None and 0 < top_k < out.shape[-1]:
        kth = torch.topk(out, top_k, dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, float("-inf"))
    if top_p is not None and 0.0 < top_p < 1.0:
        sorted_logits, order = torch.sort(out, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        cumulative = probs.cumsum(-1)
        drop = cumulative - probs > top_p  # keep the smallest set whose mass reaches top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        out = torch.full_like(out, float("-inf")).scatter(-1, order, sorted_logits)
    return out


def sample_next(
    logits: torch.Tensor,
    generators: list[torch.Generator],
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """Tokens ``[B, K]`` from logits ``[B, K, V]``; row b draws from ``generators[b]`` only.

    ``temperature <= 0`` means greedy (argmax).
    """
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(filter_logits(logits / temperature, top_k, top_p), dim=-1)
    rows = [torch.multinomial(probs[b], 1, generator=generators[b]).squeeze(-1) for b in range(probs.shape[0])]
    return torch.stack(rows)
