r"""Fréchet distance between two embedding distributions (FAD / FD), PROTOCOL.md "Fréchet distance".

.. math::

    \mathrm{FD} = \lVert \mu_g - \mu_r \rVert^2 + \operatorname{Tr}(\Sigma_g) + \operatorname{Tr}(\Sigma_r)
                  - 2 \operatorname{Tr}\big((\Sigma_g \Sigma_r)^{1/2}\big)

with means and unbiased (N-1) covariances, all in float64. :class:`FrechetDistance` keeps float64
sufficient statistics (count, sum, sum of outer products) per set, so states from several processes
reduce by addition (:meth:`FrechetDistance.merge`).

Trace of the matrix square root:

- ``sqrtm`` (default, av-benchmark): ``scipy.linalg.sqrtm(S_g @ S_r)``; when the result is not finite,
  ``1e-6`` is added to both diagonals and it is recomputed; a complex result is accepted when the
  largest ``|imag|`` on its diagonal is below ``1e-3`` (real part taken), otherwise
  :class:`FrechetDistanceError` is raised (never a silent -1).
- ``eig``: ``sum(sqrt(eigvalsh(S_r^{1/2} S_g S_r^{1/2})))`` with negative round-off eigenvalues
  clipped to 0: symmetric, stable and fast (used for bootstrap intervals).

:func:`fad_inf` extrapolates FD to infinite sample size (fadtk's FAD-infinity), with the ``eig``
trace-sqrt by default (25 FDs per evaluation; a 2048-d ``sqrtm`` each would take minutes here).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from v2abench.metrics.bootstrap import interval_code

SQRTM_EPS = 1e-6
IMAG_TOLERANCE = 1e-3


class FrechetDistanceError(ArithmeticError):
    pass


def _as_f64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of ``[N, D]`` features (float64)."""
    x = _as_f64(features)
    if x.ndim != 2 or x.shape[0] < 2:
        raise FrechetDistanceError(f"need at least 2 embeddings of shape [N, D], got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1)


def trace_sqrt_product(sigma_g: np.ndarray, sigma_r: np.ndarray, method: str = "sqrtm") -> float:
    """``Tr((S_g S_r)^{1/2})`` by the av-benchmark ``sqrtm`` rule or the symmetric ``eig`` variant."""
    if method == "eig":
        w, v = np.linalg.eigh(sigma_r)
        root_r = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
        inner = root_r @ sigma_g @ root_r
        eig = np.linalg.eigvalsh((inner + inner.T) / 2.0)
        return float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    if method != "sqrtm":
        raise ValueError(f"unknown trace-sqrt method {method!r} (sqrtm | eig)")
    covmean = scipy.linalg.sqrtm(sigma_g @ sigma_r)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma_g.shape[0]) * SQRTM_EPS
        covmean = scipy.linalg.sqrtm((sigma_g + offset) @ (sigma_r + offset))
    if np.iscomplexobj(covmean):
        worst = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if worst > IMAG_TOLERANCE:
            raise FrechetDistanceError(f"matrix square root has an imaginary component {worst:.3g} on its diagonal")
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(mu_g: np.ndarray, sigma_g: np.ndarray, mu_r: np.ndarray, sigma_r: np.ndarray, method: str = "sqrtm") -> float:
    """FD between two Gaussians (functional twin of :class:`FrechetDistance`)."""
    diff = mu_g - mu_r
    return float(diff @ diff + np.trace(sigma_g) + np.trace(sigma_r) - 2.0 * trace_sqrt_product(sigma_g, sigma_r, method))


def trace_sqrt_product_lowrank(gen: np.ndarray, ref: np.ndarray) -> float:
    """``Tr((S_g S_r)^{1/2})`` from the data when there are fewer embeddings than dimensions.

    With centred, scaled data matrices ``A`` (S_g = A^T A) and ``B`` (S_r = B^T B), the non-zero
    eigenvalues of S_g S_r are the squared singular values of ``A B^T`` (n_g x n_r), so the trace
    is the nuclear norm of ``A B^T``: exact, symmetric and cheap when N << d.
    """
    a = (gen - gen.mean(0)) / np.sqrt(gen.shape[0] - 1)
    b = (ref - ref.mean(0)) / np.sqrt(ref.shape[0] - 1)
    return float(np.linalg.svd(a @ b.T, compute_uv=False).sum())


def frechet_distance_features(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, method: str = "sqrtm") -> float:
    """FD from embeddings ``[N, D]``; ``eig`` uses :func:`trace_sqrt_product_lowrank` when N < D."""
    g, r = _as_f64(gen), _as_f64(ref)
    if method == "eig" and min(g.shape[0], r.shape[0]) < g.shape[1]:
        (mu_g, s_g), (mu_r, s_r) = gaussian_stats(g), gaussian_stats(r)
        diff = mu_g - mu_r
        return float(diff @ diff + np.trace(s_g) + np.trace(s_r) - 2.0 * trace_sqrt_product_lowrank(g, r))
    return frechet_distance(*gaussian_stats(g), *gaussian_stats(r), method=method)


class _Moments:
    """float64 sufficient statistics of a set of embeddings."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.sum = np.zeros(dim)
        self.outer = np.zeros((dim, dim))

    def update(self, x: np.ndarray) -> None:
        self.n += x.shape[0]
        self.sum += x.sum(axis=0)
        self.outer += x.T @ x

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n < 2:
            raise FrechetDistanceError(f"need at least 2 embeddings, have {self.n}")
        mu = self.sum / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, cov


class FrechetDistance:
    """Streaming FD between generated and reference embeddings (lower is better)."""

    higher_is_better = False

    def __init__(self, dim: int, method: str = "sqrtm") -> None:
        self.method = method
        self.gen, self.ref = _Moments(dim), _Moments(dim)

    def update(self, features: np.ndarray | torch.Tensor, real: bool) -> None:
        (self.ref if real else self.gen).update(_as_f64(features))

    def merge(self, other: "FrechetDistance") -> None:
        """Add another process's state (the distributed reduction): the float64 sums add up, so the
        merged FD equals one pass over all embeddings up to round-off, whatever the split."""
        if other.gen.sum.shape != self.gen.sum.shape:
            raise ValueError(f"cannot merge FD states of dimension {other.gen.sum.shape[0]} into {self.gen.sum.shape[0]}")
        for mine, theirs in ((self.gen, other.gen), (self.ref, other.ref)):
            mine.n += theirs.n
            mine.sum += theirs.sum
            mine.outer += theirs.outer

    def compute(self) -> float:
        return frechet_distance(*self.gen.stats(), *self.ref.stats(), method=self.method)


def fad_inf(gen: np.ndarray, ref: np.ndarray, *, frame_level: bool = False, steps: int = 25, seed: int = 0, method: str = "eig") -> tuple[float, float]:
    """FAD-infinity: FD at ``steps`` sample sizes, a linear fit against 1/n; returns (intercept, slope).

    Sizes run evenly from N/5 (per-clip embeddings) or 500 (frame embeddings, e.g. VGGish) to N =
    the number of generated embeddings; each size draws a subset of the generated set without
    replacement from a generator seeded with ``seed``; the reference statistics use the full set.
    """
    gen, ref = _as_f64(gen), _as_f64(ref)
    n = gen.shape[0]
    start = min(500, n) if frame_level else max(2, n // 5)
    sizes = np.linspace(start, n, steps).astype(int)
    rng = np.random.default_rng(seed)
    values = []
    for size in sizes:
        subset = gen[rng.choice(n, size=size, replace=False)]
        values.append(frechet_distance_features(subset, ref, method=method))
    slope, intercept = np.polyfit(1.0 / sizes, np.array(values), 1)
    return float(intercept), float(slope)


@interval_code
def bootstrap_fd(gen: np.ndarray, ref: np.ndarray, resamples: int = 200, seed: int = 0) -> tuple[float, float]:
    """95% interval of FD from resampling both sets with replacement (``eig`` trace-sqrt).

    Resampling with replacement repeats embeddings, which shrinks the effective sample size and
    biases every resampled FD upward; the percentile interval is therefore shifted by that bias
    (mean of the resampled FDs minus the point estimate) so that it is centred on the estimate.
    """
    gen, ref = _as_f64(gen), _as_f64(ref)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        g = gen[rng.integers(0, gen.shape[0], gen.shape[0])]
        r = ref[rng.integers(0, ref.shape[0], ref.shape[0])]
        values.append(frechet_distance_features(g, r, method="eig"))
    bias = float(np.mean(values)) - frechet_distance_features(gen, ref, method="eig")
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo - bias), float(hi - bias)
