r"""Scores from a classifier's logits: KL divergence and Inception score (PROTOCOL.md).

KL (default direction, av-benchmark): per pair of generated and reference clip of the same video,
softmax over the class logits, :math:`\mathrm{KL}(p_{ref} \Vert p_{gen}) = \sum_c p_{ref,c}
(\log p_{ref,c} - \log p_{gen,c})`, summed over classes and averaged over pairs. Variant ``gen_ref``
is :math:`\mathrm{KL}(p_{gen} \Vert p_{ref})` (stable-audio-metrics).

IS: generated clips only; shuffled by ``numpy.random.RandomState(2020).permutation`` (the
torch-fidelity rule av-benchmark uses); float64 softmax; 10 contiguous splits, split i being rows
``i*N//10 .. (i+1)*N//10``; per split
:math:`\exp(\mathbb{E}_x \mathrm{KL}(p(y|x) \Vert p(y)))`; mean and standard deviation over splits.
"""

from __future__ import annotations

import numpy as np
import torch

IS_SEED = 2020
IS_SPLITS = 10


def _f64(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float64)


def kl_per_pair(gen_logits: np.ndarray | torch.Tensor, ref_logits: np.ndarray | torch.Tensor, direction: str = "ref_gen") -> torch.Tensor:
    """KL of each pair ``[N]`` (rows paired by clip)."""
    log_g = torch.log_softmax(_f64(gen_logits), dim=-1)
    log_r = torch.log_softmax(_f64(ref_logits), dim=-1)
    if direction == "ref_gen":
        return (log_r.exp() * (log_r - log_g)).sum(-1)
    if direction == "gen_ref":
        return (log_g.exp() * (log_g - log_r)).sum(-1)
    raise ValueError(f"unknown KL direction {direction!r} (ref_gen | gen_ref)")


def kl_divergence(gen_logits: np.ndarray | torch.Tensor, ref_logits: np.ndarray | torch.Tensor, direction: str = "ref_gen") -> float:
    return float(kl_per_pair(gen_logits, ref_logits, direction).mean())


def inception_score(logits: np.ndarray | torch.Tensor, splits: int = IS_SPLITS, seed: int = IS_SEED) -> tuple[float, float]:
    """(mean, std) of the Inception score of generated clips' logits ``[N, C]``."""
    x = _f64(logits)
    n = x.shape[0]
    splits = max(1, min(splits, n))  # fewer clips than splits: one clip per split, never an empty split
    x = x[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    prob = torch.softmax(x, dim=-1)
    log_prob = torch.log_softmax(x, dim=-1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        chunk_p, chunk_lp = prob[lo:hi], log_prob[lo:hi]
        marginal = chunk_p.mean(0, keepdim=True)
        kl = (chunk_p * (chunk_lp - torch.log(marginal))).sum(-1).mean()
        scores.append(float(torch.exp(kl)))
    return float(np.mean(scores)), float(np.std(scores))
