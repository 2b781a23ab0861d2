r"""Kernel audio distance (KAD): an unbiased MMD² with a Gaussian kernel, PROTOCOL.md "Variants".

With :math:`k(a,b)=\exp(-\lVert a-b\rVert^2 / 2\sigma^2)` and :math:`\sigma` the median pairwise distance
of the *reference* set (off the diagonal), KAD is 100 x a U-statistic:

.. math::

    \text{paired } (x_i, y_i \text{ of the same clip}, m = n):\quad
    \mathrm{MMD}^2_u = \frac{1}{n(n-1)}\sum_{i\ne j}\big[k(x_i,x_j) + k(y_i,y_j) - k(x_i,y_j) - k(x_j,y_i)\big]

    \text{unpaired } (m \ne n):\quad
    \mathrm{MMD}^2_u = \frac{1}{m(m-1)}\sum_{i\ne j} k(x_i,x_j) + \frac{1}{n(n-1)}\sum_{i\ne j} k(y_i,y_j)
                       - \frac{2}{mn}\sum_{i,j} k(x_i,y_j)

The paired form leaves out the paired diagonal :math:`k(x_i, y_i)`, so a copy of the reference scores
exactly 0 (the unpaired form would give it a large negative value). Both are unbiased; unlike FD, KAD has
no d/N bias.

Intervals: a resample is a weight per row (how often its clip was drawn, paired: the same draw for both
sets). With weights :math:`w` (total :math:`W`) each sum over distinct positions is
:math:`w^\top K w - \sum_r w_r K_{rr}`, so the kernel is computed once, block by block, and every resample
reads it (cost O(B R^2) for B resamples of R rows). The bandwidth stays that of the full reference set.
"""

from __future__ import annotations

import numpy as np
import torch
from v2abench.metrics.bootstrap import bootstrap_indices, interval_code, row_weights, shifted_interval

SCALE = 100.0
BLOCK_ENTRIES = 1 << 23  # kernel entries computed at a time (64 MiB of float64)


def _f64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float64)


def median_bandwidth(ref: np.ndarray | torch.Tensor) -> float:
    r = torch.from_numpy(_f64(ref))
    d = torch.cdist(r, r)
    off = d[~torch.eye(r.shape[0], dtype=torch.bool)]
    return float(off.median())


def _weighted_kernel_sum(x: np.ndarray, y: np.ndarray, wx: np.ndarray, wy: np.ndarray, gamma: float,
                         diagonal: bool) -> np.ndarray:
    """``[B]``: ``wx_b^T K wy_b`` minus, when ``diagonal``, ``sum_r wx_b[r] K[r, r]`` (x, y row-paired)."""
    total = np.zeros(wx.shape[0])
    y_sq = (y * y).sum(1)
    block = max(1, BLOCK_ENTRIES // max(1, y.shape[0]))
    for start in range(0, x.shape[0], block):
        xb = x[start : start + block]
        d2 = np.maximum((xb * xb).sum(1)[:, None] + y_sq[None, :] - 2.0 * xb @ y.T, 0.0)
        kb = np.exp(-gamma * d2)
        part = wx[:, start : start + block]
        total += ((part @ kb) * wy).sum(1)
        if diagonal:
            rows = np.arange(xb.shape[0])
            total -= part @ kb[rows, start + rows]
    return total


def row_paired(x: np.ndarray, y: np.ndarray, gen_clip: np.ndarray | None = None, ref_clip: np.ndarray | None = None) -> bool:
    """Whether row r of ``x`` and row r of ``y`` belong to the same clip (same row count and layout)."""
    if x.shape[0] != y.shape[0]:
        return False
    return (gen_clip is None and ref_clip is None) or (
        gen_clip is not None and ref_clip is not None and np.array_equal(gen_clip, ref_clip))


def kad_weighted(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, wg: np.ndarray, wr: np.ndarray,
                 bandwidth: float | None = None, paired: bool | None = None) -> np.ndarray:
    """KAD x100 of the weighted sets for each row of ``wg`` ``[B, M]`` and ``wr`` ``[B, N]``.

    ``paired``: row r of gen and row r of ref belong together (equal weights required); None: paired
    when both sets have the same rows and weights. Identical paired sets give exactly 0.
    """
    x, y = _f64(gen), _f64(ref)
    wg, wr = np.atleast_2d(wg), np.atleast_2d(wr)
    if paired is None:
        paired = x.shape[0] == y.shape[0] and np.array_equal(wg, wr)
    if paired and (x.shape[0] != y.shape[0] or not np.array_equal(wg, wr)):
        raise ValueError("paired KAD needs row-paired sets with equal weights")
    m, n = wg.sum(1), wr.sum(1)
    if (m < 2).any() or (n < 2).any():
        raise ValueError("KAD needs at least 2 embeddings per set")
    sigma = bandwidth if bandwidth is not None else median_bandwidth(y)
    gamma = 1.0 / (2.0 * sigma**2)
    same = paired and x.shape == y.shape and np.array_equal(x, y)
    term_x = _weighted_kernel_sum(x, x, wg, wg, gamma, True) / (m * (m - 1))
    term_y = term_x if same else _weighted_kernel_sum(y, y, wr, wr, gamma, True) / (n * (n - 1))
    if paired:
        cross = term_x if same else _weighted_kernel_sum(x, y, wg, wr, gamma, True) / (m * (m - 1))
    else:
        cross = _weighted_kernel_sum(x, y, wg, wr, gamma, False) / (m * n)
    return SCALE * (term_x + term_y - 2.0 * cross)


def kernel_audio_distance(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, bandwidth: float | None = None,
                          paired: bool | None = None) -> float:
    """x100 unbiased MMD² between ``gen`` [M, D] and ``ref`` [N, D] (lower is better).

    ``paired`` (default: when M == N) uses the paired U-statistic without the ``k(x_i, y_i)`` terms;
    ``paired=False`` the unpaired form with the full cross term (the only one for M != N)."""
    x, y = _f64(gen), _f64(ref)
    if paired is None:
        paired = x.shape[0] == y.shape[0]
    return float(kad_weighted(x, y, np.ones((1, x.shape[0])), np.ones((1, y.shape[0])), bandwidth, paired)[0])


def kad_resamples(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, idx: np.ndarray, *,
                  gen_clip: np.ndarray | None = None, ref_clip: np.ndarray | None = None,
                  bandwidth: float | None = None) -> np.ndarray:
    """KAD on each paired clip draw (rows of ``idx``, ``[B, k]`` clip indices), every row of a drawn clip
    weighted by its draws; ``gen_clip`` / ``ref_clip``: the clip of each row (None: row i is clip i).
    Paired U-statistic when both sets have the same row layout, unpaired otherwise; bandwidth: the full
    reference set's unless given."""
    x, y = _f64(gen), _f64(ref)
    n = x.shape[0] if gen_clip is None else int(gen_clip.max()) + 1
    sigma = bandwidth if bandwidth is not None else median_bandwidth(y)
    wg, wr = row_weights(idx, n, gen_clip), row_weights(idx, n, ref_clip)
    return kad_weighted(x, y, wg, wr, sigma, row_paired(x, y, gen_clip, ref_clip))


@interval_code
def bootstrap_kad(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, resamples: int = 200, seed: int = 0, *,
                  gen_clip: np.ndarray | None = None, ref_clip: np.ndarray | None = None,
                  bandwidth: float | None = None, point: float | None = None) -> tuple[float, float] | None:
    """95% interval of KAD: paired clip draws at the full reference set's bandwidth (or ``bandwidth``),
    the percentile interval shifted by the bootstrap bias -- the U-statistic is unbiased, but repeated
    clips enter a resample as distinct positions, which biases the resamples -- and clamped at 0 (KAD's
    population value, an MMD², is never negative). ``point``: the caller's unclamped KAD (None: computed
    here, as :func:`kernel_audio_distance` does)."""
    x, y = _f64(gen), _f64(ref)
    n = x.shape[0] if gen_clip is None else int(gen_clip.max()) + 1
    if n < 3:
        return None
    sigma = bandwidth if bandwidth is not None else median_bandwidth(y)
    values = kad_resamples(x, y, bootstrap_indices(n, resamples, seed), gen_clip=gen_clip, ref_clip=ref_clip, bandwidth=sigma)
    if point is None:
        point = kernel_audio_distance(x, y, bandwidth=sigma, paired=row_paired(x, y, gen_clip, ref_clip))
    return shifted_interval(values, point, floor=0.0)
