r"""Scores from a classifier's logits: KL divergence and Inception score (PROTOCOL.md).

KL (default direction, av-benchmark): per pair of generated and reference clip of the same video,
softmax over the class logits, :math:`\mathrm{KL}(p_{ref} \Vert p_{gen}) = \sum_c p_{ref,c}
(\log p_{ref,c} - \log p_{gen,c})`, summed over classes and averaged over pairs. Variant ``gen_ref``
is :math:`\mathrm{KL}(p_{gen} \Vert p_{ref})` (stable-audio-metrics).

IS: generated clips only; shuffled by ``numpy.random.RandomState(2020).permutation`` (the
torch-fidelity rule av-benchmark uses); float64 softmax; 10 contiguous splits, split i being rows
``i*N//10 .. (i+1)*N//10``; per split
:math:`\exp(\mathbb{E}_x \mathrm{KL}(p(y|x) \Vert p(y)))`; mean and standard deviation over splits.

Split policy (:data:`IS_POLICY`): IS depends on the number of clips per split (each split's marginal
p(y) is estimated from its clips), so a board that compares tables of different sizes fixes the split
*size*: ``split_size=S`` scores ``floor(N/S)`` contiguous splits of exactly S shuffled clips (the
remaining ``N mod S`` clips are left out; with N < S, one split of all N clips). The SynthFoley boards
use :data:`IS_SPLIT_SIZE` = 100 (their tables hold 300 and 100 clips: 3 splits and 1 split of 100 clips);
``split_size=None`` is av-benchmark's 10 splits, the VGGSound board's default.

Interval (:func:`inception_score_interval`): clips resampled with replacement, scored with the same
shuffle and splits (:func:`inception_score_resamples`). Duplicated clips make a split's marginal
less diverse, which biases resampled IS *low* (markedly when a split holds many of the clips, e.g. one
split of all 100); the percentile interval is therefore shifted by the bootstrap bias, mean(IS*) - IS,
which puts it around the point estimate (IS at a fixed split size is unbiased for its own target).
"""

from __future__ import annotations

import numpy as np
import torch
from v2abench.metrics.bootstrap import bootstrap_indices, interval_code, shifted_interval

IS_SEED = 2020
IS_SPLITS = 10
IS_SPLIT_SIZE = 100  # clips per split on the SynthFoley boards
IS_RESAMPLE_CHUNK = 16  # resamples scored at once (bounds memory: chunk x split size x classes)
IS_POLICY = (
    f"IS (Inception score) on SynthFoley is the mean over splits of exactly {IS_SPLIT_SIZE} shuffled clips "
    f"(seed {IS_SEED}; a 300-clip table has 3 splits, a 100-clip table 1), so tables of different sizes are "
    "comparable, and its interval is the bias-shifted percentile interval of 200 clip resamples "
    f"(the VGGSound board keeps av-benchmark's {IS_SPLITS} splits)."
)


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


def split_bounds(n: int, splits: int = IS_SPLITS, split_size: int | None = None) -> list[tuple[int, int]]:
    """Row ranges of the IS splits of ``n`` shuffled clips: ``split_size`` rows each (remainder left
    out; one split of all rows when n < split_size), or ``splits`` splits at ``i*n//splits``."""
    if split_size is not None:
        if split_size < 1:
            raise ValueError(f"split_size must be positive, got {split_size}")
        if n < split_size:
            return [(0, n)]
        return [(i * split_size, (i + 1) * split_size) for i in range(n // split_size)]
    splits = max(1, min(splits, n))  # fewer clips than splits: one clip per split, never an empty split
    return [(i * n // splits, (i + 1) * n // splits) for i in range(splits)]


def _log_posteriors(logits: np.ndarray | torch.Tensor) -> np.ndarray:
    x = _f64(logits).numpy()
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _split_scores(log_p: np.ndarray, rows: np.ndarray, bounds: list[tuple[int, int]]) -> np.ndarray:
    """``[B, splits]``: exp(mean_x KL(p(y|x) || p(y))) of each split of each row order ``rows`` ``[B, n]``."""
    scores = np.zeros((rows.shape[0], len(bounds)))
    for i, (lo, hi) in enumerate(bounds):
        clp = log_p[rows[:, lo:hi]]  # [B, split, classes]
        cp = np.exp(clp)
        marginal = cp.mean(axis=1, keepdims=True)
        scores[:, i] = np.exp((cp * (clp - np.log(marginal))).sum(axis=-1).mean(axis=-1))
    return scores


def inception_score(logits: np.ndarray | torch.Tensor, splits: int = IS_SPLITS, seed: int = IS_SEED,
                    split_size: int | None = None) -> tuple[float, float]:
    """(mean, std) over splits of the Inception score of generated clips' logits ``[N, C]``."""
    log_p = _log_posteriors(logits)
    n = log_p.shape[0]
    order = np.random.RandomState(seed).permutation(n)[None, :]
    scores = _split_scores(log_p, order, split_bounds(n, splits, split_size))[0]
    return float(np.mean(scores)), float(np.std(scores))


def inception_score_resamples(logits: np.ndarray | torch.Tensor, idx: np.ndarray, splits: int = IS_SPLITS,
                              seed: int = IS_SEED, split_size: int | None = None) -> np.ndarray:
    """IS of each clip draw (rows of ``idx``, ``[B, n]`` clip indices): draw ``b`` is scored as the clip
    list ``idx[b]`` under the same seeded shuffle and splits as :func:`inception_score`."""
    log_p = _log_posteriors(logits)
    idx = np.atleast_2d(np.asarray(idx, dtype=np.int64))
    n = idx.shape[1]
    rows = idx[:, np.random.RandomState(seed).permutation(n)]
    bounds = split_bounds(n, splits, split_size)
    parts = [_split_scores(log_p, rows[s : s + IS_RESAMPLE_CHUNK], bounds).mean(axis=1)
             for s in range(0, rows.shape[0], IS_RESAMPLE_CHUNK)]
    return np.concatenate(parts)


@interval_code
def inception_score_interval(logits: np.ndarray | torch.Tensor, resamples: int = 200, seed: int = 0,
                             split_size: int | None = None) -> tuple[float, float] | None:
    """95% interval of IS: ``resamples`` clip draws with replacement (seeded by ``seed``), the percentile
    interval shifted by the bootstrap bias (duplicates bias every resampled IS low)."""
    n = int(_f64(logits).shape[0])
    if n == 0:
        return None
    point = inception_score(logits, split_size=split_size)[0]
    values = inception_score_resamples(logits, bootstrap_indices(n, resamples, seed), split_size=split_size)
    return shifted_interval(values, point)
