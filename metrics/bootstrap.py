"""Bootstrap 95% intervals with a fixed seed (PROTOCOL.md, Statistics).

Per-clip metrics resample clips with replacement (1000 resamples by default). A metric that is a ratio
of sums over clips (e.g. onset hits / reference onsets) passes its per-clip numerators and
denominators, so each resample recomputes the ratio rather than averaging per-clip ratios.

Distribution metrics (FD, KAD, FAD-inf) and IS resample clips *paired* (one draw of clip indices
serves the generated and the reference set) and, for embeddings with several rows per clip (VGGish
frames), by clip: a resample is a weight per row, the number of times its clip was drawn
(:func:`row_weights`). Their resamples are biased (FD up by about d/N, IS down under duplicates), so a
plain percentile interval can miss the estimate; :func:`shifted_interval` shifts it by the bootstrap
bias ``b = mean_b(T*_b) - T`` (by ``2b``, then extended to hold ``T``, for the plug-in FD whose own
bias ``b`` estimates) and clamps it at 0 for distances.

Cost: intervals must take at most 20% of an evaluation. Every function that computes an interval is
wrapped in :func:`interval_code`, which adds its wall clock to a process-wide total
(:func:`interval_seconds`); the runner records the share in a result's ``timing["intervals"]``.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
_clock = {"seconds": 0.0, "depth": 0}


def interval_code(fn: F) -> F:
    """Count the wall clock of ``fn`` as time spent on bootstrap intervals (outermost calls only)."""

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if _clock["depth"]:
            return fn(*args, **kwargs)
        _clock["depth"] = 1
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _clock["seconds"] += time.perf_counter() - start
            _clock["depth"] = 0

    return timed  # type: ignore[return-value]


def interval_seconds() -> float:
    """Seconds this process has spent in :func:`interval_code` so far (read before and after)."""
    return float(_clock["seconds"])


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """``[resamples, n]`` clip indices drawn with replacement from a seeded generator."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(resamples, n))


def clip_rows(sizes: list[int] | np.ndarray) -> np.ndarray:
    """The clip index of each row when clip ``i`` contributes ``sizes[i]`` consecutive rows."""
    return np.repeat(np.arange(len(sizes)), np.asarray(sizes, dtype=np.int64))


def row_weights(idx: np.ndarray, n_clips: int, clip_of_row: np.ndarray | None = None) -> np.ndarray:
    """``[B, rows]`` float64 weights of resamples ``idx`` (``[B, k]`` clip indices): how often each
    row's clip was drawn (``clip_of_row=None``: one row per clip)."""
    idx = np.atleast_2d(np.asarray(idx, dtype=np.int64))
    offsets = (np.arange(idx.shape[0]) * n_clips)[:, None]
    counts = np.bincount((idx + offsets).ravel(), minlength=idx.shape[0] * n_clips).reshape(idx.shape[0], n_clips)
    counts = counts.astype(np.float64)
    return counts if clip_of_row is None else counts[:, clip_of_row]


def percentile_interval(values: np.ndarray) -> tuple[float, float] | None:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def shifted_interval(values: np.ndarray, point: float, floor: float | None = None,
                     bias_corrected: bool = False) -> tuple[float, float] | None:
    """Percentile interval of resampled ``values`` around ``point``, clamped at ``floor`` (0 for distances).

    With ``b = mean(values) - point`` (the bootstrap bias) and ``[P2.5, P97.5]`` the percentiles:

    - ``bias_corrected=False``: ``[P2.5 - b, P97.5 - b]``, centred on ``point``. Right for an estimate
      that is unbiased for its own target (a U-statistic, IS at a fixed split size) whose resamples are
      biased only because they repeat clips.
    - ``bias_corrected=True``: ``[P2.5 - 2b, P97.5 - 2b]``, centred on the bias-corrected estimate
      ``point - b``, then extended to contain ``point``. Right for a plug-in estimate such as FD, whose
      resample bias estimates its own bias (FD is biased up by about d/N): centring on ``point`` alone
      covers the true value in only ~75-88% of simulated trials, this in ~93-100%.

    Either is then extended to contain ``point`` (which the first holds anyway unless the mean of the
    resamples lies outside their own 2.5..97.5 percentile range, e.g. resamples that differ only by
    round-off).
    """
    values = np.asarray(values, dtype=np.float64)
    interval = percentile_interval(values)
    if interval is None:
        return None
    bias = float(np.mean(values[np.isfinite(values)])) - point
    shift = 2.0 * bias if bias_corrected else bias
    lo, hi = min(point, interval[0] - shift), max(point, interval[1] - shift)
    if floor is not None:
        lo, hi = max(lo, floor), max(hi, floor)
    return float(lo), float(hi)


@interval_code
def mean_interval(per_clip: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """Interval of the mean of per-clip values."""
    per_clip = np.asarray(per_clip, dtype=np.float64)
    if per_clip.size == 0:
        return None
    idx = bootstrap_indices(per_clip.size, resamples, seed)
    return percentile_interval(per_clip[idx].mean(axis=1))


@interval_code
def ratio_interval(
    numerators: np.ndarray, denominators: np.ndarray, resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Interval of sum(numerators) / sum(denominators) over resampled clips."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.size == 0:
        return None
    idx = bootstrap_indices(num.size, resamples, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    return percentile_interval(ratios)


@interval_code
def statistic_interval(
    n: int, statistic: Callable[[np.ndarray], float], resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Interval of an arbitrary statistic of a resampled index set (slower; for pooled statistics)."""
    if n == 0:
        return None
    idx = bootstrap_indices(n, resamples, seed)
    return percentile_interval(np.array([statistic(row) for row in idx], dtype=np.float64))
