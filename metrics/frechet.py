r"""Fréchet distance between two embedding distributions (FAD / FD), PROTOCOL.md "Fréchet distance".

.. math::

    \mathrm{FD} = \lVert \mu_g - \mu_r \rVert^2 + \operatorname{Tr}(\Sigma_g) + \operatorname{Tr}(\Sigma_r)
                  - 2 \operatorname{Tr}\big((\Sigma_g \Sigma_r)^{1/2}\big)

with means and unbiased (N-1) covariances, all in float64. :class:`FrechetDistance` keeps float64
sufficient statistics (count, sum, sum of outer products) per set, so states from several processes
reduce by addition (:meth:`FrechetDistance.merge`). Two identical sets have FD exactly 0 (the formula
is not evaluated: Tr((S S)^{1/2}) = Tr(S) for a covariance S); any other negative value is round-off
in the trace-sqrt, which :func:`clamp_at_zero` clamps to 0 and notes.

Trace of the matrix square root:

- ``sqrtm`` (default, av-benchmark): ``scipy.linalg.sqrtm(S_g @ S_r)``; when the result is not finite,
  ``1e-6`` is added to both diagonals and it is recomputed; a complex result is accepted when the
  largest ``|imag|`` on its diagonal is below ``1e-3`` (real part taken), otherwise
  :class:`FrechetDistanceError` is raised (never a silent -1).
- ``eig``: with the Cholesky factor ``S_r = L L^T``, the eigenvalues of ``S_g S_r`` are those of the
  symmetric ``L^T S_g L`` (similar matrices), so ``Tr((S_g S_r)^{1/2}) = sum sqrt(eigvalsh(L^T S_g L))``
  (negative round-off eigenvalues clipped to 0) -- one Cholesky, one congruence and one symmetric
  eigenvalue solve (LAPACK ``sygv``: ``potrf``, ``sygst``, ``syev`` without vectors; faster here
  than ``sygvd``). A singular ``S_r`` falls back to the factor
  of ``S_g`` (the trace is symmetric in the two), and when both are singular to ``S_r^{1/2}`` from
  ``eigh``. With fewer embeddings than dimensions the data path :func:`trace_sqrt_product_lowrank`
  (an N x N problem) is used instead. At d = 2048 (N = 1.5 d, one thread) ``eig`` takes ~1.2 s of CPU
  against ``sqrtm``'s ~13 s (11x) and agrees with it to ~1e-14 relative (``benchmarks/fd_speed.py``).

Intervals (PROTOCOL.md "Statistics"): :func:`fd_resamples` evaluates FD on given clip draws, *paired*
(one draw of clip indices serves both sets) and *by clip* (every row of a drawn clip, e.g. all VGGish
frames, with the clip's weight); :func:`bootstrap_fd` centres the percentile interval on the
bias-corrected estimate, extends it to hold FD and clamps it at 0. :func:`fad_inf` subsamples both sets with the same clips, so a copy of the
reference scores 0 at every size; :func:`bootstrap_fad_inf` resamples it like FD.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.linalg
import torch
from v2abench.metrics.bootstrap import bootstrap_indices, interval_code, row_weights, shifted_interval

log = logging.getLogger(__name__)

SQRTM_EPS = 1e-6
IMAG_TOLERANCE = 1e-3
FAD_INF_RESAMPLES = 50  # draws for the FAD-inf interval ...
FAD_INF_INTERVAL_STEPS = 5  # ... each fitted on 5 sizes: 250 FDs, about the cost of FD's 200-draw interval


class FrechetDistanceError(ArithmeticError):
    pass


def _as_f64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def weighted_stats(x: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of rows ``x`` [R, D], row ``r`` counted ``weights[r]`` times
    (the statistics of the set with those repetitions; ``None``: every row once)."""
    if weights is None:
        total = x.shape[0]
    else:
        keep = weights > 0
        x, weights = x[keep], weights[keep]
        total = float(weights.sum())
    if x.ndim != 2 or total < 2:
        raise FrechetDistanceError(f"need at least 2 embeddings of shape [N, D], got {x.shape}")
    if weights is None:
        return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1)
    mu = weights @ x / total
    scaled = (x - mu) * np.sqrt(weights)[:, None]
    return mu, scaled.T @ scaled / (total - 1.0)  # one symmetric rank-k update


def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of ``[N, D]`` features (float64)."""
    return weighted_stats(_as_f64(features))


def _trace_sqrt_eig(sigma_g: np.ndarray, sigma_r: np.ndarray) -> float:
    for a, b in ((sigma_g, sigma_r), (sigma_r, sigma_g)):
        try:  # eigenvalues of a b from the generalized problem a b x = lambda x (LAPACK itype 2)
            eig = scipy.linalg.eigh(a, b, type=2, eigvals_only=True, check_finite=False, driver="gv")
        except np.linalg.LinAlgError:
            continue  # b is (numerically) singular: try the other factor
        return float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    log.debug("both covariances are singular: trace-sqrt through eigh(S_r)")
    w, v = np.linalg.eigh(sigma_r)
    root_r = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root_r @ sigma_g @ root_r
    eig = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def trace_sqrt_product(sigma_g: np.ndarray, sigma_r: np.ndarray, method: str = "sqrtm") -> float:
    """``Tr((S_g S_r)^{1/2})`` by the av-benchmark ``sqrtm`` rule or the symmetric ``eig`` variant."""
    if method == "eig":
        return _trace_sqrt_eig(sigma_g, sigma_r)
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
    """FD between two Gaussians (functional twin of :class:`FrechetDistance`); exactly 0 for equal ones."""
    if np.array_equal(mu_g, mu_r) and np.array_equal(sigma_g, sigma_r):
        return 0.0
    diff = mu_g - mu_r
    return float(diff @ diff + np.trace(sigma_g) + np.trace(sigma_r) - 2.0 * trace_sqrt_product(sigma_g, sigma_r, method))


def clamp_at_zero(value: float) -> tuple[float, dict[str, object]]:
    """FD-like ``value`` clamped at 0, and the note a result's ``extra`` carries when it was clamped."""
    if value >= 0:
        return value, {}
    return 0.0, {"clamped": True, "raw_value": value}


def _scaled_centred(x: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(``A``, mean): ``A^T A`` is the weighted unbiased covariance of the rows of ``x``."""
    if weights is None:
        mu = x.mean(0)
        return (x - mu) / np.sqrt(x.shape[0] - 1), mu
    keep = weights > 0
    x, weights = x[keep], weights[keep]
    total = float(weights.sum())
    if total < 2:
        raise FrechetDistanceError(f"need at least 2 embeddings, got {total:g}")
    mu = weights @ x / total
    return (x - mu) * np.sqrt(weights / (total - 1.0))[:, None], mu


def trace_sqrt_product_lowrank(gen: np.ndarray, ref: np.ndarray, gen_weights: np.ndarray | None = None,
                               ref_weights: np.ndarray | None = None) -> float:
    """``Tr((S_g S_r)^{1/2})`` from the data when there are fewer embeddings than dimensions.

    With centred, scaled data matrices ``A`` (S_g = A^T A) and ``B`` (S_r = B^T B), the non-zero
    eigenvalues of S_g S_r are the squared singular values of ``A B^T`` (n_g x n_r), so the trace
    is the nuclear norm of ``A B^T``: exact, symmetric and cheap when N << d. Row weights (repetitions
    of a resample) scale the rows of ``A`` and ``B`` by their square roots.
    """
    return _nuclear_norm_cross(_scaled_centred(gen, gen_weights)[0], _scaled_centred(ref, ref_weights)[0])


def _nuclear_norm_cross(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.svd(a @ b.T, compute_uv=False).sum())


def _fd_rows(g: np.ndarray, r: np.ndarray, wg: np.ndarray | None, wr: np.ndarray | None, method: str) -> float:
    """FD of weighted rows (``None``: each row once); for ``eig`` with fewer rows than dimensions the
    data path (Tr S = |A|_F^2, and :func:`trace_sqrt_product_lowrank`), no D x D matrix formed."""
    rows = min(g.shape[0] if wg is None else int((wg > 0).sum()), r.shape[0] if wr is None else int((wr > 0).sum()))
    if method == "eig" and rows < g.shape[1]:
        (a, mu_g), (b, mu_r) = _scaled_centred(g, wg), _scaled_centred(r, wr)
        diff = mu_g - mu_r
        return float(diff @ diff + np.sum(a * a) + np.sum(b * b) - 2.0 * _nuclear_norm_cross(a, b))
    return frechet_distance(*weighted_stats(g, wg), *weighted_stats(r, wr), method=method)


def _identical(g: np.ndarray, r: np.ndarray, gen_clip: np.ndarray | None, ref_clip: np.ndarray | None) -> bool:
    same_rows = (gen_clip is None and ref_clip is None) or (
        gen_clip is not None and ref_clip is not None and np.array_equal(gen_clip, ref_clip))
    return same_rows and g.shape == r.shape and np.array_equal(g, r)


def frechet_distance_features(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, method: str = "sqrtm") -> float:
    """FD from embeddings ``[N, D]``; ``eig`` uses :func:`trace_sqrt_product_lowrank` when N < D."""
    g, r = _as_f64(gen), _as_f64(ref)
    if _identical(g, r, None, None):
        weighted_stats(g)  # same checks as any other input
        return 0.0
    return _fd_rows(g, r, None, None, method)


def _n_clips(g: np.ndarray, r: np.ndarray, gen_clip: np.ndarray | None, ref_clip: np.ndarray | None) -> int:
    n_g = g.shape[0] if gen_clip is None else int(gen_clip.max()) + 1
    n_r = r.shape[0] if ref_clip is None else int(ref_clip.max()) + 1
    if n_g != n_r:
        raise ValueError(f"paired resampling needs the same clips in both sets, got {n_g} and {n_r}")
    return n_g


def fd_resamples(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, idx: np.ndarray, *,
                 gen_clip: np.ndarray | None = None, ref_clip: np.ndarray | None = None, method: str = "eig") -> np.ndarray:
    """FD on each paired clip draw: row ``b`` of ``idx`` (``[B, k]`` clip indices) weights every row of
    both sets by how often its clip was drawn. ``gen_clip`` / ``ref_clip``: the clip of each row (None:
    row i is clip i). Identical sets give exactly 0 on every draw."""
    g, r = _as_f64(gen), _as_f64(ref)
    n = _n_clips(g, r, gen_clip, ref_clip)
    idx = np.atleast_2d(idx)
    if _identical(g, r, gen_clip, ref_clip):
        return np.zeros(idx.shape[0])
    out = np.empty(idx.shape[0])
    for b in range(idx.shape[0]):
        wg, wr = row_weights(idx[b], n, gen_clip)[0], row_weights(idx[b], n, ref_clip)[0]
        out[b] = _fd_rows(g, r, wg, wr, method)
    return out


@interval_code
def bootstrap_fd(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, resamples: int = 200, seed: int = 0, *,
                 gen_clip: np.ndarray | None = None, ref_clip: np.ndarray | None = None,
                 point: float | None = None) -> tuple[float, float] | None:
    """95% interval of FD: ``resamples`` paired clip draws (:func:`fd_resamples`, ``eig`` trace-sqrt),
    around ``point`` (the caller's FD, e.g. by ``sqrtm``; None: computed here with ``eig``).

    FD is a plug-in estimate, biased up by about d/N, and the resamples' mean exceeds it by about the
    same bias ``b = mean(FD*) - FD``; the percentile interval is shifted by ``2b`` (centred on the
    bias-corrected ``FD - b``), extended to contain FD and clamped at 0
    (:func:`~v2abench.metrics.bootstrap.shifted_interval` with ``bias_corrected=True``)."""
    g, r = _as_f64(gen), _as_f64(ref)
    idx = bootstrap_indices(_n_clips(g, r, gen_clip, ref_clip), resamples, seed)
    values = fd_resamples(g, r, idx, gen_clip=gen_clip, ref_clip=ref_clip)
    if point is None:
        point = 0.0 if _identical(g, r, gen_clip, ref_clip) else _fd_rows(g, r, None, None, "eig")
    return shifted_interval(values, point, floor=0.0, bias_corrected=True)


def _fad_inf_fit(g: np.ndarray, r: np.ndarray, clips: np.ndarray, n: int, gen_clip: np.ndarray | None,
                 ref_clip: np.ndarray | None, frame_level: bool, steps: int, seed: int, method: str) -> tuple[float, float]:
    """FAD-inf of the clip multiset ``clips`` (indices into ``n`` clips, repeats allowed)."""
    rows = float(row_weights(clips, n, gen_clip).sum())
    start = 500.0 if frame_level and rows > 500 else max(2.0, rows // 5)
    rng = np.random.default_rng(seed)
    inv_sizes, values = [], []
    for size in np.linspace(start, rows, steps):
        k = int(min(len(clips), max(2, round(size * len(clips) / rows))))
        drawn = clips[rng.choice(len(clips), size=k, replace=False)]
        wg, wr = row_weights(drawn, n, gen_clip)[0], row_weights(drawn, n, ref_clip)[0]
        inv_sizes.append(1.0 / wg.sum())
        values.append(_fd_rows(g, r, wg, wr, method))
    if len(set(inv_sizes)) < 2:
        raise ValueError(f"FAD-inf needs at least 2 distinct sample sizes, {len(clips)} clips give one")
    slope, intercept = np.polyfit(np.array(inv_sizes), np.array(values), 1)
    return float(intercept), float(slope)


def fad_inf(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, *, frame_level: bool = False, steps: int = 25,
            seed: int = 0, method: str = "eig", gen_clip: np.ndarray | None = None,
            ref_clip: np.ndarray | None = None) -> tuple[float, float]:
    """FAD-infinity: FD at ``steps`` sample sizes, a linear fit against 1/n; returns (intercept, slope).

    Sizes run evenly from N/5 clips (per-clip embeddings) or 500 rows (frame embeddings, e.g. VGGish;
    N/5 rows when there are no more than 500) to all of them; at each size the same clips, drawn without replacement from a generator seeded
    with ``seed``, are taken from *both* sets (paired), n being the generated rows taken. Both sets'
    sampling bias then shrinks as 1/n, and a copy of the reference scores exactly 0 at every size.
    """
    g, r = _as_f64(gen), _as_f64(ref)
    n = _n_clips(g, r, gen_clip, ref_clip)
    if _identical(g, r, gen_clip, ref_clip):
        return 0.0, 0.0
    return _fad_inf_fit(g, r, np.arange(n), n, gen_clip, ref_clip, frame_level, steps, seed, method)


def fad_inf_resamples(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, idx: np.ndarray, *,
                      frame_level: bool = False, steps: int = 25, seed: int = 0, gen_clip: np.ndarray | None = None,
                      ref_clip: np.ndarray | None = None) -> np.ndarray:
    """FAD-inf intercept on each paired clip draw (rows of ``idx``), subsets drawn from the draw's clips
    (``steps`` sizes each)."""
    g, r = _as_f64(gen), _as_f64(ref)
    n = _n_clips(g, r, gen_clip, ref_clip)
    idx = np.atleast_2d(idx)
    if _identical(g, r, gen_clip, ref_clip):
        return np.zeros(idx.shape[0])
    return np.array([_fad_inf_fit(g, r, row, n, gen_clip, ref_clip, frame_level, steps, seed, "eig")[0] for row in idx])


@interval_code
def bootstrap_fad_inf(gen: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, resamples: int = FAD_INF_RESAMPLES,
                      seed: int = 0, *, frame_level: bool = False, gen_clip: np.ndarray | None = None,
                      ref_clip: np.ndarray | None = None, point: float | None = None) -> tuple[float, float] | None:
    """95% interval of FAD-inf: paired clip draws, the percentile interval shifted by the bootstrap bias
    and clamped at 0. The intercept is (nearly) unbiased for FD at infinite N, but a resample's
    intercept estimates the FD of the resampled *empirical* sets, about the plug-in FD of the sample, so
    the resamples are biased up by about d/N; the shift by that bias centres the interval on the estimate.

    Each resample costs a whole FAD-inf, hence :data:`FAD_INF_RESAMPLES` = 50 draws (coarser percentiles
    than FD's 200), each fitted on :data:`FAD_INF_INTERVAL_STEPS` = 5 sizes instead of 25 (a slightly
    noisier estimate of the same intercept, so the interval errs on the wide side): 250 FDs in all,
    about the cost of FD's interval. Identical sets give [0, 0]. ``point``: the caller's unclamped
    FAD-inf (None: computed here).
    """
    g, r = _as_f64(gen), _as_f64(ref)
    idx = bootstrap_indices(_n_clips(g, r, gen_clip, ref_clip), resamples, seed)
    kw = {"frame_level": frame_level, "seed": seed, "gen_clip": gen_clip, "ref_clip": ref_clip}
    values = fad_inf_resamples(g, r, idx, steps=FAD_INF_INTERVAL_STEPS, **kw)  # type: ignore[arg-type]
    if point is None:
        point = fad_inf(g, r, **kw)[0]  # type: ignore[arg-type]
    return shifted_interval(values, point, floor=0.0)  # bias against the unclamped point


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
