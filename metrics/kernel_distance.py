r"""Kernel audio distance (KAD): an unbiased MMD² with a Gaussian kernel, PROTOCOL.md "Variants".

.. math::

    \mathrm{MMD}^2_u = \frac{1}{m(m-1)}\sum_{i\ne j} k(x_i,x_j) + \frac{1}{n(n-1)}\sum_{i\ne j} k(y_i,y_j)
                       - \frac{2}{mn}\sum_{i,j} k(x_i,y_j),\qquad k(a,b)=\exp\!\Big(-\frac{\lVert a-b\rVert^2}{2\sigma^2}\Big)

with the bandwidth :math:`\sigma` = the median pairwise distance of the *reference* set (off the
diagonal), and the result scaled by 100. Unlike FD it has no d/N bias. Computed in float64 in blocks.
"""

from __future__ import annotations

import numpy as np
import torch

SCALE = 100.0


def _f64(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float64)


def median_bandwidth(ref: np.ndarray | torch.Tensor) -> float:
    r = _f64(ref)
    d = torch.cdist(r, r)
    off = d[~torch.eye(r.shape[0], dtype=torch.bool)]
    return float(off.median())


def kernel_audio_distance(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, bandwidth: float | None = None) -> float:
    """x100 unbiased MMD² between ``gen`` [M, D] and ``ref`` [N, D] (lower is better)."""
    x, y = _f64(gen), _f64(ref)
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError("KAD needs at least 2 embeddings per set")
    sigma = bandwidth if bandwidth is not None else median_bandwidth(y)
    gamma = 1.0 / (2.0 * sigma**2)
    kxx = torch.exp(-gamma * torch.cdist(x, x).square())
    kyy = torch.exp(-gamma * torch.cdist(y, y).square())
    kxy = torch.exp(-gamma * torch.cdist(x, y).square())
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(SCALE * (term_x + term_y - 2.0 * kxy.mean()))
